import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { factsOf, type RequestLog } from "../../src/http/logging.ts";
import { call, learnJson } from "../helpers/api.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";

/** The request lines the Worker logged while `run` ran. */
async function logged(run: () => Promise<unknown>): Promise<RequestLog[]> {
  const lines: RequestLog[] = [];
  const spy = vi.spyOn(console, "log").mockImplementation((line: unknown) => {
    const entry = JSON.parse(String(line)) as RequestLog;
    if (entry.event === "request") lines.push(entry);
  });
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return lines;
}

async function one(path: string, init?: RequestInit): Promise<RequestLog> {
  const lines = await logged(async () => (await call(path, init)).arrayBuffer());
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe("GET /health", () => {
  it("answers ok before any model is seeded", async () => {
    const r = await call("/health");
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ok: true, service: "edge-rnnlm" });
  });

  it("refuses other methods with a JSON 405", async () => {
    const r = await call("/health", { method: "POST" });
    expect(r.status).toBe(405);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
    expect(r.headers.get("allow")).toBe("GET, HEAD");
  });

  it("names every method of a path in Allow (RFC 9110), also under /models/{id}", async () => {
    const weights = await call("/model/weights", { method: "DELETE" });
    expect(weights.status).toBe(405);
    expect(weights.headers.get("allow")).toBe("GET, HEAD, PUT");
    const learn = await call("/models/m1/learn");
    expect(learn.status).toBe(405);
    expect(learn.headers.get("allow")).toBe("POST");
  });
});

describe("request log", () => {
  beforeAll(() => seedTinyModel(env.MODELS, "logged"));

  it("logs a predict with its route, model, version and the tokens read", async () => {
    const e = await one("/models/logged/predict?prefix=the%20quick%20brown&k=3");
    expect(e).toMatchObject({
      event: "request",
      method: "GET",
      route: "/models/:id/predict",
      status: 200,
      model: "logged",
      version: 1,
      tokens: 3,
      estimatedCpuMs: null,
      ray: null,
    });
    expect(e.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("logs a learn with the tokens learned, the version that will hold it and the cost model's CPU estimate", async () => {
    let answer: { budget: { estimateMs: number } } | undefined;
    const lines = await logged(
      async () => (answer = await (await learnJson("the cat sat on my mat", {}, "/models/logged/learn")).json()),
    );
    expect(lines).toEqual([
      expect.objectContaining({
        method: "POST",
        route: "/models/:id/learn",
        status: 200,
        model: "logged",
        version: 2,
        tokens: 6,
      }),
    ]);
    expect(lines[0].estimatedCpuMs).toBeGreaterThan(0);
    expect(lines[0].estimatedCpuMs).toBe(answer?.budget.estimateMs);
  });

  it("logs refused requests with the model named in the path and no version", async () => {
    const e = await one("/models/logged/predict?k=0");
    expect(e).toMatchObject({
      route: "/models/:id/predict",
      status: 400,
      model: "logged",
      version: null,
      tokens: null,
    });
  });

  it("logs unmatched paths with route null, and never the user's text", async () => {
    const e = await one("/nowhere?prefix=secret%20words");
    expect(e).toMatchObject({ route: null, status: 404, model: null });
    const lines = await logged(() => call("/models/logged/predict?prefix=secret%20words").then((r) => r.arrayBuffer()));
    expect(JSON.stringify(lines)).not.toContain("secret");
  });

  it("logs /model and /health", async () => {
    expect(await one("/models/logged/model")).toMatchObject({
      route: "/models/:id/model",
      status: 200,
      model: "logged",
      version: 1,
    });
    expect(await one("/health")).toMatchObject({ route: "/health", status: 200, model: null, version: null });
  });
});

describe("factsOf", () => {
  it("reads the model from `model` or the top level, tokens from `prefix` or `tokens`", () => {
    expect(factsOf({ prefix: ["a", "b"], model: { id: "x", version: 3 } })).toEqual({
      model: "x",
      version: 3,
      tokens: 2,
      estimatedCpuMs: null,
    });
    expect(factsOf({ id: "y", version: 0, tokens: 7 })).toEqual({
      model: "y",
      version: 0,
      tokens: 7,
      estimatedCpuMs: null,
    });
    expect(factsOf({ tokens: 9, budget: { estimateMs: 1.25 }, model: { id: "z", version: 2 } })).toMatchObject({
      estimatedCpuMs: 1.25,
    });
  });

  it("ignores anything that is not a valid id or count", () => {
    expect(factsOf({ id: "no spaces", version: -1, tokens: 1.5 })).toEqual({
      model: null,
      version: null,
      tokens: null,
      estimatedCpuMs: null,
    });
    expect(factsOf([1, 2])).toEqual({ model: null, version: null, tokens: null, estimatedCpuMs: null });
    expect(factsOf(null)).toEqual({ model: null, version: null, tokens: null, estimatedCpuMs: null });
  });
});
