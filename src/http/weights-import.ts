import { IMPORT_HEADER_SLACK_BYTES } from "../config.ts";
import type { RnnLm } from "../model/model.ts";
import { LEARNED_WORD_METADATA_BYTES, WORD_SLOTS } from "../model/word-slots.ts";
import { largestTensorBytes } from "../store/model-format.ts";
import { mediaType, readLimited } from "./body.ts";
import { type AppContext, askWriter, modelIdOf, publishedModel } from "./context.ts";
import { ApiError } from "./errors.ts";

/**
 * Largest file that can hold `model`'s architecture: the tensors of the largest file the format
 * allows (store/model-format.ts: every part, every learned-word slot, a full phrase memory, all
 * F32), plus a header with every slot's metadata.
 */
export function importLimitBytes(model: RnnLm): number {
  return (
    largestTensorBytes(model, WORD_SLOTS) + 8 + IMPORT_HEADER_SLACK_BYTES + WORD_SLOTS * LEARNED_WORD_METADATA_BYTES
  );
}

/**
 * PUT /model/weights (authenticated): the model's weights become the uploaded safetensors file,
 * published at once as a new version. Here only the media type and the size (bounded by the
 * model's own size, before buffering) are checked; the writer validates the file itself (header,
 * dtypes, shapes, finite values, vocabulary) and refuses it with a 4xx, keeping the model as it is.
 */
export async function importRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  const type = mediaType(c.req.header("content-type"));
  if (type !== "application/octet-stream") {
    throw new ApiError(415, "unsupported_media_type", "send the safetensors file as application/octet-stream");
  }
  const { model } = await publishedModel(c, id);
  const bytes = await readLimited(c.req.raw, importLimitBytes(model));
  const reply = await askWriter(c, id, (w) => w.importWeights(id, bytes));
  const { model: ref, learns, tokensLearned } = reply;
  return c.json({ model: ref, learns, tokensLearned });
}
