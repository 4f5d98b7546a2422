import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/config.ts";
import { type ApiErrorBody, authed, call } from "../helpers/api.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";

const ID = "errors";
const BASE = `/models/${ID}`;

interface Case {
  name: string;
  path: string;
  init?: RequestInit;
  status: number;
  code: string;
}

const json = (body: unknown): RequestInit =>
  authed({
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const CASES: Case[] = [
  { name: "missing sentence", path: "/learn", init: json({}), status: 400, code: "empty_sentence" },
  { name: "empty sentence", path: "/learn", init: json({ sentence: "" }), status: 400, code: "empty_sentence" },
  {
    name: "whitespace sentence",
    path: "/learn",
    init: json({ sentence: " \n\t " }),
    status: 400,
    code: "empty_sentence",
  },
  { name: "non-string sentence", path: "/learn", init: json({ sentence: 42 }), status: 400, code: "invalid_sentence" },
  { name: "malformed JSON", path: "/learn", init: json('{"sentence": '), status: 400, code: "invalid_json" },
  { name: "JSON array body", path: "/learn", init: json("[1,2]"), status: 400, code: "invalid_body" },
  {
    name: "form content type",
    path: "/learn",
    init: authed({
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "sentence=hi",
    }),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "no content type",
    path: "/learn",
    init: authed({ method: "POST", body: new Uint8Array([104, 105]) }),
    status: 415,
    code: "unsupported_media_type",
  },
  {
    name: "body over the limit",
    path: "/learn",
    init: json({ sentence: "a ".repeat(LIMITS.maxBodyBytes) }),
    status: 413,
    code: "body_too_large",
  },
  {
    name: "sentence over the token limit",
    path: "/learn",
    init: json({ sentence: "the cat ".repeat(LIMITS.maxSentenceTokens) }),
    status: 413,
    code: "sentence_too_long",
  },
  {
    name: "invalid UTF-8",
    path: "/learn",
    init: authed({
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: new Uint8Array([0xff, 0xfe, 0x41]),
    }),
    status: 400,
    code: "invalid_encoding",
  },
  {
    name: "lr out of range",
    path: "/learn",
    init: json({ sentence: "the cat", lr: 5 }),
    status: 400,
    code: "invalid_parameter",
  },
  {
    name: "lr not a number",
    path: "/learn",
    init: json({ sentence: "the cat", lr: "fast" }),
    status: 400,
    code: "invalid_parameter",
  },
  {
    name: "fractional steps",
    path: "/learn",
    init: json({ sentence: "the cat", steps: 1.5 }),
    status: 400,
    code: "invalid_parameter",
  },
  {
    name: "truncate too large",
    path: "/learn",
    init: json({ sentence: "the cat", truncate: 99 }),
    status: 400,
    code: "invalid_parameter",
  },
  { name: "k = 0", path: "/predict?prefix=the&k=0", status: 400, code: "invalid_parameter" },
  { name: "k = 51", path: "/predict?prefix=the&k=51", status: 400, code: "invalid_parameter" },
  { name: "k not a number", path: "/predict?prefix=the&k=five", status: 400, code: "invalid_parameter" },
  {
    name: "prefix over the limit",
    path: `/predict?prefix=${"a".repeat(LIMITS.maxPrefixChars + 1)}`,
    status: 413,
    code: "prefix_too_long",
  },
  { name: "GET /learn", path: "/learn", status: 405, code: "method_not_allowed" },
  { name: "POST /predict", path: "/predict", init: { method: "POST" }, status: 405, code: "method_not_allowed" },
  { name: "unknown route", path: "/nope", status: 404, code: "not_found" },
];

async function modelState(): Promise<{ weights: Uint8Array; status: unknown }> {
  const stub = env.WRITER.get(env.WRITER.idFromName(ID));
  const fresh = await (await call(`${BASE}/predict?prefix=the%20cat&k=50&fresh=1`)).json();
  return {
    weights: new Uint8Array(await (await call(`${BASE}/model/weights`)).arrayBuffer()),
    status: [await stub.status(ID), fresh],
  };
}

describe("every bad request gets a JSON error with the right status and leaves the model alone", () => {
  beforeAll(async () => {
    await seedTinyModel(env.MODELS, ID);
  });

  it.each(CASES)("$name -> $status $code", async ({ path, init, status, code }) => {
    const before = await modelState();
    const r = await call(path.startsWith("/nope") ? path : BASE + path, init);
    expect(r.status).toBe(status);
    expect(r.headers.get("content-type")).toContain("application/json");
    const body = (await r.json()) as ApiErrorBody;
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(5);
    expect(await modelState()).toEqual(before);
  });

  it("an invalid model id is a 400", async () => {
    const r = await call("/models/bad:id/predict");
    expect(r.status).toBe(400);
    expect(((await r.json()) as ApiErrorBody).error.code).toBe("invalid_model_id");
  });
});
