import { architectureOf } from "../model/model.ts";
import { readWeights } from "../store/kv-layout.ts";
import { encodeModel } from "../store/model-codec.ts";
import { publicCopy } from "../trust/public-copy.ts";
import { isAdmin } from "./auth.ts";
import { type AppContext, modelIdOf, publishedModel } from "./context.ts";

/** GET /model: the published model's metadata. */
export async function modelRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  const { model, meta, manifest, vocab } = await publishedModel(c, id);
  return c.json({
    id,
    version: manifest.version,
    ...architectureOf(model),
    vocab: vocab.words.length,
    hyperparameters: meta.hyperparameters,
    vocabHash: manifest.vocabHash,
    bytes: manifest.bytes,
    learns: manifest.learns,
    tokensLearned: manifest.tokensLearned,
    learnLossAvg: manifest.learnLossAvg ?? null,
    createdAt: manifest.createdAt,
    updatedAt: manifest.updatedAt,
  });
}

/**
 * GET /model/weights: the published safetensors bytes with the admin token; without it, the same
 * weights with no raw learned text (src/trust/public-copy.ts), re-encoded.
 */
export async function weightsRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  const { manifest, model, meta } = await publishedModel(c, id);
  const bytes = (await isAdmin(c))
    ? await readWeights(c.env.MODELS, manifest)
    : encodeModel(publicCopy(model), meta, { dtype: "F32" });
  return new Response(bytes, {
    headers: {
      "content-type": "application/octet-stream",
      "content-disposition": `attachment; filename="${id}-v${manifest.version}.safetensors"`,
    },
  });
}
