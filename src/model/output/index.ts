import type { Gradient } from "../gradient.ts";
import type { RnnLm } from "../model.ts";
import { classBackward, classDistribution, classNegLogProb, classTopK, largestClass } from "./class-softmax.ts";
import { fullBackward, fullDistribution, fullNegLogProb, fullTopK } from "./full-softmax.ts";
import type { TopK } from "./top-k.ts";

/** Dispatch to the model's output layer; scratch buffers are sized once per model. */

export interface OutputScratch {
  /** [K] class probabilities (empty for a full softmax). */
  readonly classProbs: Float64Array;
  /** Word probabilities: [V] for a full softmax, the largest class's size otherwise. */
  readonly probs: Float64Array;
}

export function outputScratch(m: RnnLm): OutputScratch {
  if (m.output.kind === "full") return { classProbs: new Float64Array(0), probs: new Float64Array(m.vocab) };
  return { classProbs: new Float64Array(m.output.classes), probs: new Float64Array(largestClass(m.output)) };
}

/** -ln P(y | s). */
export function negLogProb(m: RnnLm, s: Float64Array, y: number, x: OutputScratch): number {
  return m.output.kind === "full" ? fullNegLogProb(m, s, y, x.probs) : classNegLogProb(m, s, y, x.classProbs, x.probs);
}

/** -ln P(y | s), accumulating the output layer's gradient into g and writing dL/ds into ds. */
export function outputBackward(m: RnnLm, s: Float64Array, y: number, g: Gradient, ds: Float64Array, x: OutputScratch): number {
  return m.output.kind === "full"
    ? fullBackward(m, s, y, g, ds, x.probs)
    : classBackward(m, s, y, g, ds, x.classProbs, x.probs);
}

/** P(· | s) over the whole vocabulary into out[0..V). */
export function distribution(m: RnnLm, s: Float64Array, out: Float64Array, x: OutputScratch): void {
  if (m.output.kind === "full") fullDistribution(m, s, out);
  else classDistribution(m, s, x.classProbs, out);
}

/** The k most probable ids among those allowed, exactly, best first. */
export function topK(m: RnnLm, s: Float64Array, k: number, allowed: (id: number) => boolean, x: OutputScratch): TopK {
  return m.output.kind === "full"
    ? fullTopK(m, s, k, allowed, x.probs)
    : classTopK(m, s, k, allowed, x.classProbs, x.probs);
}
