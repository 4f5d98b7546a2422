import { LIMITS } from "../config.ts";
import { predictWords } from "../model/text-model.ts";
import { tokenize } from "../model/tokenizer.ts";
import { type AppContext, askWriter, modelIdOf, predictorOf, publishedModel } from "./context.ts";
import { ApiError } from "./errors.ts";
import { queryNumber } from "./params.ts";
import { predictQuerySchema } from "./schemas.ts";

/**
 * GET /predict?prefix=&k=&fresh= : the k most probable next words. Served from
 * the published model in KV (scales across isolates); fresh=1 asks the writer,
 * which sees every learn at once.
 */
export async function predictRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  const prefix = c.req.query("prefix") ?? "";
  if (prefix.length > LIMITS.maxPrefixChars) {
    throw new ApiError(413, "prefix_too_long", `prefix is limited to ${LIMITS.maxPrefixChars} characters`);
  }
  const k = queryNumber("k", c.req.query("k"), predictQuerySchema.shape.k);
  const fresh = ["1", "true"].includes(c.req.query("fresh") ?? "");
  const tokens = tokenize(prefix, LIMITS.maxPrefixChars);
  if (fresh) {
    // Only the window is read (predictWords slices it too): no need to ship the rest over RPC.
    const recent = tokens.slice(-LIMITS.prefixWindow);
    const reply = await askWriter(c, id, (w) => w.predict(id, { tokens: recent, k }));
    return c.json({ prefix: reply.prefix, predictions: reply.predictions, model: { ...reply.model, fresh: true } });
  }
  const m = await publishedModel(c, id);
  const p = predictWords(predictorOf(m), tokens, k, LIMITS.prefixWindow);
  return c.json({ ...p, model: { id, version: m.manifest.version } });
}
