/**
 * Per-user tokens (docs/api.md#auth-and-limits): JWTs the deployer's backend signs with the
 * USER_TOKEN_SECRET, HS256 only, verified by hono/jwt. Claims: `sub`, the user id (a model id's
 * rule); `exp`, required (hono/jwt enforces it only when present); `scope`, optional, a space- or
 * comma-separated string or an array of `predict`, `learn`, `shared`.
 */

import { verify } from "hono/jwt";
import { isValidModelId } from "../store/kv-layout.ts";

export const SCOPES = ["predict", "learn", "shared"] as const;
export type Scope = (typeof SCOPES)[number];

export interface UserToken {
  sub: string;
  /** The `scope` claim; null when the token has none (its own data, every action; not the shared model). */
  scopes: ReadonlySet<Scope> | null;
}

const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

function scopesOf(claim: unknown): Set<Scope> | null | undefined {
  if (claim === undefined) return null;
  const values = typeof claim === "string" ? claim.split(/[\s,]+/).filter((s) => s !== "") : claim;
  if (!Array.isArray(values) || !values.every((v): v is Scope => typeof v === "string" && isScope(v))) return undefined;
  return new Set(values);
}

/** The token's subject and scopes, or null when it is not a valid user token (signature, alg, exp, claims). */
export async function verifyUserToken(token: string, secret: string): Promise<UserToken | null> {
  let payload: Record<string, unknown>;
  try {
    payload = await verify(token, secret, "HS256");
  } catch {
    return null;
  }
  const { sub, exp, scope } = payload;
  if (typeof exp !== "number" || typeof sub !== "string" || !isValidModelId(sub)) return null;
  const scopes = scopesOf(scope);
  return scopes === undefined ? null : { sub, scopes };
}
