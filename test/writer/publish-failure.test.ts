import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { RnnLm } from "../../src/model/model.ts";
import { readManifest } from "../../src/store/kv-layout.ts";
import { type ApiErrorBody, authed, call } from "../helpers/api.ts";
import { seedTinyModel, tinyModel } from "../helpers/tiny-model.ts";
import { expectSameWeights, learn, learnOk, publishedWeights, publishNow, sentence, writer } from "./support.ts";

/** Makes the writer's in-memory weights unpublishable (a NaN, which encodeModel refuses), as a bug could. */
async function poisonLiveWeights(id: string): Promise<void> {
  await runInDurableObject(writer(id), (instance) => {
    const live = (instance as unknown as { held: { tm: { model: RnnLm } } | null }).held;
    if (!live) throw new Error("writer not loaded");
    live.tm.model.W[0] = NaN;
  });
}

async function alarmAt(id: string): Promise<number | null> {
  return runInDurableObject(writer(id), (_, state) => state.storage.getAlarm());
}

/** Error lines (event names) the writer logged while `run` ran. */
async function errorEvents(run: () => Promise<void>): Promise<string[]> {
  const events: string[] = [];
  const spy = vi
    .spyOn(console, "error")
    .mockImplementation((line: unknown) => void events.push((JSON.parse(String(line)) as { event: string }).event));
  try {
    await run();
  } finally {
    spy.mockRestore();
  }
  return events;
}

async function failingModel(id: string): Promise<void> {
  await seedTinyModel(env.MODELS, id);
  await learnOk(id, sentence(1));
  await poisonLiveWeights(id);
}

describe("a model whose learns cannot be published stays recoverable", () => {
  it("the alarm backs off (10 s, 20 s, 40 s ...) instead of retrying at once, logs the cause once and burns no version", async () => {
    const id = "pubfail-backoff";
    await failingModel(id);
    const interval = Number(env.PUBLISH_INTERVAL_MS);
    const delays: number[] = [];
    const events = await errorEvents(async () => {
      for (let i = 0; i < 3; i++) {
        const before = Date.now();
        expect(await publishNow(id)).toBe(true);
        delays.push(((await alarmAt(id)) ?? NaN) - before);
      }
    });
    expect(events).toEqual(["publish_failed"]);
    for (const [i, d] of delays.entries()) {
      expect(d).toBeGreaterThanOrEqual(interval * 2 ** i - 50);
      expect(d).toBeLessThan(interval * 2 ** i + 5_000);
    }
    expect(await readManifest(env.MODELS, id)).toMatchObject({ version: 1 });
    const s = await writer(id).status(id);
    expect(s.ok && s.versions).toEqual([1]);
    // Nothing burned: the next version made is 2.
    const r = await call(
      `/models/${id}/rollback`,
      authed({ method: "POST", headers: { "content-type": "application/json" }, body: '{"version": 1}' }),
    );
    expect(await r.json()).toEqual({ restored: 1, model: { id, version: 2, published: true } });
  });

  it("learns and fresh predictions get a 503 saying why; readers keep the last good version; a rollback recovers", async () => {
    const id = "pubfail-rollback";
    await failingModel(id);
    await publishNow(id);
    const refused = await learn(id, sentence(2));
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as ApiErrorBody;
    expect(body.error.code).toBe("publish_failed");
    expect(body.error.message).toMatch(
      /cannot publish its learns \(W\[0\] = NaN is not finite; next attempt in \d+ s\); readers get version 1\. Roll back/,
    );
    const fresh = await call(`/models/${id}/predict?prefix=the&fresh=1`);
    expect(fresh.status).toBe(503);
    expect(((await fresh.json()) as ApiErrorBody).error.code).toBe("publish_failed");
    const published = await call(`/models/${id}/predict?prefix=the`);
    expect(published.status).toBe(200);
    expect(((await published.json()) as { model: { version: number } }).model.version).toBe(1);

    const r = await call(
      `/models/${id}/rollback`,
      authed({ method: "POST", headers: { "content-type": "application/json" }, body: '{"version": 1}' }),
    );
    expect(r.status).toBe(200);
    expectSameWeights((await publishedWeights(id)).model, tinyModel());
    await learnOk(id, sentence(3));
    expect(await publishNow(id)).toBe(true);
    expect((await readManifest(env.MODELS, id))?.version).toBe(3);
  });

  it("an import recovers it too", async () => {
    const id = "pubfail-import";
    await failingModel(id);
    await publishNow(id);
    const file = await (await call(`/models/${id}/model/weights`)).arrayBuffer();
    const r = await call(
      `/models/${id}/model/weights`,
      authed({ method: "PUT", headers: { "content-type": "application/octet-stream" }, body: file }),
    );
    expect(r.status).toBe(200);
    await learnOk(id, sentence(4));
    expect(await publishNow(id)).toBe(true);
    expect((await readManifest(env.MODELS, id))?.version).toBe(3);
  });

  it(`stops retrying after PUBLISH_RETRY.attempts failures and says so`, async () => {
    const id = "pubfail-abandon";
    await failingModel(id);
    const events = await errorEvents(async () => {
      for (let i = 0; i < 8; i++) await publishNow(id);
    });
    expect(events).toEqual(["publish_failed", "publish_abandoned"]);
    expect(await alarmAt(id)).toBeNull();
    const body = (await (await learn(id, sentence(5))).json()) as ApiErrorBody;
    expect(body.error.message).toMatch(/it stopped retrying after 8 attempts/);
  });
});
