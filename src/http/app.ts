import { Hono } from "hono";
import type { Env } from "../env.ts";
import { every } from "hono/combine";
import { requireReader, requireWriter } from "./auth.ts";
import { ApiError } from "./errors.ts";
import { healthRoute } from "./health.ts";
import { learnRoute } from "./learn.ts";
import { requestLogger } from "./logging.ts";
import { modelRoute, weightsRoute } from "./model.ts";
import { modelRoutes } from "./models.ts";
import { predictRoute } from "./predict.ts";
import { rateLimit } from "./rate-limit.ts";
import { importRoute } from "./weights-import.ts";

/** The HTTP API. Each route exists for the default model and for /models/:id. */
export function createApp(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();
  app.use(requestLogger());
  app.get("/health", healthRoute);
  app.all("/health", (c) => {
    throw new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed on /health`);
  });
  // Before any other work: the client's request budget, then its token (docs/limits.md).
  const reader = every(rateLimit("READ_LIMITER"), requireReader);
  const writer = every(rateLimit("WRITE_LIMITER"), requireWriter);
  for (const base of ["", "/models/:id"]) {
    app.get(`${base}/predict`, reader, predictRoute);
    app.post(`${base}/learn`, writer, learnRoute);
    app.get(`${base}/model`, reader, modelRoute);
    app.get(`${base}/model/weights`, reader, weightsRoute);
    app.put(`${base}/model/weights`, writer, importRoute);
    for (const path of ["/predict", "/learn", "/model", "/model/weights"]) {
      app.all(`${base}${path}`, (c) => {
        throw new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed on ${path}`);
      });
    }
  }
  // The routes of models.ts, guarded alike: registered first, so they run first.
  app.post("/models", writer);
  app.get("/models/:id", reader);
  app.post("/models/:id/rollback", writer);
  modelRoutes(app);
  app.notFound((c) => c.json(new ApiError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`).body(), 404));
  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json(err.body(), err.status, err.headers);
    // Not expected: every failure the API knows about is an ApiError. Log it, and say nothing internal.
    console.error(JSON.stringify({ event: "unhandled_error", path: c.req.path, error: String(err), stack: err.stack }));
    return c.json({ error: { code: "internal", message: "internal error" } }, 500);
  });
  return app;
}
