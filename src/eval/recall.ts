import type { TextModel } from "../model/text-model.ts";
import { encode, UNK } from "../model/vocab.ts";
import { countsForTopK } from "./metrics.ts";
import { RnnScorer } from "./rnn-scorer.ts";

/**
 * Phrase recall: does the model finish a sentence it has just been taught?
 * Each sentence is learned `repeats` times from the same starting model (a
 * fresh copy per sentence, so sentences do not help one another), then every
 * word at position `from` or later (1-based, markers not counted) that counts
 * for topK (it starts with a letter or digit, as in metrics.ts) is a hit when
 * it is among the model's k best after its prefix. A word outside the model's
 * vocabulary is scored too, as a miss: so a model that learns new words can
 * recall them, and before and after count the same positions.
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

/**
 * [hits, scored] for one sentence (tokens) under tm's current weights and vocabulary: its words
 * from position opts.from on, each a hit when in the model's best opts.k after its prefix.
 */
export function recalled(
  tm: TextModel,
  tokens: readonly string[],
  opts: Pick<RecallOptions, "from" | "k">,
): [number, number] {
  const ids = encode(tokens, tm.vocab);
  const scorer = new RnnScorer(tm.model);
  let hits = 0;
  let scored = 0;
  for (let t = 0; t < ids.length; t++) {
    if (t + 1 >= opts.from && countsForTopK(tokens[t])) {
      scored++;
      // A word the model cannot name (<unk>) is a miss.
      if (ids[t] !== UNK && scorer.rivals(ids[t], opts.k) < opts.k) hits++;
    }
    scorer.advance(ids[t]);
  }
  return [hits, scored];
}

/**
 * Scores `sentences` (tokens) as described above. `start` gives the model every sentence starts
 * from (a fresh copy each call); `learn` applies one learn of a whole sentence and returns the
 * model to go on with (a new one when the learn gave words slots).
 */
export function phraseRecall(
  start: () => TextModel,
  sentences: readonly (readonly string[])[],
  learn: (tm: TextModel, tokens: readonly string[]) => TextModel,
  opts: RecallOptions = PHRASE_RECALL,
): RecallResult {
  let before = 0;
  let after = 0;
  let positions = 0;
  for (const tokens of sentences) {
    let tm = start();
    const [h0, n] = recalled(tm, tokens, opts);
    for (let i = 0; i < opts.repeats; i++) tm = learn(tm, tokens);
    const [h1] = recalled(tm, tokens, opts);
    before += h0;
    after += h1;
    positions += n;
  }
  const share = (h: number) => (positions > 0 ? h / positions : 0);
  return { sentences: sentences.length, positions, before: share(before), after: share(after) };
}
