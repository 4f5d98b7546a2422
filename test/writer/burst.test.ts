import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runtimeConfig } from "../../src/config.ts";
import { weightsKey } from "../../src/store/kv-layout.ts";
import { seedTinyModel, tinyModel } from "../helpers/tiny-model.ts";
import {
  countKvWrites,
  sleep,
  writer,
  expectSameWeights,
  learn,
  logOf,
  modelInfo,
  publishedWeights,
  publishNow,
  replay,
  sentence,
  status,
} from "./support.ts";

describe("100 concurrent learns on one model", () => {
  it("logs and counts all 100, publishes a serial replay of the log, and keeps KV writes within the interval bound", async () => {
    const id = "burst";
    await seedTinyModel(env.MODELS, id);
    const writes = await countKvWrites(id);
    const sent = Array.from({ length: 100 }, (_, i) => sentence(i));

    const started = Date.now();
    const replies = await Promise.all(sent.map((s) => learn(id, s)));
    const elapsed = Date.now() - started;

    expect(replies.map((r) => r.status)).toEqual(sent.map(() => 200));
    for (const r of replies) {
      const { model } = (await r.json()) as { model: { id: string; version: number; published: boolean } };
      expect(model).toEqual({ id, version: 2, published: false });
    }
    // Every learn is in the log, once, and counted.
    const log = await logOf(id);
    expect(log).toHaveLength(100);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    expect(log.map((e) => e.sentence).sort()).toEqual([...sent].sort());
    expect(await status(id)).toMatchObject({ learns: 100, lastSeq: 100, version: 1, publishedSeq: 0 });

    // KV: at most one publish (blob + manifest) per interval, whatever the learn rate;
    // the first may come at once. 100 learns would be 200 writes if each published.
    const { publishIntervalMs } = runtimeConfig(env);
    const bound = 2 * (1 + Math.floor(elapsed / publishIntervalMs));
    expect(writes.puts.length + writes.deletes.length).toBeLessThanOrEqual(bound);
    expect(await env.MODELS.get(weightsKey(id, 2))).toBeNull(); // nothing published during the burst

    // One publish carries all of them: exactly the weights of a serial replay in log order.
    expect(await publishNow(id)).toBe(true);
    expect(writes.puts).toEqual(["model:burst:weights:v2", "model:burst:manifest"]);
    const published = await publishedWeights(id);
    expect(published.manifest).toMatchObject({ version: 2, learns: 100 });
    expectSameWeights(published.model, replay(tinyModel(), log));
    const info = await modelInfo(id);
    expect(info.body).toMatchObject({
      id,
      version: 2,
      learns: 100,
      tokensLearned: log.reduce((n, e) => n + e.ids.length - 2, 0),
    });
    expect(await status(id)).toMatchObject({ version: 2, publishedSeq: 100, versions: [1, 2] });
  });

  it("with a short interval, publishes during the burst but never more often than the interval allows", async () => {
    const id = "burst-short";
    const intervalMs = 150;
    await seedTinyModel(env.MODELS, id);
    const writes = await countKvWrites(id, { PUBLISH_INTERVAL_MS: String(intervalMs) });
    const sent = Array.from({ length: 100 }, (_, i) => sentence(i));
    const started = Date.now();
    // Two waves with a pause, so the alarm fires in between.
    const first = await Promise.all(sent.slice(0, 50).map((s) => learn(id, s)));
    await sleep(2 * intervalMs);
    const second = await Promise.all(sent.slice(50).map((s) => learn(id, s)));
    expect([...first, ...second].every((r) => r.status === 200)).toBe(true);

    const manifestPuts = writes.puts.filter((k) => k.endsWith(":manifest")).length;
    const elapsed = Date.now() - started;
    expect(manifestPuts).toBeGreaterThanOrEqual(1);
    expect(manifestPuts).toBeLessThanOrEqual(1 + Math.floor(elapsed / intervalMs));
    expect(writes.puts.length).toBe(2 * manifestPuts);

    await publishNow(id);
    const log = await logOf(id);
    expect(log).toHaveLength(100);
    expectSameWeights((await publishedWeights(id)).model, replay(tinyModel(), log));
  });

  it("with PUBLISH_INTERVAL_MS=0, every learn is answered only once a version holding it is published", async () => {
    const id = "burst-zero";
    await seedTinyModel(env.MODELS, id);
    const writes = await countKvWrites(id, { PUBLISH_INTERVAL_MS: "0" });
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => learn(id, sentence(i))));
    const bodies = (await Promise.all(replies.map((r) => r.json()))) as {
      model: { version: number; published: boolean };
    }[];
    expect(bodies.every((b) => b.model.published)).toBe(true);
    // Publishes coalesce: a learn waiting behind a publish is carried by the next one.
    const versions = new Set(bodies.map((b) => b.model.version));
    expect(writes.puts.length).toBe(2 * versions.size);
    const log = await logOf(id);
    const current = await publishedWeights(id);
    expect(current.manifest.version).toBe(Math.max(...versions));
    expectSameWeights(current.model, replay(tinyModel(), log));
  });

  it("a learn arriving while a publish is in flight schedules the next publish a full interval after it", async () => {
    const id = "burst-overlap";
    await seedTinyModel(env.MODELS, id);
    const writes = await countKvWrites(id, {}, 200);
    await learn(id, sentence(1));
    const started = Date.now();
    const publishing = publishNow(id);
    while (writes.puts.length === 0) await sleep(5); // the publish now waits on its slowed blob put
    const during = await learn(id, sentence(2));
    expect(((await during.json()) as { model: unknown }).model).toEqual({ id, version: 3, published: false });
    await publishing;
    expect(writes.puts).toEqual([`model:${id}:weights:v2`, `model:${id}:manifest`]);
    const alarm = await runInDurableObject(writer(id), (_, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(started + runtimeConfig(env).publishIntervalMs);
  });
});
