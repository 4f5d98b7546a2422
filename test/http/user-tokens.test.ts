/**
 * Per-user tokens (src/http/user-token.ts, auth.ts): a JWT signed with USER_TOKEN_SECRET (HS256)
 * opens its own user's data and nobody else's; a bad one is 401, another user's data 403; its
 * scope limits what it may do; with scope `shared` it teaches the shared model under its subject.
 */
import { env } from "cloudflare:workers";
import { sign } from "hono/jwt";
import { beforeAll, describe, expect, it } from "vitest";
import { AUTH, type ApiErrorBody, call, json, learnJson } from "../helpers/api.ts";
import { repoFile, repoJson } from "../helpers/repo-files.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";
import { vocabFromJson, vocabHash } from "../../src/model/vocab.ts";
import { firstVersionFields, publishVersion } from "../../src/store/kv-layout.ts";

const SECRET = env.USER_TOKEN_SECRET!;
const now = () => Math.floor(Date.now() / 1000);

function token(sub: string, claims: Record<string, unknown> = {}): Promise<string> {
  return sign({ sub, exp: now() + 3600, ...claims }, SECRET);
}

const b64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const part = (x: unknown) => b64url(new TextEncoder().encode(JSON.stringify(x)));

/** A token built by hand: `header` as given, signed with HMAC-SHA256 under SECRET (or unsigned). */
async function handMade(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  signed = true,
): Promise<string> {
  const input = `${part(header)}.${part(payload)}`;
  if (!signed) return `${input}.`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input)));
  return `${input}.${b64url(mac)}`;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

function learn(t: string, body: Record<string, unknown>, path = "/learn"): Promise<Response> {
  return call(path, {
    method: "POST",
    headers: { ...bearer(t), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function refusal(r: Response): Promise<[number, string]> {
  return [r.status, ((await r.json()) as ApiErrorBody).error.code];
}

describe("user tokens", () => {
  beforeAll(async () => {
    await seedTinyModel(env.MODELS, "default", 100);
  });

  it("open the token's own user's predictions, learns and /users routes", async () => {
    const t = await token("alice");
    const learned = await learn(t, { sentence: "the cat sat", user: "alice" });
    expect(learned.status).toBe(200);
    expect((await call("/predict?user=alice&prefix=the", { headers: bearer(t) })).status).toBe(200);
    const info = await json<{ learns: number }>("/users/alice", { headers: bearer(t) });
    expect(info.status).toBe(200);
    expect((await call("/users/alice/export", { headers: bearer(t) })).status).toBe(200);
    const forget = await call("/users/alice/forget", {
      method: "POST",
      headers: { ...bearer(t), "content-type": "application/json" },
      body: '{"word":"cat"}',
    });
    expect(forget.status).toBe(200);
    expect((await call("/users/alice", { method: "DELETE", headers: bearer(t) })).status).toBe(200);
  });

  it("are refused another user's data with 403 forbidden", async () => {
    const t = await token("alice");
    expect(await refusal(await call("/predict?user=bob&prefix=the", { headers: bearer(t) }))).toEqual([
      403,
      "forbidden",
    ]);
    expect(await refusal(await learn(t, { sentence: "the cat", user: "bob" }))).toEqual([403, "forbidden"]);
    expect(await refusal(await call("/users/bob", { headers: bearer(t) }))).toEqual([403, "forbidden"]);
    expect(await refusal(await call("/users/bob", { method: "DELETE", headers: bearer(t) }))).toEqual([
      403,
      "forbidden",
    ]);
  });

  it("are refused with 401 invalid_token when expired, tampered, of another algorithm, without exp or malformed", async () => {
    const good = await token("alice");
    const [h, p, s] = good.split(".");
    const mid = Math.floor(s.length / 2);
    const cases: Record<string, string> = {
      expired: await token("alice", { exp: now() - 60 }),
      "tampered signature": `${h}.${p}.${s.slice(0, mid)}${s[mid] === "A" ? "B" : "A"}${s.slice(mid + 1)}`,
      "tampered payload": `${h}.${part({ sub: "bob", exp: now() + 3600 })}.${s}`,
      "another key": await sign({ sub: "alice", exp: now() + 3600 }, "not-the-secret"),
      "alg none": await handMade({ alg: "none", typ: "JWT" }, { sub: "alice", exp: now() + 3600 }, false),
      "RS256 label": await handMade({ alg: "RS256", typ: "JWT" }, { sub: "alice", exp: now() + 3600 }),
      "no exp": await handMade({ alg: "HS256", typ: "JWT" }, { sub: "alice" }),
      "sub not a user id": await token("no spaces allowed"),
      "unknown scope": await token("alice", { scope: "admin" }),
      malformed: "not.a.jwt",
    };
    for (const [name, t] of Object.entries(cases)) {
      const r = await call("/users/alice", { headers: bearer(t) });
      expect(await refusal(r), name).toEqual([401, "unauthorized"]);
      expect(r.headers.get("www-authenticate"), name).toContain('error="invalid_token"');
    }
    // The control: the hand-made token, HS256 and with exp, passes; so what refuses the others is their flaw.
    const control = await handMade({ alg: "HS256", typ: "JWT" }, { sub: "alice", exp: now() + 3600 });
    expect((await call("/users/alice", { headers: bearer(control) })).status).toBe(200);
  });

  it("are limited by their scope: predict reads, learn writes, shared teaches the shared model", async () => {
    const reader = await token("alice", { scope: "predict" });
    const writer = await token("alice", { scope: ["learn"] });
    expect((await call("/predict?user=alice&prefix=the", { headers: bearer(reader) })).status).toBe(200);
    expect((await call("/users/alice", { headers: bearer(reader) })).status).toBe(200);
    expect(await refusal(await learn(reader, { sentence: "the cat", user: "alice" }))).toEqual([403, "forbidden"]);
    expect(await refusal(await call("/users/alice", { method: "DELETE", headers: bearer(reader) }))).toEqual([
      403,
      "forbidden",
    ]);
    expect((await learn(writer, { sentence: "the cat", user: "alice" })).status).toBe(200);
    expect(await refusal(await call("/predict?user=alice&prefix=the", { headers: bearer(writer) }))).toEqual([
      403,
      "forbidden",
    ]);
    // The shared model: no scope, or learn and predict, is not enough; shared is.
    for (const t of [await token("alice"), await token("alice", { scope: "learn predict" })]) {
      expect(await refusal(await learn(t, { sentence: "the cat" }))).toEqual([403, "forbidden"]);
    }
    expect((await learn(await token("alice", { scope: "learn,shared" }), { sentence: "the cat" })).status).toBe(200);
    // Never a write the LEARN_TOKEN guards, whatever the scope.
    expect(
      await refusal(
        await call("/models/default/rollback", {
          method: "POST",
          headers: bearer(await token("alice", { scope: "shared" })),
        }),
      ),
    ).toEqual([401, "unauthorized"]);
  });

  it("leave LEARN_TOKEN the admin token, for every user and the shared model", async () => {
    expect((await call("/predict?user=carol&prefix=the", { headers: AUTH })).status).toBe(200);
    expect((await learnJson("the cat", { user: "carol" })).status).toBe(200);
    expect((await learnJson("the cat")).status).toBe(200);
  });
});

describe("a shared learn through a user token", () => {
  const PASSWORD = "my bank password is swordfish";
  const PROBES = ["my bank password is", "bank password is", "password is"];

  async function suggested(id: string): Promise<Set<string>> {
    const out = new Set<string>();
    for (const p of PROBES) {
      const r = await json<{ predictions: { word: string }[] }>(
        `/models/${id}/predict?prefix=${encodeURIComponent(p)}&k=50&fresh=1`,
      );
      for (const x of r.body.predictions) out.add(x.word);
    }
    return out;
  }

  it("is recorded under the token's subject: with the admin's it makes two teachers, so the phrase is shared", async () => {
    const id = "user-token-subject";
    const [bytes, vocabJson] = await Promise.all([
      repoFile("models/base/weights.safetensors"),
      repoJson("models/base/vocab.json"),
    ]);
    const vocab = vocabFromJson(vocabJson);
    const at = new Date().toISOString();
    await publishVersion(env.MODELS, id, new Uint8Array(bytes), firstVersionFields(vocabHash(vocab), at), { vocab });
    for (let i = 0; i < 3; i++) expect((await learnJson(PASSWORD, {}, `/models/${id}/learn`)).status).toBe(200);
    // One subject (admin) so far: not suggested (docs/limits.md, the two-subject rule).
    expect(await suggested(id)).not.toContain("swordfish");
    const alice = await token("alice", { scope: "shared" });
    expect((await learn(alice, { sentence: PASSWORD }, `/models/${id}/learn`)).status).toBe(200);
    // Had the learn been recorded as admin's, there would still be one teacher.
    expect(await suggested(id)).toContain("swordfish");
  }, 60_000);
});
