/**
 * Per-client overload protection with the Workers Rate Limiting binding (docs/limits.md): each
 * client address has a budget of requests per period, writes and reads counted apart
 * (WRITE_LIMITER, READ_LIMITER in wrangler.toml). Over budget: 429 with Retry-After, before any
 * other work. The binding counts per Cloudflare location and is eventually consistent: it stops
 * floods, it is not exact accounting.
 */

import type { MiddlewareHandler } from "hono";
import { RATE_LIMIT_RETRY_S } from "../config.ts";
import type { Env } from "../env.ts";
import { ApiError } from "./errors.ts";

type Middleware = MiddlewareHandler<{ Bindings: Env }>;

/** The leading 64 bits of an IPv6 address: one client usually holds a whole /64. */
function ipv6Prefix64(address: string): string {
  const [head, tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(":");
}

/**
 * Whom a request is counted against: its client address (set by Cloudflare's edge, so not
 * forgeable in production), IPv6 by its /64, IPv4-mapped IPv6 as the IPv4 address. Without one
 * (local tests) every request is "local".
 */
export function clientKey(address: string | undefined): string {
  if (!address) return "local";
  if (!address.includes(":")) return address;
  if (address.includes(".")) return address.slice(address.lastIndexOf(":") + 1);
  return `${ipv6Prefix64(address.toLowerCase())}::/64`;
}

/** Counts the request against the client's budget in `binding`; a limiter that fails lets it through. */
export function rateLimit(binding: "WRITE_LIMITER" | "READ_LIMITER"): Middleware {
  return async (c, next) => {
    const limiter = c.env[binding];
    let allowed = true;
    if (limiter) {
      try {
        allowed = (await limiter.limit({ key: clientKey(c.req.header("cf-connecting-ip")) })).success;
      } catch (e) {
        // Failing open: an outage of the limiter must not take the API down with it.
        console.error(JSON.stringify({ event: "rate_limiter_failed", binding, error: String(e) }));
      }
    }
    if (!allowed) {
      throw new ApiError(429, "rate_limited", `too many requests from this client; retry in ${RATE_LIMIT_RETRY_S} s`, {
        "retry-after": String(RATE_LIMIT_RETRY_S),
      });
    }
    await next();
  };
}
