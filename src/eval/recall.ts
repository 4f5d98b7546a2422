import { type RnnLm, weightsOf } from "../model/model.ts";
import type { Vocab } from "../model/vocab.ts";
import { topKTargets } from "./metrics.ts";
import { RnnScorer } from "./rnn-scorer.ts";

/**
 * Phrase recall: does the model finish a sentence it has just been taught?
 * Each sentence is learned `repeats` times from the same starting weights
 * (restored between sentences, so sentences do not help one another), then
 * every word at position `from` or later (1-based, markers not counted) whose
 * target counts for topK (a word in the vocabulary, as in metrics.ts) is a hit
 * when it is among the model's 3 best after its prefix.
 */

export interface RecallOptions {
  /** Learns of each sentence before it is scored. */
  readonly repeats: number;
  /** First scored word position, 1-based. */
  readonly from: number;
  /** A word is recalled when it ranks in the best k. */
  readonly k: number;
}

export const PHRASE_RECALL: RecallOptions = { repeats: 3, from: 4, k: 3 };

export interface RecallResult {
  readonly sentences: number;
  /** Scored word positions over all sentences. */
  readonly positions: number;
  /** Share of scored positions in the top k before any learning. */
  readonly before: number;
  /** Share after `repeats` learns of the sentence. */
  readonly after: number;
}

/** A copy of every weight array, to put back with restoreWeights. */
export function snapshotWeights(m: RnnLm): Float32Array[] {
  return weightArrays(m).map((a) => a.slice());
}

export function restoreWeights(m: RnnLm, saved: readonly Float32Array[]): void {
  weightArrays(m).forEach((a, i) => a.set(saved[i]));
}

function weightArrays(m: RnnLm): Float32Array[] {
  return Object.values(weightsOf(m));
}

/** [hits, scored] for one sentence (word ids without markers) under the current weights. */
function recalled(m: RnnLm, sentence: Int32Array, isWord: readonly boolean[], opts: RecallOptions): [number, number] {
  const scorer = new RnnScorer(m);
  let hits = 0;
  let scored = 0;
  for (let t = 0; t < sentence.length; t++) {
    if (t + 1 >= opts.from && isWord[sentence[t]]) {
      scored++;
      if (scorer.rivals(sentence[t], opts.k) < opts.k) hits++;
    }
    scorer.advance(sentence[t]);
  }
  return [hits, scored];
}

/**
 * Scores `sentences` (word ids, no markers) as described above; `learn` applies one
 * learn of a whole sentence ([<s>, ...words, </s>]) to m. The weights are left as found.
 */
export function phraseRecall(
  m: RnnLm,
  vocab: Vocab,
  sentences: readonly Int32Array[],
  learn: (sentence: Int32Array) => void,
  opts: RecallOptions = PHRASE_RECALL,
): RecallResult {
  const isWord = topKTargets(vocab);
  const saved = snapshotWeights(m);
  let before = 0;
  let after = 0;
  let positions = 0;
  for (const s of sentences) {
    const [h0, n] = recalled(m, s, isWord, opts);
    for (let i = 0; i < opts.repeats; i++) learn(s);
    const [h1] = recalled(m, s, isWord, opts);
    restoreWeights(m, saved);
    before += h0;
    after += h1;
    positions += n;
  }
  const share = (h: number) => (positions > 0 ? h / positions : 0);
  return { sentences: sentences.length, positions, before: share(before), after: share(after) };
}
