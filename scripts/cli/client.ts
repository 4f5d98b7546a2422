/** HTTP access to an edge-rnnlm server for the CLI: URLs, token, timeouts, retries, errors. */

import { ApiRefusal, CliError, EXIT } from "./errors.ts";

export interface ClientOptions {
  url: string;
  token: string | undefined;
  /** Model id, or undefined for the default model (routes without /models/{id}). */
  model: string | undefined;
  timeoutMs: number;
}

/** 429 and 503 with Retry-After are waited out this many times, each wait at most MAX_WAIT_S. */
const RETRIES = 3;
const MAX_WAIT_S = 30;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryAfterMs(res: Response): number | null {
  if (res.status !== 429 && res.status !== 503) return null;
  const s = Number(res.headers.get("retry-after"));
  return Number.isFinite(s) && s >= 0 && s <= MAX_WAIT_S ? s * 1000 : null;
}

function isApiError(x: unknown): x is { error: { code: string; message: string } } {
  const e = (x as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof e?.code === "string" && typeof e.message === "string";
}

export class Client {
  readonly base: URL;
  private readonly options: ClientOptions;

  constructor(options: ClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new CliError(EXIT.usage, `--url ${JSON.stringify(options.url)} is not a URL`);
    }
    if (base.protocol !== "http:" && base.protocol !== "https:")
      throw new CliError(EXIT.usage, "--url must be http:// or https://");
    this.base = base;
    this.options = options;
  }

  /** The model this client addresses, as the server names it. */
  get model(): string {
    return this.options.model ?? "default";
  }

  /** URL of a model route ("/predict", "/model/weights"...) for the chosen model. */
  url(route: string, query: Record<string, string> = {}): URL {
    const prefix = this.options.model === undefined ? "" : `/models/${encodeURIComponent(this.options.model)}`;
    const url = new URL(this.base.pathname.replace(/\/$/, "") + prefix + route, this.base);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url;
  }

  /** URL of a route that belongs to no model (/users/{id}). */
  root(route: string): URL {
    return new URL(this.base.pathname.replace(/\/$/, "") + route, this.base);
  }

  /** Sends a request; answers only a 2xx response, anything else is a CliError. */
  async send(method: string, url: URL, body?: { type: string; data: string | Uint8Array }): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (body) headers["content-type"] = body.type;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers,
          body: body?.data,
          signal: AbortSignal.timeout(this.options.timeoutMs),
        });
      } catch (e) {
        throw new CliError(EXIT.unreachable, `cannot reach ${this.base.origin}: ${reason(e, this.options.timeoutMs)}`);
      }
      if (res.ok) return res;
      const wait = retryAfterMs(res);
      if (wait !== null && attempt < RETRIES) {
        await res.body?.cancel();
        await sleep(wait);
        continue;
      }
      throw await refusal(res, method, url);
    }
  }

  async json<T>(method: string, url: URL, body?: { type: string; data: string | Uint8Array }): Promise<T> {
    const res = await this.send(method, url, body);
    try {
      return (await res.json()) as T;
    } catch {
      throw new CliError(
        EXIT.unreachable,
        `${method} ${url.pathname}: the answer is not JSON; is ${this.base.origin} an edge-rnnlm server?`,
      );
    }
  }
}

function reason(e: unknown, timeoutMs: number): string {
  if (e instanceof DOMException && e.name === "TimeoutError") return `no answer within ${timeoutMs / 1000} s`;
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(e);
}

async function refusal(res: Response, method: string, url: URL): Promise<CliError> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (isApiError(body)) return new ApiRefusal(res.status, body.error.code, body.error.message);
  const type = res.headers.get("content-type") ?? "no content type";
  return new CliError(
    EXIT.unreachable,
    `${method} ${url.pathname}: HTTP ${res.status} (${type}) without the API's JSON error; is ${url.origin} an edge-rnnlm server?`,
  );
}
