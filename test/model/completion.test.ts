/**
 * Completion (src/model/completion.ts) against brute force: the full distribution over every id,
 * mixed with the phrase memory, filtered by the partial, sorted. Peaky weights, so that classes
 * and their bounds prune.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { completeTopK, completionIndex, isWord } from "../../src/model/completion.ts";
import { initModel } from "../../src/model/init.ts";
import { hiddenAfter, Workspace } from "../../src/model/lm.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { distribution, useHistory } from "../../src/model/output/index.ts";
import { mixed, PhraseMemory } from "../../src/model/phrase-memory.ts";
import { seededRng } from "../../src/model/rng.ts";
import { completeWords, learnWords, type TextModel, textModel } from "../../src/model/text-model.ts";
import { normalise } from "../../src/model/tokenizer.ts";
import { BOS, EOS, isSuggestible, SPECIALS, type Vocab } from "../../src/model/vocab.ts";
import { withWordSlots } from "../../src/model/new-words.ts";
import { isKnown } from "../../src/model/word-slots.ts";

/** Words over a small alphabet, so that many share a prefix; a few punctuation tokens. */
function testWords(n: number, seed: number): string[] {
  const rng = seededRng(seed);
  const words = new Set<string>([",", ".", "--", "1990"]);
  while (words.size < n) {
    const length = 1 + Math.floor(rng() * 5);
    words.add(Array.from({ length }, () => "abcdé"[Math.floor(rng() * 5)]).join(""));
  }
  return [...SPECIALS, ...words];
}

function peakyModel(words: readonly string[], variant: "class" | "full", seed: number, scale = 6, classes = 9): RnnLm {
  const n = words.length;
  const counts = Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 200 / i));
  const classStart = variant === "class" ? assignClasses(counts, classes) : undefined;
  const rng = seededRng(seed);
  const m = initModel({ vocab: n, hidden: 10, classStart, direct: { order: 3, size: 512 } }, rng);
  // Large scores: distributions far from uniform, as a trained model's.
  for (let i = 0; i < m.V.length; i++) m.V[i] *= scale;
  if (m.output.kind === "class") for (let i = 0; i < m.output.C.length; i++) m.output.C[i] *= scale;
  for (let i = 0; i < m.direct!.D.length; i++) m.direct!.D[i] = 3 * (rng() - 0.5);
  return m;
}

/** Every id's probability after ids (mixed with m's memory), and the k best that pass `keep`. */
function bruteForce(
  m: RnnLm,
  ids: Int32Array,
  k: number,
  keep: (id: number) => boolean,
): { probs: number[]; best: number[] } {
  const ws = new Workspace(m, ids.length + 1);
  const s = hiddenAfter(m, ids, ids.length, ws);
  useHistory(m, ids, ids.length - 1, ws.out);
  const all = new Float64Array(m.vocab);
  distribution(m, s, all, ws.out);
  const r = m.memory?.recollect(ids, ids.length) ?? null;
  const probs = Array.from(all, (p, w) => mixed(p, w, r));
  const ranked = probs
    .map((_, id) => id)
    .filter(keep)
    .sort((a, b) => probs[b] - probs[a] || a - b);
  return { probs, best: ranked.slice(0, k) };
}

/** The completion matches brute force: the same probabilities in the same order, each id a valid one. */
function expectExact(
  got: { id: number; p: number }[],
  want: { probs: number[]; best: number[] },
  keep: (id: number) => boolean,
): void {
  expect(got.map((e) => e.p)).toEqual(want.best.map((id) => want.probs[id]));
  for (const { id, p } of got) {
    expect(keep(id)).toBe(true);
    expect(p).toBe(want.probs[id]);
  }
}

describe.each(["class", "full"] as const)("completeTopK, %s output", (variant) => {
  const words = testWords(150, 3);
  it("equals brute force over every word, for any prefix, partial, k and blocked set", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.integer({ min: 3, max: words.length - 1 }), { maxLength: 6 }),
        fc.oneof(
          fc.constantFrom("", "a", "b", "é", "ab", "zz", "1"),
          fc.string({ unit: fc.constantFrom(..."abcdé"), maxLength: 3 }),
        ),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.integer({ min: 0, max: words.length - 1 }), { maxLength: 20 }),
        fc.boolean(),
        fc.constantFrom(1, 4, 8, 16),
        fc.constantFrom(2, 4, 9, 20),
        (seed, prefix, partial, k, blockedIds, withMemory, scale, classes) => {
          const m = peakyModel(words, variant, seed, scale, classes);
          const ids = Int32Array.from([BOS, ...prefix]);
          if (withMemory) {
            // The prefix's last three tokens, remembered followed by two different words.
            m.memory = new PhraseMemory();
            m.memory.add([BOS, ...prefix, 5 + (seed % 40), EOS]);
            m.memory.add([BOS, ...prefix, 6 + (seed % 60), EOS]);
          }
          const blocked = new Set(blockedIds);
          const allowed = (id: number) => !blocked.has(id);
          const keep = (id: number) =>
            isSuggestible(id) && isWord(words[id]) && words[id].startsWith(partial) && allowed(id);
          const ws = new Workspace(m, ids.length + 1);
          const s = hiddenAfter(m, ids, ids.length, ws);
          useHistory(m, ids, ids.length - 1, ws.out);
          const r = m.memory?.recollect(ids, ids.length) ?? null;
          const got = completeTopK(m, s, k, completionIndex(m, words), partial, allowed, ws.out, r).entries();
          expectExact(got, bruteForce(m, ids, k, keep), keep);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("completeWords on a text model", () => {
  const words = testWords(120, 5);
  const vocab: Vocab = { words, index: new Map(words.map((w, i) => [w, i])) };
  const opts = { lr: 0.5, truncate: 4, steps: 1, clipNorm: 5, maxStepNorm: 2, newWordRate: 0.7, remember: true };
  const exactOn = (tm: TextModel, tokens: string[], partial: string, k: number) => {
    const ids = Int32Array.from([BOS, ...tokens.map((t) => tm.vocab.index.get(t) ?? 2)]);
    const p = normalise(partial);
    // A learned word is shown once KNOWN_AFTER subjects taught it (word-slots.ts).
    const keep = (id: number) =>
      isSuggestible(id) && isKnown(tm.model, id) && isWord(tm.vocab.words[id]) && tm.vocab.words[id].startsWith(p);
    const got = completeWords(tm, tokens, partial, k, 32).predictions.map(({ word, p: prob }) => ({
      id: tm.vocab.index.get(word)!,
      p: prob,
    }));
    expectExact(got, bruteForce(tm.model, ids, k, keep), keep);
  };

  it("matches the partial after the tokenizer's normalisation (case, Unicode folding)", () => {
    const tm = textModel(peakyModel(words, "class", 2), vocab, 64);
    const upper = completeWords(tm, ["ab"], "AB", 8, 32).predictions;
    expect(upper).toEqual(completeWords(tm, ["ab"], "ab", 8, 32).predictions);
    expect(upper.length).toBeGreaterThan(0);
    // NFKC: a decomposed é is the same letter.
    expect(completeWords(tm, [], "e\u0301", 8, 32).predictions).toEqual(completeWords(tm, [], "é", 8, 32).predictions);
    exactOn(tm, ["ab", "c"], "É", 8);
  });

  it("stays exact as the model learns, and completes a learned word from its second learn", () => {
    let tm = textModel(withWordSlots(peakyModel(words, "class", 4), 8), vocab, 64);
    exactOn(tm, ["a"], "b", 6);
    for (let i = 0; i < 3; i++) {
      tm = learnWords(tm, ["a", "bzorp", "b"], opts).tm;
      exactOn(tm, ["a"], "b", 6);
      exactOn(tm, ["a"], "bz", 6);
    }
    expect(completeWords(tm, ["a"], "bz", 3, 32).predictions.map((p) => p.word)).toEqual(["bzorp"]);
    // Learns without new words (no slot bookkeeping) move the weights too.
    const { newWordRate: _, ...plain } = opts;
    for (let i = 0; i < 20; i++) {
      tm = learnWords(tm, ["b", "a", "b", "ab"], { ...plain, lr: 1 }).tm;
      exactOn(tm, ["b", "a"], "", 10);
      exactOn(tm, ["b", "a"], "a", 4);
    }
  });

  it("offers words only: never a special, never punctuation, even when they are likelier", () => {
    const tm = textModel(peakyModel(words, "class", 6), vocab, 64);
    const got = completeWords(tm, [], "", 50, 32).predictions.map((p) => p.word);
    expect(got).toHaveLength(50);
    expect(got.filter((w) => !isWord(w) || SPECIALS.includes(w))).toEqual([]);
    expect(got).toContain("1990");
  });
});
