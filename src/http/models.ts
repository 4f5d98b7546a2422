import { bodyLimit } from "hono/body-limit";
import { DEFAULT_MODEL_ID, MODEL_ID_RULE } from "../store/kv-layout.ts";
import { mediaType } from "./body.ts";
import { type AppContext, askWriter, modelIdOf } from "./context.ts";
import { ApiError } from "./errors.ts";
import { modelIdSchema, rollbackBodySchema } from "./schemas.ts";

/** Bodies of POST /models and /models/:id/rollback are a few fields. */
const MAX_BODY_BYTES = 1024;

/**
 * Model management: POST /models (create from a base, copy-on-write), GET /models/:id
 * (metadata, as /models/:id/model), POST /models/:id/rollback (restore a retained version).
 * Registered from the route table (routes.ts).
 */
export const modelBodyLimit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () => {
    throw new ApiError(413, "body_too_large", `the request body is limited to ${MAX_BODY_BYTES} bytes`);
  },
});

/** POST /models {"id", "from"?}: 201 with the new model's metadata. */
export async function createRoute(c: AppContext): Promise<Response> {
  const body = await jsonObject(c);
  const id = modelIdField(body, "id", undefined);
  const from = modelIdField(body, "from", DEFAULT_MODEL_ID);
  const reply = await askWriter(c, id, (w) => w.create(id, from));
  return c.json(reply.model, 201, { location: `/models/${id}` });
}

/** POST /models/:id/rollback {"version"}: the restored weights become a new version at once. */
export async function rollbackRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  const parsed = rollbackBodySchema.shape.version.safeParse((await jsonObject(c)).version);
  if (!parsed.success) throw new ApiError(400, "invalid_version", "version must be a non-negative integer");
  const version = parsed.data;
  const reply = await askWriter(c, id, (w) => w.rollback(id, version));
  return c.json({ restored: reply.restored, model: reply.model });
}

async function jsonObject(c: AppContext): Promise<Record<string, unknown>> {
  const type = mediaType(c.req.header("content-type"));
  if (type !== "application/json") throw new ApiError(415, "unsupported_media_type", "send application/json");
  let json: unknown;
  try {
    json = JSON.parse(await c.req.text());
  } catch {
    throw new ApiError(400, "invalid_json", "the body is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ApiError(400, "invalid_body", "the JSON body must be an object");
  }
  return json as Record<string, unknown>;
}

function modelIdField(body: Record<string, unknown>, name: string, fallback: string | undefined): string {
  const parsed = modelIdSchema.safeParse(body[name] ?? fallback);
  if (!parsed.success) {
    throw new ApiError(400, "invalid_model_id", `${name} must be a model id: ${MODEL_ID_RULE}`);
  }
  return parsed.data;
}
