/**
 * Who may write and who may read (docs/limits.md).
 *
 * Writes (learn, create, rollback, weight import) need `Authorization: Bearer <LEARN_TOKEN>`;
 * a Worker without LEARN_TOKEN refuses every write rather than accepting anyone's. Reads are
 * public unless READ_TOKEN is set; then they need READ_TOKEN (or LEARN_TOKEN: a writer may read).
 * A user's personal data, and learns, also take a user token (a JWT signed with USER_TOKEN_SECRET,
 * user-token.ts) for that user alone; its scope limits what it may do (authorizeUser, sharedLearner).
 * Tokens are compared through their SHA-256 digests with a constant-time equality, so neither the
 * content nor the length of a secret leaks through response timing.
 */

import type { Context, MiddlewareHandler } from "hono";
import type { Env } from "../env.ts";
import { ADMIN } from "../trust/subject.ts";
import { ApiError } from "./errors.ts";
import { type UserToken, verifyUserToken } from "./user-token.ts";

type Middleware = MiddlewareHandler<{ Bindings: Env }>;

const CHALLENGE = 'Bearer realm="edge-rnnlm"';

/** "Bearer" (any case), then one token of visible ASCII (RFC 6750's b64token and more). */
const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;

function unauthorized(message: string, error?: "invalid_request" | "invalid_token"): ApiError {
  const challenge = error ? `${CHALLENGE}, error="${error}"` : CHALLENGE;
  return new ApiError(401, "unauthorized", message, { "www-authenticate": challenge });
}

/** The bearer token of an Authorization header: null when there is none, a 401 when it is malformed. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header.trim() === "") return null;
  const match = BEARER.exec(header);
  if (!match) throw unauthorized("the Authorization header must be `Bearer <token>`", "invalid_request");
  return match[1];
}

const encoder = new TextEncoder();

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/** Whether `given` equals one of `secrets`; every secret is compared, in constant time each. */
async function matchesAny(given: string, secrets: readonly string[]): Promise<boolean> {
  const [mine, ...theirs] = await Promise.all([given, ...secrets].map(digest));
  let found = false;
  for (const d of theirs) found = crypto.subtle.timingSafeEqual(mine, d) || found;
  return found;
}

async function authenticate(header: string | undefined, secrets: readonly string[], what: string): Promise<void> {
  const token = bearerToken(header);
  if (token === null) throw unauthorized(`${what} need Authorization: Bearer <token>`);
  if (!(await matchesAny(token, secrets)))
    throw unauthorized("the bearer token is not valid for this endpoint", "invalid_token");
}

/** Whether the request carries the admin token (LEARN_TOKEN); a malformed header is simply not. */
export async function isAdmin(c: Context<{ Bindings: Env }>): Promise<boolean> {
  const secret = c.env.LEARN_TOKEN;
  const header = c.req.header("authorization");
  const token = secret && header ? BEARER.exec(header)?.[1] : undefined;
  return token !== undefined && (await matchesAny(token, [secret as string]));
}

/** Guards a write endpoint: 503 when LEARN_TOKEN is not configured, 401 without the right token. */
export const requireWriter: Middleware = async (c, next) => {
  const secret = c.env.LEARN_TOKEN;
  if (!secret) {
    throw new ApiError(
      503,
      "writes_disabled",
      "writes are disabled: the LEARN_TOKEN secret is not set (`wrangler secret put LEARN_TOKEN`; `.dev.vars` locally)",
    );
  }
  await authenticate(c.req.header("authorization"), [secret], "writes");
  await next();
};

/** Guards a read endpoint: open unless READ_TOKEN is set. */
export const requireReader: Middleware = async (c, next) => {
  const secret = c.env.READ_TOKEN;
  if (secret) {
    const accepted = c.env.LEARN_TOKEN ? [secret, c.env.LEARN_TOKEN] : [secret];
    await authenticate(c.req.header("authorization"), accepted, "reads");
  }
  await next();
};

/** Who a request speaks for: the admin (LEARN_TOKEN), or one user through a user token (user-token.ts). */
export type Caller = { admin: true } | { admin: false; user: UserToken };

/** What a user token may do with its own data: read it (predictions, info, export) or change it. */
export type UserAction = "predict" | "learn";

/**
 * Who the bearer is: the admin, or the subject of a valid user token. 503 when LEARN_TOKEN is not
 * set (it stays the switch for every write and all personal data), 401 for no token or one that
 * is neither the admin token nor a valid user token (bad signature, alg not HS256, expired, no exp).
 */
export async function identify(c: Context<{ Bindings: Env }>, what: string): Promise<Caller> {
  const secret = c.env.LEARN_TOKEN;
  if (!secret)
    throw new ApiError(503, "writes_disabled", `${what} need a token, and the LEARN_TOKEN secret is not set`);
  const token = bearerToken(c.req.header("authorization"));
  if (token === null) throw unauthorized(`${what} need Authorization: Bearer <token>`);
  if (await matchesAny(token, [secret])) return { admin: true };
  const userSecret = c.env.USER_TOKEN_SECRET;
  const user = userSecret ? await verifyUserToken(token, userSecret) : null;
  if (user === null) throw unauthorized("the bearer token is not valid for this endpoint", "invalid_token");
  return { admin: false, user };
}

function forbidden(message: string): ApiError {
  return new ApiError(403, "forbidden", message);
}

/** 403 unless the caller is the admin or `user` with a scope that allows `action` (none: every action). */
export function permitUser(caller: Caller, user: string, action: UserAction): void {
  if (caller.admin) return;
  const { sub, scopes } = caller.user;
  if (sub !== user) throw forbidden(`this token is for user "${sub}", not "${user}"`);
  if (scopes !== null && !scopes.has(action)) throw forbidden(`this token's scope does not include ${action}`);
}

/** The subject a shared-model learn is recorded under: ADMIN, or a user token's with scope `shared` (403 otherwise). */
export function sharedLearner(caller: Caller): string {
  if (caller.admin) return ADMIN;
  if (caller.user.scopes?.has("shared") !== true)
    throw forbidden("teaching the shared model needs the admin token or a user token with scope shared");
  return caller.user.sub;
}

/**
 * The one check before a user's personal data is read or written (personal predictions, personal
 * learns, every /users route; docs/personal.md): the admin LEARN_TOKEN, or a user token whose
 * subject is `user` and whose scope, if any, allows `action`.
 */
export async function authorizeUser(c: Context<{ Bindings: Env }>, user: string, action: UserAction): Promise<void> {
  permitUser(await identify(c, "personal data"), user, action);
}
