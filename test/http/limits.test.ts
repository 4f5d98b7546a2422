import { env } from "cloudflare:workers";
import { abortAllDurableObjects } from "cloudflare:test";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env.ts";
import { clientKey } from "../../src/http/rate-limit.ts";
import { type ApiErrorBody, authed, callWith } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";

const ID = "limits";
/** TIGHT_LIMITER (vitest.config.ts) allows 3 requests per client and minute. */
const TIGHT = (env as unknown as { TIGHT_LIMITER: RateLimit }).TIGHT_LIMITER;

/** Local budgets restart on each wall-clock minute: start a test well inside one. */
async function freshWindow(): Promise<void> {
  const intoMinute = (Date.now() / 1000) % 60;
  if (intoMinute > 50) await new Promise((r) => setTimeout(r, (60 - intoMinute) * 1000 + 100));
}

const learnInit = (sentence: string, ip: string) =>
  authed({
    method: "POST",
    headers: { "content-type": "application/json", "cf-connecting-ip": ip },
    body: JSON.stringify({ sentence }),
  });

async function expectRetry(r: Response, status: number, code: string, retryAfter: string): Promise<void> {
  expect(r.status).toBe(status);
  expect(r.headers.get("retry-after")).toBe(retryAfter);
  expect(r.headers.get("content-type")).toContain("application/json");
  expect(((await r.json()) as ApiErrorBody).error.code).toBe(code);
}

describe("per-client rate limits", () => {
  beforeAll(() => seedTinyModel(env.MODELS, ID));

  it("answers 429 with Retry-After once a client's write budget is spent, before any work, and counts clients apart", async () => {
    const tight: Partial<Env> = { WRITE_LIMITER: TIGHT };
    await freshWindow();
    for (let i = 0; i < 3; i++)
      expect((await callWith(tight, `/models/${ID}/learn`, learnInit("the cat sat", "192.0.2.1"))).status).toBe(200);
    const before = await modelState(ID);
    await expectRetry(
      await callWith(tight, `/models/${ID}/learn`, learnInit("the cat sat", "192.0.2.1")),
      429,
      "rate_limited",
      "10",
    );
    expect(await modelState(ID)).toEqual(before);
    // Refused before the token is even looked at.
    await expectRetry(
      await callWith(tight, `/models/${ID}/learn`, { method: "POST", headers: { "cf-connecting-ip": "192.0.2.1" } }),
      429,
      "rate_limited",
      "10",
    );
    expect((await callWith(tight, `/models/${ID}/learn`, learnInit("the cat sat", "192.0.2.2"))).status).toBe(200);
  }, 20_000);

  it("limits reads with their own budget", async () => {
    const tight: Partial<Env> = { READ_LIMITER: TIGHT };
    await freshWindow();
    const read = () =>
      callWith(tight, `/models/${ID}/predict?prefix=the`, { headers: { "cf-connecting-ip": "2001:db8:7:7::1" } });
    for (let i = 0; i < 3; i++) expect((await read()).status).toBe(200);
    await expectRetry(await read(), 429, "rate_limited", "10");
    // Another address of the same /64 shares the budget.
    const sibling = await callWith(tight, `/models/${ID}/predict`, {
      headers: { "cf-connecting-ip": "2001:db8:7:7:ffff::2" },
    });
    expect(sibling.status).toBe(429);
    // Writes are counted apart from reads.
    expect((await callWith(tight, `/models/${ID}/learn`, learnInit("a dog", "2001:db8:7:7::1"))).status).toBe(200);
  }, 20_000);

  it("lets requests through when the limiter itself fails", async () => {
    const broken = { limit: () => Promise.reject(new Error("limiter down")) } as unknown as RateLimit;
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const r = await callWith({ WRITE_LIMITER: broken }, `/models/${ID}/learn`, learnInit("my dog", "192.0.2.3"));
    expect(r.status).toBe(200);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining("rate_limiter_failed"));
    errors.mockRestore();
  });
});

describe("clientKey", () => {
  it.each([
    [undefined, "local"],
    ["", "local"],
    ["203.0.113.9", "203.0.113.9"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:DB8:1:2::9", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:abcd::", "2001:db8:1:2::/64"],
    ["2001:db8::1", "2001:db8:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["::ffff:192.0.2.1", "192.0.2.1"],
  ])("%j -> %j", (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});

describe("a writer that fails mid-request", () => {
  beforeAll(() => seedTinyModel(env.MODELS, "reset"));

  it("is a 503 with Retry-After, never a 500", async () => {
    const failing = {
      idFromName: (name: string) => env.WRITER.idFromName(name),
      get: () => ({
        learn: () => Promise.reject(new Error("Durable Object reset because its code was updated.")),
        predict: () => Promise.reject(new Error("Network connection lost.")),
      }),
    } as unknown as Env["WRITER"];
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    await expectRetry(
      await callWith({ WRITER: failing }, "/models/reset/learn", learnInit("the cat", "192.0.2.9")),
      503,
      "writer_unavailable",
      "1",
    );
    await expectRetry(
      await callWith({ WRITER: failing }, "/models/reset/predict?prefix=the&fresh=1"),
      503,
      "writer_unavailable",
      "1",
    );
    errors.mockRestore();
  });

  it("answers each learn of a stream cut by a reset with 200 or a 503 to retry", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const sends = Array.from({ length: 40 }, (_, i) =>
      callWith({}, "/models/reset/learn", learnInit(`the cat sat on my mat ${i}`, "192.0.2.10")).then(async (r) => ({
        status: r.status,
        retryAfter: r.headers.get("retry-after"),
        code: r.status === 200 ? "" : ((await r.json()) as ApiErrorBody).error.code,
      })),
    );
    await Promise.race(sends);
    await abortAllDurableObjects();
    const results = await Promise.all(sends);
    errors.mockRestore();
    const failed = results.filter((r) => r.status !== 200);
    expect(failed.length, "the reset cut some learns").toBeGreaterThan(0);
    expect(failed).toEqual(failed.map(() => ({ status: 503, retryAfter: "1", code: "writer_unavailable" })));
  });
});
