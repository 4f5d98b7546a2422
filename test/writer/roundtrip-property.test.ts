/**
 * The file format's promise, as a property: any file encodeModel writes, from any model the
 * decoder accepts (weights, learned words, phrase memory, anchor, counts up to MAX_COUNT, F32 or
 * F16), imports; its export decodes equal to it; after a learn, a publish and a restart, the
 * export decodes equal to the writer's weights, with the counters carried; and imports again.
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_COUNT } from "../../src/model/count.ts";
import { baseClasses, type RnnLm, rnnLm } from "../../src/model/model.ts";
import { withLearnedCount, withWordSlots } from "../../src/model/new-words.ts";
import { PhraseMemory } from "../../src/model/phrase-memory.ts";
import { vocabHash } from "../../src/model/vocab.ts";
import { WORD_SLOTS } from "../../src/model/word-slots.ts";
import { decodeModel, encodeModel, type ModelMeta, type WeightDtype } from "../../src/store/model-codec.ts";
import { authed, call } from "../helpers/api.ts";
import { seedTinyModel, tinyModel, tinyVocab, WORDS } from "../helpers/tiny-model.ts";
import { expectSameWeights, learnOk, publishedWeights, publishNow, writer } from "./support.ts";

interface Spec {
  seed: number;
  dtype: WeightDtype;
  anchorSeed: number | null;
  learned: { words: string[]; capacity: number; clock: number; uses: number[]; lastUse: number[] } | null;
  memory: number[][];
  learns: number;
  tokensLearned: number;
  hyperparameters: Record<string, number>;
}

const count = fc.oneof(
  fc.integer({ min: 0, max: 1000 }),
  fc.constant(MAX_COUNT),
  fc.integer({ min: 0, max: MAX_COUNT }),
);
const newWord = fc.stringMatching(/^[a-z]{1,12}$/).map((w) => `zq${w}`);

const specs: fc.Arbitrary<Spec> = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  dtype: fc.constantFrom<WeightDtype>("F32", "F16"),
  anchorSeed: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: null }),
  learned: fc.option(
    fc.uniqueArray(newWord, { maxLength: 6 }).chain((words) =>
      fc.record({
        words: fc.constant(words),
        capacity: fc.integer({ min: Math.max(1, words.length), max: WORD_SLOTS }),
        clock: count,
        uses: fc.array(count, { minLength: words.length, maxLength: words.length }),
        lastUse: fc.array(count, { minLength: words.length, maxLength: words.length }),
      }),
    ),
    { nil: null },
  ),
  // Ids are taken modulo the vocabulary, learned words included.
  memory: fc.array(fc.array(fc.nat(), { minLength: 2, maxLength: 66 }), { maxLength: 5 }),
  learns: count,
  tokensLearned: count,
  hyperparameters: fc.dictionary(
    fc.constantFrom("lr", "hidden", "seed", "epochs"),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
  ),
});

/** The model a spec describes, built the way the writer builds one. */
function modelOf(spec: Spec): RnnLm {
  let m = tinyModel(spec.seed);
  if (spec.learned) {
    const { words, capacity, clock, uses, lastUse } = spec.learned;
    m = withWordSlots(m, capacity);
    if (!m.learned) throw new Error("no slots");
    m.learned.words.push(...words);
    m.learned.uses.push(...uses);
    m.learned.lastUse.push(...lastUse);
    // Who taught each (src/trust/subject.ts): some words one subject's, some shared.
    m.learned.teachers.push(...uses.map((u) => Math.min(u, 2)));
    m.learned.firstBy.push(...uses.map((u, i) => (u % 2 === 0 ? 0 : (u * 2654435761 + i) | 0)));
    m.learned.clock = clock;
    m = withLearnedCount(m, words.length);
  }
  let memory: PhraseMemory | undefined;
  if (spec.memory.length > 0) {
    memory = new PhraseMemory();
    for (const s of spec.memory) memory.add(s.map((id) => id % m.vocab));
  }
  m = rnnLm({ ...m, memory });
  if (spec.anchorSeed !== null) {
    const other = tinyModel(spec.anchorSeed);
    const C = other.output.kind === "class" ? other.output.C.slice(0, baseClasses(m) * m.hidden) : new Float32Array(0);
    m.anchor = { W: other.W.slice(), C };
  }
  return m;
}

function fileOf(spec: Spec): Uint8Array {
  const now = "2026-01-01T00:00:00.000Z";
  const meta: ModelMeta = {
    version: 7,
    vocabHash: vocabHash(tinyVocab()),
    createdAt: now,
    updatedAt: now,
    learns: spec.learns,
    tokensLearned: spec.tokensLearned,
    hyperparameters: spec.hyperparameters,
  };
  return encodeModel(modelOf(spec), meta, { dtype: spec.dtype });
}

/** Everything of a decoded model beyond its weight tensors. */
function extras(m: RnnLm) {
  return {
    learned: m.learned ?? null,
    memory: m.memory?.sentences().map((s) => Array.from(s)) ?? [],
    anchor: m.anchor ?? null,
  };
}

const put = (id: string, body: Uint8Array | ArrayBuffer) =>
  call(
    `/models/${id}/model/weights`,
    authed({ method: "PUT", headers: { "content-type": "application/octet-stream" }, body }),
  );

let run = 0;

describe("any file encodeModel writes round-trips through import, learn, publish, restart and export", () => {
  it("holds for random models (fast-check)", { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(specs, async (spec) => {
        const id = `roundtrip-${run++}`;
        await seedTinyModel(env.MODELS, id);
        const file = fileOf(spec);
        const sent = decodeModel(file.slice());

        const imported = await put(id, file);
        expect(imported.status, await imported.clone().text()).toBe(200);
        const first = decodeModel((await publishedWeights(id)).bytes);
        expectSameWeights(first.model, sent.model);
        // A model that learns has slots for new words: a file without them gets empty ones.
        const slots = {
          base: sent.model.vocab,
          capacity: WORD_SLOTS,
          clock: 0,
          words: [],
          uses: [],
          lastUse: [],
          teachers: [],
          firstBy: [],
        };
        expect(extras(first.model)).toEqual({ ...extras(sent.model), learned: sent.model.learned ?? slots });
        expect(first.meta).toMatchObject({
          learns: spec.learns,
          tokensLearned: spec.tokensLearned,
          hyperparameters: sent.meta.hyperparameters,
        });

        await learnOk(id, `${WORDS[spec.seed % WORDS.length]} the ${spec.learned?.words[0] ?? "cat"} sat`);
        expect(await publishNow(id)).toBe(true);
        await abortAllDurableObjects();
        expect((await call(`/models/${id}/predict?prefix=the&fresh=1`)).status).toBe(200);
        const exported = await publishedWeights(id);
        const after = decodeModel(exported.bytes.slice(0));
        expect(after.meta.learns).toBe(Math.min(MAX_COUNT, spec.learns + 1));
        expect(after.meta.tokensLearned).toBe(Math.min(MAX_COUNT, spec.tokensLearned + 4));
        // The writer, reloaded from the published file, holds exactly what the file decodes to.
        const held = await runInDurableObject(writer(id), (instance) => {
          const m = (instance as unknown as { held: { tm: { model: RnnLm } } | null }).held?.tm.model;
          if (!m) throw new Error("writer not loaded");
          return { learned: m.learned ?? null, memory: m.memory?.sentences().map((s) => Array.from(s)) ?? [] };
        });
        expect(held).toEqual({ learned: after.model.learned ?? null, memory: extras(after.model).memory });
        expect((await put(id, exported.bytes)).status).toBe(200);
      }),
      { numRuns: 10 },
    );
  });
});
