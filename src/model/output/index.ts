import type { Gradient } from "../gradient.ts";
import type { RnnLm } from "../model.ts";
import type { Recollection } from "../phrase-memory.ts";
import { classBackward, classDistribution, classNegLogProb, classTopK, largestClass } from "./class-softmax.ts";
import { DirectScores, setHistory } from "./direct.ts";
import { fullBackward, fullDistribution, fullNegLogProb, fullTopK } from "./full-softmax.ts";
import type { TopK } from "./top-k.ts";

/**
 * Dispatch to the model's output layer; scratch buffers are sized once per
 * model. A position is scored in two calls: useHistory() with the tokens read
 * so far (for the direct n-gram weights), then one of the functions below.
 */

export interface OutputScratch {
  /** [K] class probabilities (empty for a full softmax). */
  readonly classProbs: Float64Array;
  /** Word probabilities: [V] for a full softmax, the largest class's size otherwise. */
  readonly probs: Float64Array;
  /** The direct weights of the current position's history, for word scores and class scores. */
  readonly wordDirect: DirectScores;
  readonly classDirect: DirectScores;
}

export function outputScratch(m: RnnLm): OutputScratch {
  const order = m.direct?.order ?? 0;
  const direct = { wordDirect: new DirectScores(order), classDirect: new DirectScores(order) };
  if (m.output.kind === "full") return { classProbs: new Float64Array(0), probs: new Float64Array(m.vocab), ...direct };
  return { classProbs: new Float64Array(m.output.classes), probs: new Float64Array(largestClass(m.output)), ...direct };
}

/** Sets the history the next scores condition on: the position that has just read ids[t]. */
export function useHistory(m: RnnLm, ids: ArrayLike<number>, t: number, x: OutputScratch): void {
  if (m.direct) setHistory(m.direct, ids, t, x.wordDirect, x.classDirect);
}

/** -ln P(y | s). */
export function negLogProb(m: RnnLm, s: Float64Array, y: number, x: OutputScratch): number {
  return m.output.kind === "full" ? fullNegLogProb(m, s, y, x) : classNegLogProb(m, s, y, x);
}

/** -ln P(y | s), accumulating the output layer's gradient into g and writing dL/ds into ds. */
export function outputBackward(
  m: RnnLm,
  s: Float64Array,
  y: number,
  g: Gradient,
  ds: Float64Array,
  x: OutputScratch,
): number {
  return m.output.kind === "full" ? fullBackward(m, s, y, g, ds, x) : classBackward(m, s, y, g, ds, x);
}

/** P(· | s) over the whole vocabulary into out[0..V). */
export function distribution(m: RnnLm, s: Float64Array, out: Float64Array, x: OutputScratch): void {
  if (m.output.kind === "full") fullDistribution(m, s, out, x.wordDirect);
  else classDistribution(m, s, out, x);
}

/**
 * The k most probable ids among those allowed, exactly, best first; with a recollection of the
 * phrase memory at this position (src/model/phrase-memory.ts), by the mixture's probabilities.
 */
export function topK(
  m: RnnLm,
  s: Float64Array,
  k: number,
  allowed: (id: number) => boolean,
  x: OutputScratch,
  r: Recollection | null = null,
): TopK {
  return m.output.kind === "full" ? fullTopK(m, s, k, allowed, x, r) : classTopK(m, s, k, allowed, x, r);
}
