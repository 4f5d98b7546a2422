import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/config.ts";
import { RnnScorer } from "../../src/eval/rnn-scorer.ts";
import { cloneModel, initModel } from "../../src/model/init.ts";
import { learnSentence, predictNext, Workspace } from "../../src/model/lm.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { resetLearnedWord, withLearnedCount, withWordSlots } from "../../src/model/new-words.ts";
import {
  MEMORY_CONTEXT,
  MEMORY_DISCOUNT,
  MEMORY_MAX_SENTENCE_IDS,
  MEMORY_SENTENCES,
  mixed,
  PhraseMemory,
  RECALL_LIMIT,
  type Recollection,
} from "../../src/model/phrase-memory.ts";
import { seededRng } from "../../src/model/rng.ts";
import { BOS, EOS, isSuggestible, UNK } from "../../src/model/vocab.ts";
import { decodeModel, encodeModel, ModelFormatError } from "../../src/store/model-codec.ts";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../../src/store/safetensors.ts";
import { rivalsIn } from "../helpers/rivals.ts";
import { tinyModel } from "../helpers/tiny-model.ts";
import { sampleMeta } from "../store/fixtures.ts";

const OPTS = { lr: 0.05, truncate: 4, steps: 1, clipNorm: 5, maxStepNorm: 1 };
const S1 = [BOS, 5, 9, 12, 7, 20, 3, EOS];
const S2 = [BOS, 5, 9, 12, 8, 21, EOS];

function memoryOf(...sentences: number[][]): PhraseMemory {
  const memory = new PhraseMemory();
  for (const s of sentences) memory.add(s);
  return memory;
}

/** The network's own P(· | ids) over the vocabulary, from a copy without the memory. */
function networkDistribution(m: RnnLm, ids: readonly number[]): number[] {
  const scorer = new RnnScorer({ ...m, memory: undefined });
  for (const id of ids.slice(1)) scorer.advance(id);
  return Array.from({ length: m.vocab }, (_, w) => scorer.prob(w));
}

/** P(· | ids) mixed with the memory, term by term as phrase-memory.ts defines it. */
function mixedDistribution(m: RnnLm, ids: readonly number[]): number[] {
  const r = m.memory?.recollect(ids, ids.length) ?? null;
  return networkDistribution(m, ids).map((p, w) => mixed(p, w, r));
}

/** r is the recollection of backoff d · n / c and these (token, (count - d) / c) boosts. */
function expectRecollection(r: Recollection | null, total: number, counts: [number, number][]): void {
  const d = MEMORY_DISCOUNT;
  expect(r?.backoff).toBeCloseTo((d * counts.length) / total, 15);
  expect([...(r?.boosts.keys() ?? [])].sort((a, b) => a - b)).toEqual(counts.map(([w]) => w).sort((a, b) => a - b));
  for (const [w, c] of counts) expect(r?.boosts.get(w)).toBeCloseTo((c - d) / total, 15);
}

describe("PhraseMemory", () => {
  it("recalls what followed a context: (c(h, w) - d) / c(h) each, d · n(h) / c(h) backing off", () => {
    expect(MEMORY_DISCOUNT).toBeGreaterThan(0);
    expect(MEMORY_DISCOUNT).toBeLessThanOrEqual(1);
    const once = memoryOf(S1);
    for (let end = 0; end < MEMORY_CONTEXT; end++) expect(once.recollect(S1, end), `end ${end}`).toBeNull();
    expectRecollection(once.recollect(S1, MEMORY_CONTEXT), 1, [[S1[MEMORY_CONTEXT], 1]]);

    // Context [<s>, 5, 9]: followed by 12 three times (S1 twice, S2 once). Context [5, 9, 12]:
    // by 7 twice and 8 once.
    const three = memoryOf(S1, S1, S2);
    expectRecollection(three.recollect(S2, 3), 3, [[12, 3]]);
    expectRecollection(three.recollect(S2, 4), 3, [
      [7, 2],
      [8, 1],
    ]);
    expectRecollection(three.recollect(S1, 5), 2, [[20, 2]]);
    // A context the memory never saw.
    expect(three.recollect([BOS, 1, 2, 3], 4)).toBeNull();
  });

  it("mixes to a distribution: the boosts and the backoff's share add up to 1", () => {
    const memory = memoryOf(S1, S1, S2, S2, S2, [BOS, 5, 9, 12, 30, EOS]);
    const r = memory.recollect(S2, 4);
    expectRecollection(r, 6, [
      [7, 2],
      [8, 3],
      [30, 1],
    ]);
    expect((r?.backoff ?? 0) + [...(r?.boosts.values() ?? [])].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 15);
  });

  it(`holds the last ${MEMORY_SENTENCES} sentences: the oldest leaves with its counts`, () => {
    const memory = memoryOf(S1, S1);
    const other = [BOS, 40, 41, 42, 43, EOS];
    for (let i = 0; i < MEMORY_SENTENCES - 2; i++) memory.add(other);
    expect(memory.sentences().length).toBe(MEMORY_SENTENCES);
    expectRecollection(memory.recollect(S1, MEMORY_CONTEXT), 2, [[S1[MEMORY_CONTEXT], 2]]);
    memory.add(other);
    expect(memory.sentences().length).toBe(MEMORY_SENTENCES);
    // One S1 left; the counts match a memory built from what is held.
    expectRecollection(memory.recollect(S1, MEMORY_CONTEXT), 1, [[S1[MEMORY_CONTEXT], 1]]);
    const rebuilt = memoryOf(...memory.sentences().map((s) => Array.from(s)));
    for (const ids of [S1, other])
      for (let end = 0; end <= ids.length; end++)
        expect(memory.recollect(ids, end)).toEqual(rebuilt.recollect(ids, end));
  });

  it("refuses a sentence longer than a model file may store", () => {
    expect(MEMORY_MAX_SENTENCE_IDS).toBe(LIMITS.maxSentenceTokens + 2);
    expect(() => new PhraseMemory().add(new Array(MEMORY_MAX_SENTENCE_IDS + 1).fill(5))).toThrow();
  });

  it("forgets a token as <unk>, in every sentence that held it", () => {
    const memory = memoryOf(S1, S1, S2);
    memory.forget(12);
    expect(memory.sentences().map((s) => Array.from(s))).toEqual(
      [S1, S1, S2].map((s) => s.map((id) => (id === 12 ? UNK : id))),
    );
    expectRecollection(memory.recollect(S2, 3), 3, [[UNK, 3]]);
    expect(memory.recollect(S1, 4)).toBeNull();
    expectRecollection(memory.recollect([5, 9, UNK], 3), 3, [
      [7, 2],
      [8, 1],
    ]);
  });

  it("after forgetting, recalls exactly what a memory of the <unk>-rewritten sentences recalls", () => {
    const rng = seededRng(7);
    // Token 6 anywhere: first, last, twice in a row, three apart, in every fourth sentence or so.
    const sentences = Array.from({ length: 40 }, () => [
      BOS,
      ...Array.from({ length: 2 + Math.floor(rng() * 12) }, () => (rng() < 0.2 ? 6 : 3 + Math.floor(rng() * 5))),
      EOS,
    ]);
    const memory = memoryOf(...sentences);
    memory.forget(6);
    const rewritten = sentences.map((s) => s.map((id) => (id === 6 ? UNK : id)));
    const rebuilt = memoryOf(...rewritten);
    for (const ids of rewritten)
      for (let end = 0; end <= ids.length; end++)
        expect(memory.recollect(ids, end)).toEqual(rebuilt.recollect(ids, end));
    // And its size.
    expect(memory.footprintBytes()).toBe(rebuilt.footprintBytes());
    // Its counts stay right as the rewritten sentences leave, oldest first.
    for (let i = 0; i < MEMORY_SENTENCES - 10; i++) for (const m of [memory, rebuilt]) m.add([BOS, 3, 4, 6, 7, EOS]);
    for (const ids of rewritten)
      for (let end = 0; end <= ids.length; end++)
        expect(memory.recollect(ids, end)).toEqual(rebuilt.recollect(ids, end));
  });

  it("recalls what brute-force counting over its sentences recalls, through growth, wrap-around and forgetting", () => {
    const rng = seededRng(13);
    const memory = new PhraseMemory();
    const kept: number[][] = [];
    // Few distinct tokens, so contexts repeat and chains are long; lengths up to the most a sentence holds.
    const token = () => 3 + Math.floor(rng() * 6);
    for (let step = 0; step < 3 * MEMORY_SENTENCES; step++) {
      if (step % 150 === 149) {
        const id = token();
        memory.forget(id);
        for (const s of kept) for (let t = 0; t < s.length; t++) if (s[t] === id) s[t] = UNK;
      } else {
        const length = rng() < 0.05 ? MEMORY_MAX_SENTENCE_IDS - 2 : 1 + Math.floor(rng() * 10);
        const s = [BOS, ...Array.from({ length }, token), EOS];
        memory.add(s);
        kept.push(s);
        if (kept.length > MEMORY_SENTENCES) kept.shift();
      }
      if (step % 97 !== 0) continue;
      expect(memory.sentences().map((s) => Array.from(s))).toEqual(kept);
      for (let probe = 0; probe < 20; probe++) {
        const context = [token(), rng() < 0.2 ? UNK : token(), token()];
        const counts = new Map<number, number>();
        for (const s of kept) {
          for (let t = MEMORY_CONTEXT; t < s.length; t++) {
            if (s[t - 3] === context[0] && s[t - 2] === context[1] && s[t - 1] === context[2])
              counts.set(s[t], (counts.get(s[t]) ?? 0) + 1);
          }
        }
        const total = [...counts.values()].reduce((a, b) => a + b, 0);
        const r = memory.recollect(context, 3);
        if (total === 0) expect(r).toBeNull();
        else expectRecollection(r, total, [...counts.entries()]);
      }
    }
  });

  it(`counts a context over its newest ${RECALL_LIMIT} positions at most`, () => {
    const memory = memoryOf(
      ...Array.from({ length: MEMORY_SENTENCES }, () => [BOS, ...new Array(MEMORY_MAX_SENTENCE_IDS - 2).fill(5), EOS]),
    );
    // Each sentence holds 62 positions after 5 5 5 (61 5s and </s>), newest first: 66 sentences
    // and 4 positions of the one before (its </s> and three 5s) make 4,096 = 62 · 66 + 4.
    expectRecollection(memory.recollect([5, 5, 5], 3), RECALL_LIMIT, [
      [EOS, 67],
      [5, 61 * 66 + 3],
    ]);
    // A newer sentence's 7 comes first and pushes the oldest counted 5 out.
    memory.add([BOS, 5, 5, 5, 7, EOS]);
    expectRecollection(memory.recollect([5, 5, 5], 3), RECALL_LIMIT, [
      [7, 1],
      [EOS, 67],
      [5, 61 * 66 + 2],
    ]);
  });

  it("clones into a memory that shares nothing", () => {
    const memory = memoryOf(S1, S1);
    const copy = memory.clone();
    copy.add(S2);
    copy.forget(7);
    expect(memory.sentences().map((s) => Array.from(s))).toEqual([S1, S1]);
    expectRecollection(memory.recollect(S1, 4), 2, [[7, 2]]);
  });
});

describe("a learn remembers its sentence", () => {
  it("with `remember`, once every step was applied; not without it, nor when a step is refused", () => {
    const m = tinyModel();
    learnSentence(m, S1, OPTS, new Workspace(m, 16));
    expect(m.memory).toBeUndefined();
    learnSentence(m, S1, { ...OPTS, remember: true }, new Workspace(m, 16));
    expect(m.memory?.sentences().map((s) => Array.from(s))).toEqual([S1]);

    const refused = cloneModel(m);
    refused.W[0] = NaN; // every gradient is non-finite: the step is refused
    learnSentence(refused, S2, { ...OPTS, remember: true }, new Workspace(refused, 16));
    expect(refused.memory?.sentences().map((s) => Array.from(s))).toEqual([S1]);
  });

  it("a learned word's slot given to another word leaves the old word's phrases as <unk>", () => {
    const base = tinyModel().vocab;
    const m = withLearnedCount(withWordSlots(tinyModel(), 4), 1);
    m.learned?.words.push("zorp");
    m.learned?.uses.push(2);
    m.learned?.lastUse.push(1);
    const ids = [BOS, 5, 9, base, 7, EOS];
    learnSentence(m, ids, { ...OPTS, remember: true }, new Workspace(m, 16));
    expect(Array.from(m.memory?.sentences()[0] ?? [])).toEqual(ids);
    // Eviction gives the slot to another word through resetLearnedWord (src/model/word-slots.ts).
    resetLearnedWord(m, base);
    expect(Array.from(m.memory?.sentences()[0] ?? [])).toEqual([BOS, 5, 9, UNK, 7, EOS]);
  });
});

describe.each(["class", "full"] as const)("predictions with a phrase memory, %s output", (output) => {
  function model(): RnnLm {
    const m = output === "class" ? tinyModel(3) : { ...tinyModel(3), output: { kind: "full" as const } };
    for (const s of [S1, S1, S2, S2, S2, [BOS, 5, 9, 12, 30, EOS], S1])
      learnSentence(m, s, { ...OPTS, remember: true }, new Workspace(m, 16));
    return m;
  }
  const prefixes = [
    S1.slice(0, 1),
    S1.slice(0, 3),
    S1.slice(0, 4),
    S2.slice(0, 4),
    S1.slice(0, 5),
    S1.slice(0, 7),
    [BOS, 1, 2, 3],
  ];

  it("predictNext returns the mixture's exact top k, probabilities included", () => {
    const m = model();
    const ws = new Workspace(m, 16);
    for (const prefix of prefixes) {
      const p = mixedDistribution(m, prefix);
      const best = p
        .map((q, id) => ({ id, q }))
        .filter(({ id }) => isSuggestible(id))
        .sort((a, b) => b.q - a.q || a.id - b.id);
      for (const k of [1, 3, 10]) {
        const top = predictNext(m, prefix, k, isSuggestible, ws);
        expect(
          top.map((e) => e.id),
          `prefix ${prefix} k ${k}`,
        ).toEqual(best.slice(0, k).map((e) => e.id));
        for (const [i, e] of top.entries()) expect(e.p).toBeCloseTo(best[i].q, 12);
      }
    }
  });

  it("a phrase learned twice is the first suggestion from its fourth token on", () => {
    const m = output === "class" ? tinyModel(4) : { ...tinyModel(4), output: { kind: "full" as const } };
    for (const s of [S1, [BOS, 40, 41, 42, 43, EOS], S1])
      learnSentence(m, s, { ...OPTS, remember: true }, new Workspace(m, 16));
    const ws = new Workspace(m, 16);
    for (let t = MEMORY_CONTEXT; t < S1.length; t++) {
      const next = predictNext(m, S1.slice(0, t), 1, (w) => w !== UNK, ws)[0];
      expect(next.id, `after ${S1.slice(0, t)}`).toBe(S1[t]);
    }
  });

  it("RnnScorer's probabilities are the mixture's, sum to 1, and rank every id exactly", () => {
    const m = model();
    const scorer = new RnnScorer(m);
    for (const prefix of prefixes) {
      scorer.startSentence();
      for (const id of prefix.slice(1)) scorer.advance(id);
      const p = mixedDistribution(m, prefix);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (let id = 0; id < m.vocab; id++) {
        expect(scorer.prob(id)).toBeCloseTo(p[id], 14);
        const rivals = rivalsIn(p, id, m.vocab);
        expect(scorer.rivals(id, m.vocab), `prefix ${prefix} id ${id}`).toBe(rivals);
        expect(Math.min(scorer.rivals(id, 3), 3)).toBe(Math.min(rivals, 3));
      }
    }
  });

  it("counts a word whose output ties the target's as its rival, whatever the memory's backoff", () => {
    // No direct weights, so two words with one output row (in one class) tie exactly.
    const base =
      output === "class" ? tinyModel(5, 16, null) : { ...tinyModel(5, 16, null), output: { kind: "full" as const } };
    const [a, b] = [base.vocab - 6, base.vocab - 5];
    if (base.output.kind === "class") expect(base.output.wordClass[a]).toBe(base.output.wordClass[b]);
    base.V.copyWithin(b * base.hidden, a * base.hidden, (a + 1) * base.hidden);
    // Contexts (4 + n, 10 + c, 3) with n distinct followers in c learns: backoffs d · n / c.
    const sentences: number[][] = [];
    const prefixes: number[][] = [];
    for (let n = 1; n <= 4; n++) {
      for (let c = n; c <= n + 5; c++) {
        const prefix = [BOS, 4 + n, 10 + c, 3];
        for (let i = 0; i < c; i++) sentences.push([...prefix, 5 + Math.min(i, n - 1), EOS]);
        prefixes.push(prefix);
      }
    }
    const m = { ...base, memory: memoryOf(...sentences) };
    const scorer = new RnnScorer(m);
    for (const prefix of prefixes) {
      scorer.startSentence();
      for (const id of prefix.slice(1)) scorer.advance(id);
      const p = mixedDistribution(m, prefix);
      expect(p[b]).toBe(p[a]);
      for (const [target, tied] of [
        [a, b],
        [b, a],
      ]) {
        expect(scorer.rivals(target, m.vocab), `prefix ${prefix}`).toBe(rivalsIn(p, target, m.vocab));
        // Exactly the words above the target, and the tied one.
        const above = p.filter((q, w) => w !== target && w !== tied && isSuggestible(w) && q > p[target]).length;
        expect(Math.min(scorer.rivals(target, above + 1), above + 1)).toBe(above + 1);
      }
    }
  });
});

describe("classTopK with a phrase memory", () => {
  it("finds a boosted word in a class too improbable for the network's own search to visit", () => {
    // 30 classes of 10 words, with peaked class scores, so the search prunes most classes.
    const classStart = Int32Array.from({ length: 31 }, (_, c) => c * 10);
    const m = initModel({ vocab: 300, hidden: 16, classStart }, seededRng(7));
    if (m.output.kind !== "class") throw new Error("want class output");
    for (let i = 0; i < m.output.C.length; i++) m.output.C[i] *= 60;
    const prefix = [BOS, 5, 9, 12];
    const network = networkDistribution(m, prefix);
    const classMass = Array.from({ length: 30 }, (_, c) =>
      network.slice(c * 10, c * 10 + 10).reduce((a, b) => a + b, 0),
    );
    const rarest = classMass.indexOf(Math.min(...classMass));
    const w = rarest * 10 + 3;
    // Learned twice after this prefix, w is the memory's best guess there by far: (2 - d) / 2.
    m.memory = memoryOf([...prefix, w, EOS], [...prefix, w, EOS]);
    // Every word of w's class has less mixed probability than the network's third best word:
    // a search by class probability alone stops before it.
    const third = [...network].sort((a, b) => b - a)[2];
    expect(classMass[rarest]).toBeLessThan(third);
    const ws = new Workspace(m, 16);
    const top = predictNext(m, prefix, 3, isSuggestible, ws);
    expect(top[0].id).toBe(w);
    const best = mixedDistribution(m, prefix)
      .map((q, id) => ({ id, q }))
      .filter(({ id }) => isSuggestible(id))
      .sort((a, b) => b.q - a.q);
    expect(top.map((e) => e.id)).toEqual(best.slice(0, 3).map((e) => e.id));
  });
});

describe("the phrase memory in a model file", () => {
  function remembering(): RnnLm {
    const m = tinyModel();
    for (const s of [S1, S2, S1]) learnSentence(m, s, { ...OPTS, remember: true }, new Workspace(m, 16));
    return m;
  }

  it("round-trips, sentence by sentence, and a model without one stores none", () => {
    const m = remembering();
    const bytes = encodeModel(m, sampleMeta());
    expect(Object.keys(decodeSafetensors(bytes.slice()).tensors)).toEqual(
      expect.arrayContaining(["memory_ids", "memory_lengths"]),
    );
    const out = decodeModel(bytes).model;
    expect(out.memory?.sentences().map((s) => Array.from(s))).toEqual([S1, S2, S1]);
    expect(out.memory?.recollect(S1, 5)).toEqual(m.memory?.recollect(S1, 5));

    const plain = encodeModel(tinyModel(), sampleMeta());
    expect(Object.keys(decodeSafetensors(plain).tensors)).not.toContain("memory_ids");
    expect(decodeModel(plain).model.memory).toBeUndefined();
  });

  const i32 = (values: number[]): Tensor => ({ dtype: "I32", shape: [values.length], data: Int32Array.from(values) });
  it.each<[string, (t: Record<string, Tensor>, vocab: number) => void]>([
    ["no lengths", (t) => delete t.memory_lengths],
    ["no ids", (t) => delete t.memory_ids],
    ["lengths that do not add up", (t) => (t.memory_lengths = i32([8, 7, 7]))],
    ["a sentence of one id", (t) => (t.memory_lengths = i32([8, 6, 1, 7]))],
    ["an id outside the vocabulary", (t, v) => (t.memory_ids = i32([...S1, ...S2.slice(0, -1), v, ...S1]))],
    ["a negative id", (t) => (t.memory_ids = i32([...S1, ...S2.slice(0, -1), -1, ...S1]))],
    ["float ids", (t) => (t.memory_ids = { dtype: "F32", shape: [22], data: new Float32Array(22) })],
    [
      `more than ${MEMORY_SENTENCES} sentences`,
      (t) => {
        t.memory_lengths = i32(new Array(MEMORY_SENTENCES + 1).fill(2));
        t.memory_ids = i32(new Array(2 * (MEMORY_SENTENCES + 1)).fill(BOS));
      },
    ],
  ])("refuses a memory with %s", (_, edit) => {
    const m = remembering();
    const { tensors, metadata } = decodeSafetensors(encodeModel(m, sampleMeta()));
    expect(decodeModel(encodeSafetensors(tensors, metadata)).model.memory?.sentences().length).toBe(3);
    edit(tensors, m.vocab);
    expect(() => decodeModel(encodeSafetensors(tensors, metadata))).toThrow(ModelFormatError);
  });
});
