import { Hono, type MiddlewareHandler } from "hono";
import type { Env } from "../env.ts";
import { every } from "hono/combine";
import { methodNotAllowed } from "hono/method-not-allowed";
import type { H } from "hono/types";
import { requireReader, requireWriter } from "./auth.ts";
import { ApiError } from "./errors.ts";
import { requestLogger } from "./logging.ts";
import { type Access, type AppEnv, operationPaths } from "./operation.ts";
import { rateLimit } from "./rate-limit.ts";
import { OPERATIONS } from "./routes.ts";

/** The HTTP API: the routes of routes.ts, each model route for the default model and for /models/:id. */
export function createApp(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.use(requestLogger());
  // A path that exists under other methods is a 405 with the RFC 9110 `Allow` header, not a 404.
  app.use(
    methodNotAllowed({
      app,
      onMethodNotAllowed: (c, methods) => {
        const allow = methods.join(", ");
        const refusal = new ApiError(
          405,
          "method_not_allowed",
          `${c.req.method} is not allowed on ${c.req.path}; allowed: ${allow}`,
        );
        return c.json(refusal.body(), 405, { allow });
      },
    }),
  );
  // Before any other work: the client's request budget, then its token (docs/limits.md).
  const guards: Record<Access, MiddlewareHandler<AppEnv>[]> = {
    public: [],
    read: [every(rateLimit("READ_LIMITER"), requireReader)],
    write: [every(rateLimit("WRITE_LIMITER"), requireWriter)],
    // The handler authorizes for the user it addresses (authorizeUser).
    user: [rateLimit("WRITE_LIMITER")],
  };
  // Exactly the documented routes (routes.ts); methodNotAllowed above answers other methods on their paths.
  for (const op of OPERATIONS) {
    const [first, ...rest]: H<AppEnv>[] = [...guards[op.access], ...op.handlers];
    for (const path of operationPaths(op)) app.on(op.method.toUpperCase(), path, first, ...rest);
  }
  app.notFound((c) => c.json(new ApiError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`).body(), 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body(), err.status, err.headers);
    // Not expected: every failure the API knows about is an ApiError. Log it, and say nothing internal.
    console.error(JSON.stringify({ event: "unhandled_error", path: c.req.path, error: String(err), stack: err.stack }));
    return c.json({ error: { code: "internal", message: "internal error" } }, 500);
  });
  return app;
}
