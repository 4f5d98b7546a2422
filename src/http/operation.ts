import type { Handler, MiddlewareHandler } from "hono";
import type { z } from "zod";
import type { Env } from "../env.ts";

export type AppEnv = { Bindings: Env };

/**
 * public: no guard; read: open unless READ_TOKEN is set; write: needs LEARN_TOKEN; user: a user's
 * data, or a learn, which the handler authorizes (authorizeUser, identify in auth.ts) after the
 * rate limit: the admin token, or a user token (src/http/user-token.ts).
 */
export type Access = "public" | "read" | "write" | "user";

export interface Operation {
  method: "get" | "post" | "put" | "delete";
  /** Hono pattern, e.g. "/predict" or "/models/:id/rollback". */
  path: string;
  /** Also served for a named model, at /models/:id + path. */
  perModel: boolean;
  summary: string;
  access: Access;
  /** Middleware after the access guard, then the handler. */
  handlers: [...MiddlewareHandler<AppEnv>[], Handler<AppEnv>];
  query?: z.ZodObject;
  body?: { contentType: string; schema?: z.ZodType; description?: string };
  /** A request that succeeds against a seeded model (checked by test/http/openapi.test.ts). */
  example: { query?: Record<string, string | number>; body?: unknown };
  success: { status: 200 | 201; description: string; contentType?: string; schema?: z.ZodType };
  /** Statuses this operation may answer with the error body (beyond the access guard's). */
  errors: number[];
}

/** The paths (Hono patterns) an operation is served at. */
export function operationPaths(op: Operation): string[] {
  return op.perModel ? [op.path, `/models/:id${op.path}`] : [op.path];
}
