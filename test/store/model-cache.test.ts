import { describe, expect, it } from "vitest";
import { footprintBytes } from "../../src/model/model.ts";
import { PhraseMemory } from "../../src/model/phrase-memory.ts";
import { vocabHash, type Vocab } from "../../src/model/vocab.ts";
import { manifestKey, publishVersion, readManifest } from "../../src/store/kv-layout.ts";
import { encodeModel, ModelFormatError } from "../../src/store/model-codec.ts";
import { isolateCache, loadModel, ModelCache, type LoadResult } from "../../src/store/model-cache.ts";
import { kv, randomModel, recordingKv, sampleMeta, testVocab } from "./fixtures.ts";

let nextId = 0;
const freshId = () => `cachetest${nextId++}`;

const vocab = testVocab(10);

/** Publishes a random model as `version` of `id`; returns its U for comparison. */
async function publish(id: string, version: number, v: Vocab = vocab, seed = version): Promise<Float32Array> {
  const model = randomModel({ vocab: v.words.length, hidden: 4, classes: 2, seed });
  const h = vocabHash(v);
  const bytes = encodeModel(model, sampleMeta({ version, vocabHash: h }));
  const now = new Date().toISOString();
  await publishVersion(
    kv,
    id,
    bytes,
    { version, vocabHash: h, createdAt: now, updatedAt: now, tokensLearned: 0, learns: 0 },
    { vocab: v },
  );
  return model.U;
}

function ready(r: LoadResult) {
  if (r.status !== "ready") throw new Error(`expected a model, got ${r.status}`);
  return r;
}

/** A cache with a hand-driven clock and a KV that records every operation. */
function setup(opts: { manifestTtlMs?: number; maxModels?: number; maxBytes?: number } = {}) {
  const clock = { t: 0 };
  const rec = recordingKv(kv);
  const cache = new ModelCache({ manifestTtlMs: 1000, ...opts, now: () => clock.t });
  const gets = () => rec.log.filter((o) => o.op === "get").map((o) => o.key);
  return { cache, clock, kv: rec.kv, gets };
}

describe("ModelCache", () => {
  it("answers 'missing' (not an exception) when there is no manifest", async () => {
    const { cache } = setup();
    const id = freshId();
    expect(await cache.load(kv, id)).toEqual({ status: "missing", id });
  });

  it("a cold load reads manifest, weights and vocabulary and parses once", async () => {
    const id = freshId();
    const U = await publish(id, 1);
    const { cache, kv: rkv, gets } = setup();
    const r = ready(await cache.load(rkv, id));
    expect(r.manifest.version).toBe(1);
    expect(r.meta.version).toBe(1);
    expect(r.vocab.words).toEqual(vocab.words);
    expect(Array.from(r.model.U)).toEqual(Array.from(U));
    expect(r.manifest).toEqual(await readManifest(kv, id));
    expect(gets().sort()).toEqual([manifestKey(id), `model:${id}:weights:v1`, `vocab:${vocabHash(vocab)}`].sort());
    expect(cache.stats).toMatchObject({ manifestReads: 1, weightsReads: 1, vocabReads: 1, parses: 1 });
  });

  it("a warm load neither re-reads nor re-parses the blob", async () => {
    const id = freshId();
    await publish(id, 1);
    const { cache, clock, kv: rkv, gets } = setup();
    const first = ready(await cache.load(rkv, id));

    clock.t = 500; // within the manifest TTL: no KV read at all
    const second = ready(await cache.load(rkv, id));
    expect(second.model).toBe(first.model);
    expect(gets()).toHaveLength(3);
    expect(cache.stats.ttlHits).toBe(1);

    clock.t = 1500; // TTL over: only the manifest is read again
    const third = ready(await cache.load(rkv, id));
    expect(third.model).toBe(first.model);
    expect(gets().slice(3)).toEqual([manifestKey(id)]);
    expect(cache.stats).toMatchObject({ manifestReads: 2, versionHits: 1, weightsReads: 1, vocabReads: 1, parses: 1 });
  });

  it("a new version refreshes the weights and reuses the unchanged vocabulary", async () => {
    const id = freshId();
    await publish(id, 1);
    const { cache, clock, kv: rkv, gets } = setup();
    const v1 = ready(await cache.load(rkv, id));
    const U2 = await publish(id, 2);

    clock.t = 100; // within the TTL the published version is not seen yet
    expect(ready(await cache.load(rkv, id)).manifest.version).toBe(1);

    clock.t = 2000;
    const v2 = ready(await cache.load(rkv, id));
    expect(v2.manifest.version).toBe(2);
    expect(Array.from(v2.model.U)).toEqual(Array.from(U2));
    expect(v2.model).not.toBe(v1.model);
    expect(v2.vocab).toBe(v1.vocab);
    expect(gets().slice(3)).toEqual([manifestKey(id), `model:${id}:weights:v2`]);
    expect(cache.stats).toMatchObject({ weightsReads: 2, vocabReads: 1, parses: 2 });
  });

  it("reads the vocabulary again when the new version uses another one", async () => {
    const id = freshId();
    await publish(id, 1);
    const { cache, kv: rkv } = setup({ manifestTtlMs: 0 });
    await cache.load(rkv, id);
    const other = testVocab(12, "z");
    await publish(id, 2, other);
    const r = ready(await cache.load(rkv, id));
    expect(r.vocab.words).toEqual(other.words);
    expect(r.model.vocab).toBe(12);
    expect(cache.stats.vocabReads).toBe(2);
  });

  it("concurrent cold loads share one read and one parse", async () => {
    const id = freshId();
    await publish(id, 1);
    const { cache, kv: rkv } = setup();
    const results = await Promise.all([cache.load(rkv, id), cache.load(rkv, id), cache.load(rkv, id)]);
    expect(new Set(results.map((r) => ready(r).model)).size).toBe(1);
    expect(cache.stats).toMatchObject({ weightsReads: 1, parses: 1 });
  });

  it("keeps at most maxModels, evicting the least recently used", async () => {
    const [a, b, c] = [freshId(), freshId(), freshId()];
    for (const id of [a, b, c]) await publish(id, 1);
    const { cache, kv: rkv } = setup({ maxModels: 2, manifestTtlMs: 0 });
    await cache.load(rkv, a);
    await cache.load(rkv, b);
    await cache.load(rkv, a); // a is now the most recently used
    await cache.load(rkv, c); // evicts b
    expect(cache.stats).toMatchObject({ parses: 3, evictions: 1 });
    await cache.load(rkv, a);
    expect(cache.stats.parses).toBe(3);
    await cache.load(rkv, b);
    expect(cache.stats).toMatchObject({ parses: 4, evictions: 2 });
  });

  it("keeps at most maxBytes of parsed models, least recently used evicted first, the latest load always", async () => {
    const [a, b, c] = [freshId(), freshId(), freshId()];
    for (const id of [a, b, c]) await publish(id, 1);
    const one = footprintBytes(ready(await new ModelCache().load(kv, a)).model);
    expect(one).toBeGreaterThan(0);
    const { cache, kv: rkv } = setup({ maxBytes: 2.5 * one, manifestTtlMs: 0 });
    for (const id of [a, b, a, c]) await cache.load(rkv, id); // c evicts b, the least recently used
    expect(cache.stats).toMatchObject({ parses: 3, evictions: 1 });
    await cache.load(rkv, a);
    expect(cache.stats.parses).toBe(3);
    await cache.load(rkv, b);
    expect(cache.stats).toMatchObject({ parses: 4, evictions: 2 });

    // A budget smaller than one model keeps just the latest.
    const small = setup({ maxBytes: one / 2, manifestTtlMs: 0 });
    for (const id of [a, a, b, b]) ready(await small.cache.load(small.kv, id));
    expect(small.cache.stats).toMatchObject({ parses: 2, evictions: 1 });
  });

  it("the byte budget never evicts a model still loading, and a load never waits on another's weights", async () => {
    const [x, a, b] = [freshId(), freshId(), freshId()];
    for (const id of [x, a, b]) await publish(id, 1);
    const one = footprintBytes(ready(await new ModelCache().load(kv, a)).model);
    // x's weights read is held back until release().
    let release = () => {};
    const held = new Promise<void>((r) => (release = r));
    const gated = {
      get: async (key: string, type: "text") => {
        if (key === `model:${x}:weights:v1`) await held;
        return kv.get(key, type);
      },
    } as unknown as KVNamespace;
    const { cache } = setup({ maxBytes: 1.5 * one, manifestTtlMs: 0 });
    const loadingX = cache.load(gated, x);
    // a and b share x's vocabulary: they load without waiting for x, and b's size evicts a only.
    ready(await cache.load(gated, a));
    ready(await cache.load(gated, b));
    expect(cache.stats).toMatchObject({ parses: 2, evictions: 1 });
    release();
    ready(await loadingX);
    ready(await cache.load(gated, x));
    expect(cache.stats.parses).toBe(3);
  });

  it("a model's phrase memory counts toward its size", () => {
    const m = randomModel({ vocab: 10, hidden: 4, seed: 1 });
    const memory = new PhraseMemory();
    for (let i = 0; i < 50; i++) memory.add([0, 3 + (i % 7), 4, 5 + (i % 5), 6, 1]);
    expect(footprintBytes({ ...m, memory })).toBeGreaterThan(footprintBytes(m) + 50 * 6 * 4);
  });

  it("rejects a corrupt blob, does not cache the failure, and recovers on the next version", async () => {
    const id = freshId();
    await publish(id, 1);
    const m = (await readManifest(kv, id))!;
    const corrupt = encodeModel(randomModel({ vocab: 10, hidden: 4 }), sampleMeta({ vocabHash: vocabHash(vocab) }));
    new DataView(corrupt.buffer).setFloat32(corrupt.length - 4, NaN, true);
    await publishVersion(kv, id, corrupt, { ...m, version: 2 });

    const { cache, kv: rkv } = setup({ manifestTtlMs: 0 });
    await expect(cache.load(rkv, id)).rejects.toBeInstanceOf(ModelFormatError);
    await expect(cache.load(rkv, id)).rejects.toThrow(/not finite/);
    expect(cache.stats.parses).toBe(2);

    await publish(id, 3);
    expect(ready(await cache.load(rkv, id)).manifest.version).toBe(3);
  });

  it("reports 'missing' again once the manifest is gone", async () => {
    const id = freshId();
    await publish(id, 1);
    const { cache, kv: rkv } = setup({ manifestTtlMs: 0 });
    ready(await cache.load(rkv, id));
    await kv.delete(manifestKey(id));
    expect((await cache.load(rkv, id)).status).toBe("missing");
  });

  it("loadModel uses the isolate-wide cache", async () => {
    const id = freshId();
    await publish(id, 1);
    const before = isolateCache.stats.parses;
    const r = ready(await loadModel(kv, id));
    expect(ready(await loadModel(kv, id)).model).toBe(r.model);
    expect(isolateCache.stats.parses).toBe(before + 1);
  });
});
