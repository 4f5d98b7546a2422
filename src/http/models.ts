/**
 * Model management: POST /models (create from a base, copy-on-write), GET /models/:id
 * (metadata, as /models/:id/model), POST /models/:id/rollback (restore a retained version).
 * Registered from the route table (routes.ts).
 */

import { LIMITS } from "../config.ts";
import { DEFAULT_MODEL_ID, MODEL_ID_RULE } from "../store/kv-layout.ts";
import { readJsonObject } from "./body.ts";
import { type AppContext, askWriter, modelIdOf } from "./context.ts";
import { ApiError } from "./errors.ts";
import { modelIdSchema, rollbackBodySchema } from "./schemas.ts";

/** POST /models {"id", "from"?}: 201 with the new model's metadata. */
export async function createRoute(c: AppContext): Promise<Response> {
  const body = await readJsonObject(c.req.raw, LIMITS.maxModelBodyBytes, '{"id": "...", "from": "..."}');
  const id = modelIdField(body, "id", undefined);
  const from = modelIdField(body, "from", DEFAULT_MODEL_ID);
  const reply = await askWriter(c, id, (w) => w.create(id, from));
  return c.json(reply.model, 201, { location: `/models/${id}` });
}

/** POST /models/:id/rollback {"version"}: the restored weights become a new version at once. */
export async function rollbackRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  const body = await readJsonObject(c.req.raw, LIMITS.maxModelBodyBytes, '{"version": 3}');
  const parsed = rollbackBodySchema.shape.version.safeParse(body.version);
  if (!parsed.success) throw new ApiError(400, "invalid_version", "version must be a non-negative integer");
  const version = parsed.data;
  const reply = await askWriter(c, id, (w) => w.rollback(id, version));
  return c.json({ restored: reply.restored, model: reply.model });
}

function modelIdField(body: Record<string, unknown>, name: string, fallback: string | undefined): string {
  const parsed = modelIdSchema.safeParse(body[name] ?? fallback);
  if (!parsed.success) {
    throw new ApiError(400, "invalid_model_id", `${name} must be a model id: ${MODEL_ID_RULE}`);
  }
  return parsed.data;
}
