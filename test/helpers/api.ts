import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import type { Env } from "../../src/env.ts";
import worker from "../../src/index.ts";

export interface ApiErrorBody {
  error: { code: string; message: string };
}

/** Calls the Worker in-process, as a client would over HTTP. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`http://edge-rnnlm.test${path}`, init));
}

/** Calls the Worker with some bindings replaced (a secret unset, a tight limiter, a failing writer). */
export async function callWith(overrides: Partial<Env>, path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const r = await worker.fetch(new Request(`http://edge-rnnlm.test${path}`, init), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return r;
}

export async function json<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const r = await call(path, init);
  return { status: r.status, body: (await r.json()) as T };
}

/** `Authorization` with the write token the test Worker has (LEARN_TOKEN in vitest.config.ts). */
export const AUTH = { authorization: `Bearer ${env.LEARN_TOKEN}` };

/** `init` with the write token added to its headers. */
export function authed(init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers);
  headers.set("authorization", AUTH.authorization);
  return { ...init, headers };
}

export function learnJson(sentence: unknown, extra: Record<string, unknown> = {}, path = "/learn"): Promise<Response> {
  return call(
    path,
    authed({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ sentence, ...extra }),
    }),
  );
}
