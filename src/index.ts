import { Hono } from "hono";
import { DurableObject } from "cloudflare:workers";

export interface Env { MODELS: KVNamespace; WRITER: DurableObjectNamespace<ModelWriter> }
export class ModelWriter extends DurableObject<Env> {
  async ping(): Promise<string> { return "pong"; }
}
const app = new Hono<{ Bindings: Env }>();
app.get("/", (c) => c.json({ ok: true }));
export default app;
