import type { Gradient } from "../gradient.ts";
import type { RnnLm } from "../model.ts";
import { mixed, type Recollection } from "../phrase-memory.ts";
import type { OutputScratch } from "./index.ts";
import { directBackward, type DirectScores } from "./direct.ts";
import { softmaxRows, softmaxRowsBackward } from "./rows.ts";
import { TopK } from "./top-k.ts";

/** Full softmax over the vocabulary: o = softmax(V s). Cost O(V·H) per token. */

/** P(· | s) over the whole vocabulary into probs[0..V). */
export function fullDistribution(m: RnnLm, s: Float64Array, probs: Float64Array, direct: DirectScores): void {
  softmaxRows(m.V, 0, m.vocab, s, probs, direct);
}

/** -ln P(y | s). */
export function fullNegLogProb(m: RnnLm, s: Float64Array, y: number, x: OutputScratch): number {
  fullDistribution(m, s, x.probs, x.wordDirect);
  return -Math.log(x.probs[y]);
}

/** -ln P(y | s); accumulates dL/dV and dL/dD into g and writes dL/ds into ds. */
export function fullBackward(
  m: RnnLm,
  s: Float64Array,
  y: number,
  g: Gradient,
  ds: Float64Array,
  x: OutputScratch,
): number {
  const { probs, wordDirect } = x;
  fullDistribution(m, s, probs, wordDirect);
  // touchRows first: it may grow (replace) g.vRows.
  const offset = g.touchRows(0, m.vocab);
  ds.fill(0);
  softmaxRowsBackward(m.V, g.vRows, offset, 0, m.vocab, probs, y, s, ds);
  directBackward(wordDirect, 0, m.vocab, probs, y, g);
  return -Math.log(probs[y]);
}

/** The k most probable ids among those `allowed`, exactly. */
export function fullTopK(
  m: RnnLm,
  s: Float64Array,
  k: number,
  allowed: (id: number) => boolean,
  x: OutputScratch,
  r: Recollection | null,
): TopK {
  const { probs } = x;
  fullDistribution(m, s, probs, x.wordDirect);
  const top = new TopK(k);
  for (let id = 0; id < m.vocab; id++) if (allowed(id)) top.offer(id, mixed(probs[id], id, r));
  return top;
}
