import type { AppContext } from "./context.ts";

/** GET /health: the Worker answers. Touches no binding, so it is cheap and says nothing about KV. */
export function healthRoute(c: AppContext): Response {
  return c.json({ ok: true, service: "edge-rnnlm", time: new Date().toISOString() });
}
