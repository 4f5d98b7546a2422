import { describe, expect, it } from "vitest";
import { phraseRecall } from "../../src/eval/recall.ts";
import { RnnScorer } from "../../src/eval/rnn-scorer.ts";
import { cloneModel } from "../../src/model/init.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { learnWords, type TextModel, textModel } from "../../src/model/text-model.ts";
import { encode, UNK } from "../../src/model/vocab.ts";
import { tinyModel, tinyVocab } from "../helpers/tiny-model.ts";

const vocab = tinyVocab();
const opts = { lr: 0.1, truncate: 4, steps: 1, clipNorm: 5, maxStepNorm: 2 };
const fresh = (m: RnnLm) => () => textModel(cloneModel(m), vocab, 16);
const learn = (tm: TextModel, tokens: readonly string[]) => learnWords(tm, tokens, opts).tm;

/** Hits among scored positions, counted the slow way: a fresh scorer per prefix. */
function bruteHits(tokens: string[], from: number, k: number, m: RnnLm): [number, number] {
  const ids = encode(tokens, vocab);
  let hits = 0;
  let scored = 0;
  for (let t = from - 1; t < ids.length; t++) {
    if (!/^[a-z]/.test(tokens[t])) continue;
    scored++;
    if (ids[t] === UNK) continue;
    const s = new RnnScorer(m);
    for (let i = 0; i < t; i++) s.advance(ids[i]);
    if (s.rivals(ids[t], k) < k) hits++;
  }
  return [hits, scored];
}

describe("phraseRecall", () => {
  const sentences = [
    "the quick brown fox jumps over the lazy dog .",
    "my cat sat on the zebra mat , it was good .",
  ].map((s) => s.split(" "));

  it("scores the words from the fourth on (not punctuation; a word outside the vocabulary is a miss) before and after learning", () => {
    const m = tinyModel();
    const r = phraseRecall(fresh(m), sentences, learn, { repeats: 3, from: 4, k: 3 });
    // Positions 4..: fox jumps over the lazy dog (6) + on the zebra mat it was good (7; zebra is <unk>, a miss).
    expect(r.positions).toBe(13);
    const [h0, n0] = bruteHits(sentences[0], 4, 3, m);
    const [h1, n1] = bruteHits(sentences[1], 4, 3, m);
    expect(n0 + n1).toBe(13);
    expect(r.before).toBeCloseTo((h0 + h1) / 13, 12);
    expect(r.after).toBeGreaterThan(r.before);
  });

  it("learns each sentence from the same starting model, which it leaves as found", () => {
    const m = tinyModel();
    const saved = cloneModel(m);
    const both = phraseRecall(fresh(m), sentences, learn);
    const first = phraseRecall(fresh(m), sentences.slice(0, 1), learn);
    const second = phraseRecall(fresh(m), sentences.slice(1), learn);
    expect(both.after * both.positions).toBeCloseTo(first.after * first.positions + second.after * second.positions, 9);
    expect(m.V).toEqual(saved.V);
  });
});
