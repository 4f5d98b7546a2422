/** Everything a request could change about a model, as one comparable string. */
import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { type RnnLm, weightsOf } from "../../src/model/model.ts";
import { manifestKey } from "../../src/store/kv-layout.ts";

async function sha256(...parts: ArrayBufferView[]): Promise<string> {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const all = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    all.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    at += p.byteLength;
  }
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", all))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/**
 * The writer's in-memory weights (bytes), its log and version record (status), the KV manifest
 * and the published blob it names. Loads the writer if it is not.
 */
export async function modelState(id: string): Promise<string> {
  const stub = env.WRITER.get(env.WRITER.idFromName(id));
  const status = await stub.status(id);
  const live = await runInDurableObject(stub, async (instance) => {
    const m = (instance as unknown as { held: { tm: { model: RnnLm } } | null }).held?.tm.model;
    return m
      ? sha256(...Object.values(weightsOf(m)), ...(m.output.kind === "class" ? [m.output.classStart] : []))
      : "not loaded";
  });
  const manifest = await env.MODELS.get(manifestKey(id), "text");
  const key = manifest ? (JSON.parse(manifest) as { weightsKey: string }).weightsKey : null;
  const blob = key ? await env.MODELS.get(key, "arrayBuffer") : null;
  return JSON.stringify({ status, live, manifest, blob: blob ? await sha256(new Uint8Array(blob)) : null });
}
