import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type ApiErrorBody, authed, call, learnJson } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";

const ID = "numbers";
const BASE = `/models/${ID}`;

const plain = (query: string) =>
  call(
    `${BASE}/learn?${query}`,
    authed({ method: "POST", headers: { "content-type": "text/plain" }, body: "the cat sat" }),
  );

/** One rule: a JSON number in a JSON body, a decimal literal in a query string, nothing else. */
describe("numbers are JSON numbers in bodies and decimal literals in query strings", () => {
  beforeAll(() => seedTinyModel(env.MODELS, ID));

  const refused: [string, () => Promise<Response>][] = [
    ["k=0x1", () => call(`${BASE}/predict?prefix=the&k=0x1`)],
    ["k=%205 (a leading space)", () => call(`${BASE}/predict?prefix=the&k=%205`)],
    ["k=5%20 (a trailing space)", () => call(`${BASE}/predict?prefix=the&k=5%20`)],
    ["k=1e1", () => call(`${BASE}/predict?prefix=the&k=1e1`)],
    ["k= (empty)", () => call(`${BASE}/predict?prefix=the&k=`)],
    ["k=+5", () => call(`${BASE}/predict?prefix=the&k=%2B5`)],
    ["k=Infinity", () => call(`${BASE}/predict?prefix=the&k=Infinity`)],
    ["text/plain lr=0x1", () => plain("lr=0x1")],
    ["text/plain steps=1e0", () => plain("steps=1e0")],
    ["text/plain lr=.5", () => plain("lr=.5")],
    ['JSON lr "0.1" (a string)', () => learnJson("the cat sat", { lr: "0.1" }, `${BASE}/learn`)],
    ['JSON steps "1" (a string)', () => learnJson("the cat sat", { steps: "1" }, `${BASE}/learn`)],
    ["JSON truncate true", () => learnJson("the cat sat", { truncate: true }, `${BASE}/learn`)],
    ["JSON lr null", () => learnJson("the cat sat", { lr: null }, `${BASE}/learn`)],
  ];

  it.each(refused)("%s -> 400 invalid_parameter, model unchanged", async (_, send) => {
    const before = await modelState(ID);
    const r = await send();
    expect(r.status).toBe(400);
    expect(((await r.json()) as ApiErrorBody).error.code).toBe("invalid_parameter");
    expect(await modelState(ID)).toEqual(before);
  });

  it("takes decimal literals in query strings and JSON numbers (any JSON spelling) in bodies", async () => {
    const k = await call(`${BASE}/predict?prefix=the&k=7`);
    expect(((await k.json()) as { predictions: unknown[] }).predictions).toHaveLength(7);
    expect((await plain("lr=0.05&steps=2&truncate=3")).status).toBe(200);
    const r = await call(
      `${BASE}/learn`,
      authed({
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"sentence": "the cat sat", "lr": 1e-2, "steps": 2.0}',
      }),
    );
    expect(r.status).toBe(200);
  });

  it("reads a JSON learn's options from the body only, never from the query string", async () => {
    // lr=5 is out of bounds: read from the query it would be refused.
    const r = await call(
      `${BASE}/learn?lr=5&steps=0x1`,
      authed({ method: "POST", headers: { "content-type": "application/json" }, body: '{"sentence": "the cat sat"}' }),
    );
    expect(r.status).toBe(200);
  });
});
