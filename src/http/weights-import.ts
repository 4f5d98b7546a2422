import { IMPORT_HEADER_SLACK_BYTES } from "../config.ts";
import { baseClasses, baseVocab, type RnnLm } from "../model/model.ts";
import { MEMORY_MAX_SENTENCE_IDS, MEMORY_SENTENCES } from "../model/phrase-memory.ts";
import { LEARNED_WORD_METADATA_BYTES, WORD_SLOTS } from "../model/word-slots.ts";
import { mediaType, readLimited } from "./body.ts";
import { type AppContext, askWriter, modelIdOf, publishedModel } from "./context.ts";
import { ApiError } from "./errors.ts";

/** Largest file that can hold `model`'s architecture: every tensor as F32 (4 bytes), plus a header. */
export function importLimitBytes(model: RnnLm): number {
  const h = model.hidden;
  // As many learned words as the slots hold, each with its class's row and its metadata.
  const v = baseVocab(model) + WORD_SLOTS;
  const k = model.output.kind === "class" ? baseClasses(model) + 1 : 0;
  // U and V; W and C, each twice (a file may carry their anchor); class_start; D; a full phrase memory.
  const memory = MEMORY_SENTENCES * (MEMORY_MAX_SENTENCE_IDS + 1);
  const values = 2 * h * v + 2 * (h * h + k * h) + (k > 0 ? k + 1 : 0) + (model.direct?.D.length ?? 0) + memory;
  return 4 * values + 8 + IMPORT_HEADER_SLACK_BYTES + WORD_SLOTS * LEARNED_WORD_METADATA_BYTES;
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
