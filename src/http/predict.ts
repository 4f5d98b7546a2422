import { LIMITS } from "../config.ts";
import { notBlocked, suggestWords } from "../model/text-model.ts";
import { blocklistOf } from "./blocklist.ts";
import { normalise, tokenize } from "../model/tokenizer.ts";
import { authorizeUser } from "./auth.ts";
import {
  type AppContext,
  askUserStore,
  askWriter,
  checkUserId,
  modelIdOf,
  predictorOf,
  publishedModel,
} from "./context.ts";
import { ApiError } from "./errors.ts";
import { queryNumber } from "./params.ts";
import { predictQuerySchema } from "./schemas.ts";

/**
 * GET /predict?prefix=&partial=&k=&fresh= : the k most probable next words, or with `partial` the
 * k most probable words that complete the word being typed. Served from the published model in KV
 * (scales across isolates); fresh=1 asks the writer, which sees every learn at once. user=alice
 * (with a token, auth.ts) asks alice's store, which predicts with her personal layer over the
 * published model and sees each of her learns at once (docs/personal.md).
 */
export async function predictRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  const prefix = c.req.query("prefix") ?? "";
  if (prefix.length > LIMITS.maxPrefixChars) {
    throw new ApiError(413, "prefix_too_long", `prefix is limited to ${LIMITS.maxPrefixChars} characters`);
  }
  const partial = partialParam(c.req.query("partial"));
  const k = queryNumber("k", c.req.query("k"), predictQuerySchema.shape.k);
  const fresh = ["1", "true"].includes(c.req.query("fresh") ?? "");
  const tokens = tokenize(prefix, LIMITS.maxPrefixChars);
  const echo = partial === undefined ? {} : { partial: normalise(partial) };
  const blockedWords = await blocklistOf(c);
  const blocked = blockedWords.size === 0 ? {} : { blocked: [...blockedWords] };
  const userParam = c.req.query("user");
  if (userParam !== undefined) {
    const user = checkUserId(userParam);
    await authorizeUser(c, user, "predict");
    const recent = tokens.slice(-LIMITS.prefixWindow);
    const reply = await askUserStore(c, user, (s) =>
      s.predict(user, id, { tokens: recent, k, ...(partial !== undefined && { partial }), ...blocked }),
    );
    return c.json({
      prefix: reply.prefix,
      ...echo,
      predictions: reply.predictions,
      model: reply.model,
      user: reply.user,
    });
  }
  if (fresh) {
    // Only the window is read (predictWords slices it too): no need to ship the rest over RPC.
    const recent = tokens.slice(-LIMITS.prefixWindow);
    const reply = await askWriter(c, id, (w) =>
      w.predict(id, { tokens: recent, k, ...(partial !== undefined && { partial }), ...blocked }),
    );
    return c.json({
      prefix: reply.prefix,
      ...echo,
      predictions: reply.predictions,
      model: { ...reply.model, fresh: true },
    });
  }
  const m = await publishedModel(c, id);
  const tm = predictorOf(m);
  const allowed = notBlocked(tm.vocab, blockedWords);
  const p = suggestWords(tm, tokens, partial, k, LIMITS.prefixWindow, allowed);
  return c.json({ prefix: p.prefix, ...echo, predictions: p.predictions, model: { id, version: m.manifest.version } });
}

/** The characters typed of one word: at most maxPartialChars, no whitespace. */
function partialParam(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.length > LIMITS.maxPartialChars) {
    throw new ApiError(413, "partial_too_long", `partial is limited to ${LIMITS.maxPartialChars} characters`);
  }
  if (/[\s\p{Cc}]/u.test(raw)) {
    throw new ApiError(
      400,
      "invalid_parameter",
      "partial is the characters typed of one word: no spaces or control characters (the text before it goes in prefix)",
    );
  }
  return raw;
}
