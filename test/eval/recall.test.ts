import { describe, expect, it } from "vitest";
import { phraseRecall, restoreWeights, snapshotWeights } from "../../src/eval/recall.ts";
import { RnnScorer } from "../../src/eval/rnn-scorer.ts";
import { learnSentence, Workspace } from "../../src/model/lm.ts";
import { BOS, EOS, UNK } from "../../src/model/vocab.ts";
import { tinyModel, tinyVocab } from "../helpers/tiny-model.ts";

const vocab = tinyVocab();
const ids = (text: string) => Int32Array.from(text.split(" "), (w) => vocab.index.get(w) ?? UNK);
const withMarkers = (words: Int32Array) => Int32Array.from([BOS, ...words, EOS]);
const opts = { lr: 0.1, truncate: 4, steps: 1, clipNorm: 5, maxStepNorm: 2 };

/** Hits among scored positions, counted the slow way: a fresh scorer per prefix. */
function bruteHits(sentence: Int32Array, from: number, k: number, m = tinyModel()): [number, number] {
  let hits = 0;
  let scored = 0;
  for (let t = from - 1; t < sentence.length; t++) {
    const w = vocab.words[sentence[t]];
    if (sentence[t] === UNK || !/^[a-z]/.test(w)) continue;
    const s = new RnnScorer(m);
    for (let i = 0; i < t; i++) s.advance(sentence[i]);
    scored++;
    if (s.rivals(sentence[t], k) < k) hits++;
  }
  return [hits, scored];
}

describe("phraseRecall", () => {
  const sentences = [ids("the quick brown fox jumps over the lazy dog ."), ids("my cat sat on the zebra mat , it was good .")];

  it("scores words from the fourth on (not punctuation, not <unk>) before and after learning, leaving the weights as found", () => {
    const m = tinyModel();
    const saved = snapshotWeights(m);
    const ws = new Workspace(m, 16);
    const r = phraseRecall(m, vocab, sentences, (s) => learnSentence(m, withMarkers(s), opts, ws), { repeats: 3, from: 4, k: 3 });
    // Positions 4..: fox jumps over the lazy dog (6) + on the mat it was good (6; zebra is <unk>).
    expect(r.positions).toBe(12);
    const [h0, n0] = bruteHits(sentences[0], 4, 3);
    const [h1, n1] = bruteHits(sentences[1], 4, 3);
    expect(n0 + n1).toBe(12);
    expect(r.before).toBeCloseTo((h0 + h1) / 12, 12);
    expect(r.after).toBeGreaterThan(r.before);
    for (const [i, a] of snapshotWeights(m).entries()) expect(a).toEqual(saved[i]);
  });

  it("learns each sentence from the same starting weights", () => {
    const m = tinyModel();
    const ws = new Workspace(m, 16);
    const learn = (s: Int32Array) => learnSentence(m, withMarkers(s), opts, ws);
    const both = phraseRecall(m, vocab, sentences, learn);
    const first = phraseRecall(m, vocab, sentences.slice(0, 1), learn);
    const second = phraseRecall(m, vocab, sentences.slice(1), learn);
    expect(both.after * both.positions).toBeCloseTo(first.after * first.positions + second.after * second.positions, 9);
  });

  it("restoreWeights puts back a snapshot", () => {
    const m = tinyModel();
    const saved = snapshotWeights(m);
    m.U.fill(0);
    m.W[3] = 7;
    restoreWeights(m, saved);
    expect(snapshotWeights(m)).toEqual(saved);
  });
});
