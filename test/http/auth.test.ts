import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { bearerToken } from "../../src/http/auth.ts";
import { type ApiErrorBody, AUTH, call, callWith } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";

const ID = "auth";
const SECRET = env.LEARN_TOKEN!;

interface Write {
  name: string;
  path: string;
  init: RequestInit;
}

const jsonBody = (body: unknown) => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Every write endpoint, each with a request that the right token would get accepted. */
const WRITES: Write[] = [
  { name: "POST /learn", path: "/learn", init: { method: "POST", ...jsonBody({ sentence: "the cat sat" }) } },
  {
    name: "POST /models/:id/learn",
    path: `/models/${ID}/learn`,
    init: { method: "POST", ...jsonBody({ sentence: "the cat sat" }) },
  },
  { name: "POST /models", path: "/models", init: { method: "POST", ...jsonBody({ id: "auth-child", from: ID }) } },
  {
    name: "POST /models/:id/rollback",
    path: `/models/${ID}/rollback`,
    init: { method: "POST", ...jsonBody({ version: 1 }) },
  },
  {
    name: "PUT /model/weights",
    path: "/model/weights",
    init: { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array(16) },
  },
  {
    name: "PUT /models/:id/model/weights",
    path: `/models/${ID}/model/weights`,
    init: { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array(16) },
  },
];

const BAD_HEADERS: [string, Record<string, string>, string][] = [
  ["missing", {}, 'Bearer realm="edge-rnnlm"'],
  ["empty", { authorization: "" }, 'Bearer realm="edge-rnnlm"'],
  ["wrong", { authorization: "Bearer not-the-token" }, 'error="invalid_token"'],
  ["a prefix of the secret", { authorization: `Bearer ${SECRET.slice(0, -1)}` }, 'error="invalid_token"'],
  ["the secret and more", { authorization: `Bearer ${SECRET}x` }, 'error="invalid_token"'],
  ["another scheme", { authorization: `Basic ${btoa(`user:${SECRET}`)}` }, 'error="invalid_request"'],
  ["a scheme without token", { authorization: "Bearer" }, 'error="invalid_request"'],
  ["two tokens", { authorization: `Bearer ${SECRET} ${SECRET}` }, 'error="invalid_request"'],
  ["the bare secret", { authorization: SECRET }, 'error="invalid_request"'],
];

function withHeaders(init: RequestInit, extra: Record<string, string>): RequestInit {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  return { ...init, headers };
}

async function expectUnauthorized(r: Response, challenge: string): Promise<void> {
  expect(r.status).toBe(401);
  expect(r.headers.get("content-type")).toContain("application/json");
  expect(r.headers.get("www-authenticate")).toContain(challenge);
  expect(((await r.json()) as ApiErrorBody).error.code).toBe("unauthorized");
}

describe("write endpoints", () => {
  beforeAll(async () => {
    await seedTinyModel(env.MODELS, ID);
    await seedTinyModel(env.MODELS, "default");
  });

  describe.each(WRITES)("$name", ({ path, init }) => {
    it.each(BAD_HEADERS)("refuses a %s token with 401 and leaves the model alone", async (_, headers, challenge) => {
      const before = [await modelState(ID), await modelState("default")];
      await expectUnauthorized(await call(path, withHeaders(init, headers)), challenge);
      expect([await modelState(ID), await modelState("default")]).toEqual(before);
    });

    it("refuses every write with 503 when LEARN_TOKEN is not configured", async () => {
      const r = await callWith({ LEARN_TOKEN: undefined }, path, withHeaders(init, AUTH));
      expect(r.status).toBe(503);
      const body = (await r.json()) as ApiErrorBody;
      expect(body.error.code).toBe("writes_disabled");
      expect(body.error.message).toContain("LEARN_TOKEN");
    });

    it("passes the right token on to the route", async () => {
      const r = await call(path, withHeaders(init, { authorization: `bearer  ${SECRET} ` }));
      expect(r.status).not.toBe(401);
      expect(r.status).toBeLessThan(500);
    });
  });

  it("accepts a learn with the token, in any case of the scheme", async () => {
    const r = await call(`/models/${ID}/learn`, withHeaders(WRITES[1].init, { authorization: `BEARER ${SECRET}` }));
    expect(r.status).toBe(200);
  });

  it("checks the token before reading the body", async () => {
    const huge = { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(1 << 20) };
    await expectUnauthorized(await call("/learn", huge), "Bearer");
  });
});

describe("read endpoints", () => {
  const READS = [
    "/predict?prefix=the",
    `/models/${ID}/predict?prefix=the`,
    "/model",
    "/model/weights",
    `/models/${ID}`,
  ];

  it.each(READS)("GET %s is public without READ_TOKEN", async (path) => {
    expect((await call(path)).status).toBe(200);
  });

  it.each(READS)("GET %s needs READ_TOKEN (or LEARN_TOKEN) once READ_TOKEN is set", async (path) => {
    const config = { READ_TOKEN: "read-secret" };
    await expectUnauthorized(await callWith(config, path), "Bearer");
    await expectUnauthorized(
      await callWith(config, path, { headers: { authorization: "Bearer nope" } }),
      'error="invalid_token"',
    );
    expect((await callWith(config, path, { headers: { authorization: "Bearer read-secret" } })).status).toBe(200);
    expect((await callWith(config, path, { headers: AUTH })).status).toBe(200);
  });

  it("a read token does not open writes", async () => {
    const r = await callWith(
      { READ_TOKEN: "read-secret" },
      "/learn",
      withHeaders(WRITES[0].init, { authorization: "Bearer read-secret" }),
    );
    await expectUnauthorized(r, 'error="invalid_token"');
  });
});

describe("bearerToken", () => {
  it.each([
    [undefined, null],
    ["", null],
    ["  ", null],
    ["Bearer abc", "abc"],
    ["bearer abc", "abc"],
    ["Bearer   a.b-c_d~e+f/g==  ", "a.b-c_d~e+f/g=="],
  ])("%j -> %j", (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each(["Bearer", "Bearer ", "Bearerabc", "Token abc", "Bearer a b", "Bearer é", "Bearer\tabc"])(
    "%j is malformed",
    (header) => {
      expect(() => bearerToken(header)).toThrow(/Bearer <token>/);
    },
  );
});
