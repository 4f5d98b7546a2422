import { MAX_USER_FILE_BYTES } from "../store/layer-codec.ts";
import { authorizeUser, type UserAction } from "./auth.ts";
import { mediaType, readJsonObject, readLimited } from "./body.ts";
import { type AppContext, askUserStore, checkUserId } from "./context.ts";
import { ApiError } from "./errors.ts";
import { forgetBodySchema } from "./schemas.ts";

/**
 * /users/{id}: a user's personal data (docs/personal.md), held by their store (one Durable Object
 * per user, src/writer/user-store.ts). Every route authorizes through authorizeUser first: reading
 * the data is a user token's `predict`, changing it (delete, forget, import) its `learn`.
 */

async function authorizedUser(c: AppContext, action: UserAction): Promise<string> {
  const user = checkUserId(c.req.param("id"));
  await authorizeUser(c, user, action);
  return user;
}

/** GET /users/{id}: bytes, learns, tokens, learned words, created and updated, per layer and in all. */
export async function userRoute(c: AppContext): Promise<Response> {
  const user = await authorizedUser(c, "predict");
  const { ok: _ok, ...info } = await askUserStore(c, user, (s) => s.info(user));
  return c.json(info);
}

/** DELETE /users/{id}: erases every layer, snapshot and log entry of the user. */
export async function deleteUserRoute(c: AppContext): Promise<Response> {
  const user = await authorizedUser(c, "learn");
  const { erased } = await askUserStore(c, user, (s) => s.erase());
  return c.json({ id: user, erased });
}

/** POST /users/{id}/forget {"word"}: never suggested from the user's layers again, its phrases gone. */
export async function forgetRoute(c: AppContext): Promise<Response> {
  const user = await authorizedUser(c, "learn");
  const body = forgetBodySchema.safeParse(await readJsonObject(c.req.raw, 1024, '{"word": "..."}'));
  if (!body.success)
    throw new ApiError(400, "invalid_body", 'the body must be {"word": "..."}: one word of 1 to 64 characters');
  const { layers } = await askUserStore(c, user, (s) => s.forget(body.data.word));
  return c.json({ id: user, word: body.data.word, layers });
}

/** GET /users/{id}/export: the user's data as a safetensors file (store/layer-codec.ts). */
export async function exportRoute(c: AppContext): Promise<Response> {
  const user = await authorizedUser(c, "predict");
  const { bytes } = await askUserStore(c, user, (s) => s.exportData());
  return new Response(bytes, {
    headers: {
      "content-type": "application/octet-stream",
      "content-disposition": `attachment; filename="${user}.safetensors"`,
    },
  });
}

/** PUT /users/{id}/import: replaces the user's data with an exported file, validated first (422, nothing changed). */
export async function importUserRoute(c: AppContext): Promise<Response> {
  const user = await authorizedUser(c, "learn");
  if (mediaType(c.req.header("content-type")) !== "application/octet-stream") {
    throw new ApiError(415, "unsupported_media_type", "send the user file as application/octet-stream");
  }
  const bytes = await readLimited(c.req.raw, MAX_USER_FILE_BYTES);
  const { layers } = await askUserStore(c, user, (s) => s.importData(bytes));
  return c.json({ id: user, layers });
}
