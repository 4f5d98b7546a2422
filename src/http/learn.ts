import { LIMITS } from "../config.ts";
import { tokenize } from "../model/tokenizer.ts";
import { blocklistOf } from "./blocklist.ts";
import { readLearnBody } from "./body.ts";
import { identify, permitUser, sharedLearner } from "./auth.ts";
import { type AppContext, askUserStore, askWriter, checkUserId, modelIdOf } from "./context.ts";
import { ApiError } from "./errors.ts";
import { jsonNumber, queryNumber } from "./params.ts";
import { learnBodySchema } from "./schemas.ts";

/**
 * POST /learn: fine-tune on one sentence, JSON {"sentence", "lr"?, "truncate"?, "steps"?}
 * or text/plain (options then come from the query string; a JSON body's come from the body
 * only). Everything is validated here; only the writer Durable Object touches the weights. With
 * "user" (a JSON field, or the query for text/plain) the sentence goes into that user's personal
 * layer instead, with the personal learn's own options (PERSONAL_LEARN in src/config.ts), so lr,
 * truncate and steps are refused there (docs/personal.md). The admin token may do both; a user
 * token its own user's learns, and the shared model's only with scope `shared`, which then records
 * the learn under the token's subject.
 */
export async function learnRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  // The token before the body: an unauthenticated client cannot make the Worker read 16 KiB.
  const caller = await identify(c, "writes");
  const { sentence, fields } = await readLearnBody(c.req.raw, LIMITS.maxBodyBytes);
  const option = (name: "lr" | "truncate" | "steps") =>
    fields
      ? jsonNumber(name, fields[name], learnBodySchema.shape[name])
      : queryNumber(name, c.req.query(name), learnBodySchema.shape[name]);
  const lr = option("lr");
  const truncate = option("truncate");
  const steps = option("steps");
  const tokens = tokenize(sentence, LIMITS.maxSentenceTokens + 1);
  if (tokens.length === 0) throw new ApiError(400, "empty_sentence", "sentence must contain at least one word");
  if (tokens.length > LIMITS.maxSentenceTokens) {
    throw new ApiError(413, "sentence_too_long", `a sentence is limited to ${LIMITS.maxSentenceTokens} tokens`);
  }
  const userParam = fields ? fields.user : c.req.query("user");
  if (userParam !== undefined) {
    const user = checkUserId(userParam);
    const given = (["lr", "truncate", "steps"] as const).filter(
      (name) => (fields ? fields[name] : c.req.query(name)) !== undefined,
    );
    if (given.length > 0)
      throw new ApiError(400, "invalid_parameter", `${given.join(", ")} do not apply to a personal learn (user=)`);
    permitUser(caller, user, "learn");
    const { ok: _ok, ...reply } = await askUserStore(c, user, (s) => s.learn(user, id, tokens));
    return c.json(reply);
  }
  const sub = sharedLearner(caller);
  const blocked = [...(await blocklistOf(c))];
  const reply = await askWriter(c, id, (w) =>
    w.learn(id, { tokens, lr, truncate, steps, sub, ...(blocked.length > 0 && { blocked }) }),
  );
  const { tokens: n, lossBefore, lossAfter, budget, model } = reply;
  return c.json({ tokens: n, lossBefore, lossAfter, budget, model });
}
