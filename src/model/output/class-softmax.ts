import type { Gradient } from "../gradient.ts";
import type { ClassOutput, RnnLm } from "../model.ts";
import { mixed, type Recollection } from "../phrase-memory.ts";
import { directBackward } from "./direct.ts";
import type { OutputScratch } from "./index.ts";
import { softmaxRows, softmaxRowsBackward } from "./rows.ts";
import { TopK } from "./top-k.ts";

/**
 * Class-factorized softmax (Mikolov et al., 2011):
 *   P(w | s) = P(c(w) | s) · P(w | c(w), s)
 *   P(c | s) = softmax(C s) over the K classes,
 *   P(w | c, s) = softmax(V_w · s) over the words of class c only,
 * each score plus its direct n-gram weights when the model has them (direct.ts).
 * A token costs O((K + |c|)·H) instead of O(V·H).
 */

/** Splits ids into at most K contiguous classes of roughly equal unigram mass. */
export function assignClasses(counts: ArrayLike<number>, classes: number): Int32Array {
  const n = counts.length;
  const k = Math.max(1, Math.min(classes, n));
  let total = 0;
  for (let i = 0; i < n; i++) total += counts[i];
  const start = new Int32Array(k + 1);
  let cum = 0;
  let id = 0;
  for (let c = 0; c < k; c++) {
    start[c] = id;
    // Take at least one id, leave at least one for each class still to come.
    const lastAllowed = n - (k - c);
    do cum += counts[id++];
    while (id <= lastAllowed && cum < (total * (c + 1)) / k);
  }
  start[k] = n;
  return start;
}

/** Words in the largest class: the size of a buffer that holds any one class's probabilities. */
export function largestClass(out: ClassOutput): number {
  let largest = 0;
  for (let c = 0; c < out.classes; c++) largest = Math.max(largest, out.classStart[c + 1] - out.classStart[c]);
  return largest;
}

function classOf(m: RnnLm): ClassOutput {
  if (m.output.kind !== "class") throw new Error("model has no class-factorized output");
  return m.output;
}

/** -ln P(y | s), leaving P(· | s) over classes in x.classProbs and P(· | c(y), s) in x.probs. */
export function classNegLogProb(m: RnnLm, s: Float64Array, y: number, x: OutputScratch): number {
  const out = classOf(m);
  const c = out.wordClass[y];
  softmaxRows(out.C, 0, out.classes, s, x.classProbs, x.classDirect);
  const from = out.classStart[c];
  softmaxRows(m.V, from, out.classStart[c + 1], s, x.probs, x.wordDirect);
  return -Math.log(x.classProbs[c]) - Math.log(x.probs[y - from]);
}

/**
 * -ln P(y | s); accumulates dL/dC, dL/dV (target class rows only) and dL/dD
 * into g; writes dL/ds into ds.
 */
export function classBackward(
  m: RnnLm,
  s: Float64Array,
  y: number,
  g: Gradient,
  ds: Float64Array,
  x: OutputScratch,
): number {
  const out = classOf(m);
  const loss = classNegLogProb(m, s, y, x);
  const c = out.wordClass[y];
  const from = out.classStart[c];
  const to = out.classStart[c + 1];
  ds.fill(0);
  softmaxRowsBackward(out.C, g.dC, 0, 0, out.classes, x.classProbs, c, s, ds);
  directBackward(x.classDirect, 0, out.classes, x.classProbs, c, g);
  // touchRows first: it may grow (replace) g.vRows.
  const offset = g.touchRows(from, to);
  softmaxRowsBackward(m.V, g.vRows, offset, from, to, x.probs, y, s, ds);
  directBackward(x.wordDirect, from, to, x.probs, y, g);
  return loss;
}

/** P(· | s) over the whole vocabulary (every class expanded), into probs[0..V). */
export function classDistribution(m: RnnLm, s: Float64Array, probs: Float64Array, x: OutputScratch): void {
  const out = classOf(m);
  softmaxRows(out.C, 0, out.classes, s, x.classProbs, x.classDirect);
  for (let c = 0; c < out.classes; c++) {
    const from = out.classStart[c];
    const to = out.classStart[c + 1];
    softmaxRows(m.V, from, to, s, probs.subarray(from, to), x.wordDirect);
    for (let w = from; w < to; w++) probs[w] *= x.classProbs[c];
  }
}

/**
 * fl(e · fl(1/sum)) may exceed 1 by a few ulps when one word holds (almost) all
 * of its class's mass, so fl(P(c) · P(w|c)) may exceed fl(P(c)) by as much;
 * pruning by P(c) with this margin never skips a class that holds a better word.
 */
export const PRUNE_MARGIN = 1 + 1e-12;

/**
 * The k most probable allowed ids, exactly, without expanding every class:
 * visit classes by decreasing P(c); since P(w) = P(c)·P(w|c) <= P(c), once
 * P(c) cannot beat the k-th best word found, no later class can either. With
 * a recollection of the phrase memory, probabilities are the mixture's: the
 * classes of the words it boosts are visited first, after which every word
 * left has at most backoff · P(c), and the same bound holds.
 */
export function classTopK(
  m: RnnLm,
  s: Float64Array,
  k: number,
  allowed: (id: number) => boolean,
  x: OutputScratch,
  r: Recollection | null,
): TopK {
  const out = classOf(m);
  const { classProbs, probs } = x;
  softmaxRows(out.C, 0, out.classes, s, classProbs, x.classDirect);
  const top = new TopK(k);
  const offerClass = (c: number) => {
    const from = out.classStart[c];
    softmaxRows(m.V, from, out.classStart[c + 1], s, probs, x.wordDirect);
    for (let w = from; w < out.classStart[c + 1]; w++)
      if (allowed(w)) top.offer(w, mixed(classProbs[c] * probs[w - from], w, r));
  };
  const visited = new Set<number>();
  for (const w of r?.boosts.keys() ?? []) {
    const c = out.wordClass[w];
    if (!visited.has(c)) offerClass(c);
    visited.add(c);
  }
  const backoff = r?.backoff ?? 1;
  const order = Array.from({ length: out.classes }, (_, c) => c).sort((a, b) => classProbs[b] - classProbs[a]);
  for (const c of order) {
    if (top.size === k && classProbs[c] * backoff * PRUNE_MARGIN <= top.floor()) break;
    if (!visited.has(c)) offerClass(c);
  }
  return top;
}
