import { env } from "cloudflare:workers";
import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { seedTinyModel, tinyModel } from "../helpers/tiny-model.ts";
import { json } from "../helpers/api.ts";
import { readManifest } from "../../src/store/kv-layout.ts";
import {
  expectSameWeights,
  learn,
  learnOk,
  logOf,
  publishedWeights,
  publishNow,
  replay,
  sentence,
  status,
  writer,
} from "./support.ts";

/** Sends each sentence, concurrently; `acked` resolves to those acknowledged with 200. */
function stream(id: string, sentences: string[]): { first: Promise<unknown>; acked: Promise<string[]> } {
  const sends = sentences.map((s) =>
    learn(id, s).then(
      (r) => (r.status === 200 ? s : null),
      () => null,
    ),
  );
  return { first: Promise.race(sends), acked: Promise.all(sends).then((r) => r.filter((s) => s !== null)) };
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => sentence(from + i));

describe("a Durable Object reset", () => {
  it("in the middle of a stream loses no acknowledged learn: the log replays onto the last published version", async () => {
    const id = "reset";
    await seedTinyModel(env.MODELS, id);
    const acked: string[] = [];
    for (const s of range(0, 10)) acked.push((await learnOk(id, s), s));
    expect(await publishNow(id)).toBe(true); // version 2 holds seq 1..10
    for (const s of range(10, 20)) acked.push((await learnOk(id, s), s));

    // Reset while a wave of learns is in flight: some may fail (not acknowledged), none acknowledged may vanish.
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined); // the Worker logs each failed call
    const wave = stream(id, range(20, 60));
    await wave.first;
    await abortAllDurableObjects();
    const survivors = await wave.acked;
    errors.mockRestore();
    expect(survivors.length, "the reset hit learns in flight").toBeLessThan(40);
    acked.push(...survivors);
    acked.push(...(await stream(id, range(60, 70)).acked));

    const log = await logOf(id);
    const logged = new Set(log.map((e) => e.sentence));
    expect(acked.filter((s) => !logged.has(s))).toEqual([]);
    expect(await status(id)).toMatchObject({ learns: log.length, lastSeq: log.length, version: 2, publishedSeq: 10 });

    // The restarted writer holds v2 + replayed tail: publishing it gives the serial replay of the whole log.
    expect(await publishNow(id)).toBe(true);
    const published = await publishedWeights(id);
    expect(published.manifest).toMatchObject({ version: 3, learns: log.length });
    expectSameWeights(published.model, replay(tinyModel(), log));
  });

  it("refuses to restart on weights of the wrong size in KV (503), and loses nothing: restored, it replays its log", async () => {
    const id = "short-blob";
    await seedTinyModel(env.MODELS, id);
    for (const s of range(0, 3)) await learnOk(id, s);
    expect(await publishNow(id)).toBe(true);
    await learnOk(id, sentence(3));
    const { weightsKey } = (await readManifest(env.MODELS, id))!;
    const good = (await env.MODELS.get(weightsKey, "arrayBuffer"))!;
    await env.MODELS.put(weightsKey, good.slice(0, good.byteLength - 4));
    await evictDurableObject(writer(id));

    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const r = await json<{ error: { code: string } }>(`/models/${id}/predict?prefix=the&fresh=1`);
    const logged = errors.mock.calls.map((c) => String(c[0]));
    errors.mockRestore();
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("model_unavailable");
    // The writer checks the size its version row recorded before decoding anything.
    expect(logged.some((line) => line.includes("writer_failed") && line.includes("manifest says"))).toBe(true);

    await env.MODELS.put(weightsKey, good);
    expect(await status(id)).toMatchObject({ learns: 4, version: 2, publishedSeq: 3 });
    expect(await publishNow(id)).toBe(true);
    expectSameWeights((await publishedWeights(id)).model, replay(tinyModel(), await logOf(id)));
  });

  it("between a learn and its alarm still publishes the learn: the new instance reloads and replays", async () => {
    const id = "evicted";
    await seedTinyModel(env.MODELS, id);
    for (const s of range(0, 5)) await learnOk(id, s);
    const before = await json<{ predictions: unknown }>(`/models/${id}/predict?prefix=the&fresh=1`);
    await evictDurableObject(writer(id));

    // fresh=1 from the new instance: the same weights, rebuilt from v1 and the log.
    const after = await json<{ predictions: unknown }>(`/models/${id}/predict?prefix=the&fresh=1`);
    expect(after.body.predictions).toEqual(before.body.predictions);
    await evictDurableObject(writer(id));
    expect(await publishNow(id)).toBe(true); // the alarm runs in yet another new instance
    const log = await logOf(id);
    expect(log).toHaveLength(5);
    const published = await publishedWeights(id);
    expect(published.manifest).toMatchObject({ version: 2, learns: 5 });
    expectSameWeights(published.model, replay(tinyModel(), log));
  });

  it("after a crash that left a logged learn without its alarm, the reloading writer sets the alarm again", async () => {
    const id = "no-alarm";
    await seedTinyModel(env.MODELS, id);
    await learnOk(id, sentence(1));
    await runInDurableObject(writer(id), (_, state) => state.storage.deleteAlarm());
    await abortAllDurableObjects();
    expect(await status(id)).toMatchObject({ lastSeq: 1, publishedSeq: 0 }); // reloads
    expect(await runInDurableObject(writer(id), (_, state) => state.storage.getAlarm())).not.toBeNull();
    expect(await publishNow(id)).toBe(true);
    expect((await publishedWeights(id)).manifest).toMatchObject({ version: 2, learns: 1 });
  });
});
