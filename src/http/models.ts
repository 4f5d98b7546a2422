import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Env } from "../env.ts";
import { DEFAULT_MODEL_ID, isValidModelId } from "../store/kv-layout.ts";
import { type AppContext, askWriter, modelIdOf } from "./context.ts";
import { ApiError } from "./errors.ts";
import { modelRoute } from "./model.ts";

/** Bodies of POST /models and /models/:id/rollback are a few fields. */
const MAX_BODY_BYTES = 1024;

/**
 * Model management: POST /models (create from a base, copy-on-write), GET /models/:id
 * (metadata, as /models/:id/model), POST /models/:id/rollback (restore a retained version).
 */
export function modelRoutes(app: Hono<{ Bindings: Env }>): void {
  const limit = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, "body_too_large", `the request body is limited to ${MAX_BODY_BYTES} bytes`);
    },
  });
  app.post("/models", limit, createRoute);
  app.get("/models/:id", modelRoute);
  app.post("/models/:id/rollback", limit, rollbackRoute);
  for (const path of ["/models", "/models/:id", "/models/:id/rollback"]) {
    app.all(path, (c) => {
      throw new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed on ${path}`);
    });
  }
}

/** POST /models {"id", "from"?}: 201 with the new model's metadata. */
async function createRoute(c: AppContext): Promise<Response> {
  const body = await jsonObject(c);
  const id = modelIdField(body, "id", undefined);
  const from = modelIdField(body, "from", DEFAULT_MODEL_ID);
  const reply = await askWriter(c, id, (w) => w.create(id, from));
  return c.json(reply.model, 201, { location: `/models/${id}` });
}

/** POST /models/:id/rollback {"version"}: the restored weights become a new version at once. */
async function rollbackRoute(c: AppContext): Promise<Response> {
  const id = modelIdOf(c);
  const { version } = await jsonObject(c);
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) {
    throw new ApiError(400, "invalid_version", "version must be a non-negative integer");
  }
  const reply = await askWriter(c, id, (w) => w.rollback(id, version));
  return c.json({ restored: reply.restored, model: reply.model });
}

async function jsonObject(c: AppContext): Promise<Record<string, unknown>> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
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
  const value = body[name] ?? fallback;
  if (typeof value !== "string" || !isValidModelId(value)) {
    throw new ApiError(400, "invalid_model_id", `${name} must be a model id: 1-64 characters of A-Z a-z 0-9 _ -`);
  }
  return value;
}
