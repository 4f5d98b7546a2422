/**
 * One structured JSON log line per request (Workers Logs indexes JSON fields; `wrangler tail`
 * and `wrangler dev` print the line as is).
 *
 * The model, version and token count come from the JSON the route answered (every model route
 * answers `model: {id, version}` or `{id, version}`; /predict its tokenized `prefix`, /learn its
 * `tokens`), so routes need not know about logging. User text (prefixes, sentences) is never
 * logged. `estimatedCpuMs` is the cost model's estimate a learn reports (null elsewhere).
 */

import type { MiddlewareHandler } from "hono";
import { matchedRoutes, routePath } from "hono/route";
import type { Env } from "../env.ts";
import { isValidModelId } from "../store/kv-layout.ts";

export interface RequestLog {
  event: "request";
  method: string;
  /** The matched route pattern (e.g. "/models/:id/predict"), or null when no route matched. */
  route: string | null;
  status: number;
  model: string | null;
  version: number | null;
  /** Tokens read (/predict's prefix) or learned (/learn). */
  tokens: number | null;
  /**
   * Wall time in the Worker. Deployed Workers advance clocks only at I/O, so this counts
   * waiting (KV, the writer), not CPU: that is what estimatedCpuMs is for.
   */
  durationMs: number;
  estimatedCpuMs: number | null;
  /** Cloudflare's request id, to find the request in other logs (absent locally). */
  ray: string | null;
}

type Facts = Pick<RequestLog, "model" | "version" | "tokens" | "estimatedCpuMs">;

const NO_FACTS: Facts = { model: null, version: null, tokens: null, estimatedCpuMs: null };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const count = (x: unknown): number | null => (typeof x === "number" && Number.isSafeInteger(x) && x >= 0 ? x : null);
const modelId = (x: unknown): string | null => (typeof x === "string" && isValidModelId(x) ? x : null);

/** What a JSON answer says about the model and tokens it concerned. */
export function factsOf(body: unknown): Facts {
  if (!isObject(body)) return NO_FACTS;
  const ref = isObject(body.model) ? body.model : body;
  const tokens = Array.isArray(body.prefix) ? body.prefix.length : count(body.tokens);
  const estimate = isObject(body.budget) ? body.budget.estimateMs : undefined;
  const estimatedCpuMs = typeof estimate === "number" && Number.isFinite(estimate) ? estimate : null;
  return { model: modelId(ref.id), version: count(ref.version), tokens, estimatedCpuMs };
}

async function responseFacts(res: Response): Promise<Facts> {
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) return NO_FACTS;
  try {
    return factsOf(await res.clone().json());
  } catch {
    return NO_FACTS;
  }
}

/** The middleware; `write` receives each line (console.log in the Worker). */
export function requestLogger(
  write: (line: string) => void = (line) => console.log(line),
): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const facts = await responseFacts(c.res);
    // A route matched when the last handler reached was registered for a method; middleware
    // (this logger, the 405 answerer) is registered for ALL.
    const matched = matchedRoutes(c)[c.req.routeIndex]?.method !== "ALL";
    const entry: RequestLog = {
      event: "request",
      method: c.req.method,
      route: matched ? routePath(c) : null,
      status: c.res.status,
      ...facts,
      model: facts.model ?? (matched ? modelId(c.req.param("id")) : null),
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      ray: c.req.header("cf-ray") ?? null,
    };
    write(JSON.stringify(entry));
  };
}
