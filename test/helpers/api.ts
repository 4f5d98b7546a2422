import { exports } from "cloudflare:workers";

export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** Calls the Worker in-process, as a client would over HTTP. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://edge-rnnlm.test${path}`, init));
}

export async function json<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await call(path, init);
  return { status: r.status, body: (await r.json()) as T };
}

export function learnJson(sentence: unknown, extra: Record<string, unknown> = {}, path = "/learn"): Promise<Response> {
  return call(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ sentence, ...extra }),
  });
}
