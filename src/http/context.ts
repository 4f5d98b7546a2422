import type { Context } from "hono";
import type { Env } from "../env.ts";
import { type TextModel, textModel } from "../model/text-model.ts";
import { DEFAULT_MODEL_ID, isValidModelId, MODEL_ID_RULE } from "../store/kv-layout.ts";
import { type LoadedModel, loadModel } from "../store/model-cache.ts";
import { LIMITS, WRITER_RETRY_S } from "../config.ts";
import { ApiError, fromWriter } from "./errors.ts";
import type { ModelWriter } from "../writer/model-writer.ts";
import type { UserStore } from "../writer/user-store.ts";
import { noModel, type WriterError } from "../writer/protocol.ts";

export type AppContext = Context<{ Bindings: Env }>;

/** A user id from the API (the `user` parameter, /users/:id): the model ids' rule; 400 otherwise. */
export function checkUserId(raw: unknown): string {
  if (typeof raw !== "string" || !isValidModelId(raw))
    throw new ApiError(400, "invalid_user_id", `user ids are ${MODEL_ID_RULE}`);
  return raw;
}

/** The model a request addresses: /models/:id/... or the default model. */
export function modelIdOf(c: AppContext): string {
  const id = c.req.param("id") ?? DEFAULT_MODEL_ID;
  if (!isValidModelId(id)) throw new ApiError(400, "invalid_model_id", `model ids are ${MODEL_ID_RULE}`);
  return id;
}

export function writerOf(c: AppContext, id: string): DurableObjectStub<ModelWriter> {
  return c.env.WRITER.get(c.env.WRITER.idFromName(id));
}

const retryAfter = { "retry-after": String(WRITER_RETRY_S) };

/**
 * Calls model `id`'s writer and returns its reply, a refusal (`ok: false`) as that ApiError. A
 * call that throws (the object was reset mid-request, is overloaded or unreachable) is a 503 to
 * retry, never a 500: a learn in such a call may or may not be in the log.
 */
export async function askWriter<P extends PromiseLike<{ ok: true } | WriterError>>(
  c: AppContext,
  id: string,
  call: (writer: DurableObjectStub<ModelWriter>) => P,
): Promise<Exclude<Awaited<P>, { ok: false }>> {
  return ask(writerOf(c, id), `the writer of model "${id}"`, call);
}

/** User `user`'s store (src/writer/user-store.ts): one Durable Object per user. */
export function userStoreOf(c: AppContext, user: string): DurableObjectStub<UserStore> {
  return c.env.USERS.get(c.env.USERS.idFromName(user));
}

/** As askWriter, for user `user`'s store. */
export async function askUserStore<P extends PromiseLike<{ ok: true } | WriterError>>(
  c: AppContext,
  user: string,
  call: (store: DurableObjectStub<UserStore>) => P,
): Promise<Exclude<Awaited<P>, { ok: false }>> {
  return ask(userStoreOf(c, user), `the store of user "${user}"`, call);
}

async function ask<S, P extends PromiseLike<{ ok: true } | WriterError>>(
  stub: S,
  what: string,
  call: (stub: S) => P,
): Promise<Exclude<Awaited<P>, { ok: false }>> {
  let reply: Awaited<P>;
  try {
    reply = await call(stub);
  } catch (e) {
    console.error(JSON.stringify({ event: "writer_call_failed", what, error: String(e) }));
    throw new ApiError(
      503,
      "writer_unavailable",
      `${what} did not answer (it may be restarting); retry shortly`,
      retryAfter,
    );
  }
  if (!reply.ok) {
    const retry =
      reply.retryAfterS !== undefined
        ? { "retry-after": String(reply.retryAfterS) }
        : reply.code === "model_unavailable"
          ? retryAfter
          : {};
    throw fromWriter(reply, retry);
  }
  return reply as Exclude<Awaited<P>, { ok: false }>;
}

// Work buffers per parsed model, made once so a warm prediction allocates nothing big.
const textModels = new WeakMap<LoadedModel["model"], TextModel>();

/** The published model from KV, through the isolate cache. */
export async function publishedModel(c: AppContext, id: string): Promise<LoadedModel> {
  let result: Awaited<ReturnType<typeof loadModel>>;
  try {
    result = await loadModel(c.env.MODELS, id);
  } catch (e) {
    console.error(JSON.stringify({ event: "model_load_failed", id, error: String(e) }));
    throw new ApiError(
      503,
      "model_unavailable",
      `model "${id}" could not be loaded from KV; try again shortly`,
      retryAfter,
    );
  }
  if (result.status === "missing") throw fromWriter(noModel(id));
  return result;
}

/** A parsed model with its prediction buffers, made once per model (only /predict needs them). */
export function predictorOf(m: LoadedModel): TextModel {
  let tm = textModels.get(m.model);
  if (!tm) {
    tm = textModel(m.model, m.vocab, LIMITS.maxSentenceTokens);
    textModels.set(m.model, tm);
  }
  return tm;
}
