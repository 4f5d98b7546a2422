import { learnShape, learnWork } from "../src/budget/cost-model.ts";
import { type LearnOptions, learnSentence, predictNext, type Workspace } from "../src/model/lm.ts";
import type { RnnLm } from "../src/model/model.ts";
import { isSuggestible } from "../src/model/vocab.ts";
import { type NaiveRnn, naiveLearn, naivePredict } from "./naive.ts";
import { type Clock, time, type Timing, type TimingOptions } from "./stats.ts";

/**
 * The measurements, runtime-agnostic: the same code runs inside workerd
 * (bench/worker.ts) and in Node (scripts/bench.ts) on the same inputs.
 */

export interface SuiteInput {
  /** Sentences [<s>, w1..wn, </s>] by n; each timing cycles through its list. */
  sentences: Record<string, number[][]>;
  /** Prefixes [<s>, w1..wn] by n. */
  prefixes: Record<string, number[][]>;
  learn: LearnOptions;
  /** Predictions asked per call. */
  k: number;
  timing: TimingOptions;
  /** The baseline is 50-100x slower: fewer samples keep the run short. */
  baselineTiming: TimingOptions;
  /** The sentence and prefix lengths the baseline is timed at. */
  baselineLearn: string;
  baselinePredict: string;
}

export interface SuiteResult {
  learn: Record<string, Timing>;
  predict: Record<string, Timing>;
  baseline: { learn: Record<string, Timing>; predict: Record<string, Timing> };
  /** Mean multiply-adds of one learn (src/budget/cost-model.ts learnWork), by sentence length. */
  learnMacs: Record<string, number>;
}

function cycle<T>(list: readonly T[], fn: (item: T) => void): (i: number) => void {
  return (i) => fn(list[i % list.length]);
}

function meanLearnMacs(m: RnnLm, sentences: readonly number[][], opts: LearnOptions): number {
  let sum = 0;
  for (const ids of sentences) {
    const w = learnWork(ids.length - 2, opts, learnShape(m, ids));
    sum += w.recurrent + w.output;
  }
  return sum / sentences.length;
}

/** A full-softmax copy of the model's weights for the baseline (which updates them in place). */
export function baselineOf(m: RnnLm): NaiveRnn {
  return { vocab: m.vocab, hidden: m.hidden, U: m.U.slice(), W: m.W.slice(), V: m.V.slice() };
}

/** Times learns and predictions of `m` (which the learns change) and of the baseline. */
export function runSuite(m: RnnLm, ws: Workspace, input: SuiteInput, now: Clock): SuiteResult {
  const result: SuiteResult = { learn: {}, predict: {}, baseline: { learn: {}, predict: {} }, learnMacs: {} };
  for (const [n, list] of Object.entries(input.sentences)) {
    result.learn[n] = time(cycle(list, (ids) => learnSentence(m, ids, input.learn, ws)), now, input.timing);
    result.learnMacs[n] = meanLearnMacs(m, list, input.learn);
  }
  for (const [n, list] of Object.entries(input.prefixes)) {
    result.predict[n] = time(cycle(list, (ids) => predictNext(m, ids, input.k, isSuggestible, ws)), now, input.timing);
  }
  const naive = baselineOf(m);
  const { lr, truncate } = input.learn;
  const sentences = input.sentences[input.baselineLearn];
  const prefixes = input.prefixes[input.baselinePredict];
  result.baseline.learn[input.baselineLearn] = time(
    cycle(sentences, (ids) => naiveLearn(naive, ids, lr, truncate)),
    now,
    input.baselineTiming,
  );
  result.baseline.predict[input.baselinePredict] = time(
    cycle(prefixes, (ids) => naivePredict(naive, ids, input.k)),
    now,
    input.baselineTiming,
  );
  return result;
}

/** One point of the cost model's calibration grid. */
export interface CalibrationPoint {
  tokens: number;
  truncate: number;
  steps: number;
}

export interface CalibrationSample extends CalibrationPoint {
  rowsPerToken: number;
  median: number;
  p95: number;
}

/** Times learns of `tokens`-word windows of `stream` at every grid point. */
export function runCalibration(
  m: RnnLm,
  ws: Workspace,
  stream: readonly number[],
  grid: readonly CalibrationPoint[],
  base: LearnOptions,
  timing: TimingOptions,
  now: Clock,
): CalibrationSample[] {
  return grid.map((p) => {
    // A handful of distinct windows, each wrapped in <s> ... </s>.
    const sentences = Array.from({ length: 8 }, (_, i) => [0, ...stream.slice(i * p.tokens, (i + 1) * p.tokens), 1]);
    let rows = 0;
    for (const ids of sentences) rows += learnShape(m, ids).rowsPerToken;
    const opts = { ...base, truncate: p.truncate, steps: p.steps };
    const t = time(cycle(sentences, (ids) => learnSentence(m, ids, opts, ws)), now, timing);
    return { ...p, rowsPerToken: rows / sentences.length, median: t.median, p95: t.p95 };
  });
}

/**
 * Bytes of every distinct ArrayBuffer reachable from `roots` through object
 * properties and arrays: the weights and the work buffers, counted by the
 * typed arrays' buffers (a view pins its whole buffer). Maps and strings
 * (the vocabulary) are not counted.
 */
export function bufferBytes(...roots: unknown[]): number {
  const buffers = new Set<ArrayBufferLike>();
  const seen = new Set<object>();
  const visit = (v: unknown): void => {
    if (typeof v !== "object" || v === null || seen.has(v)) return;
    seen.add(v);
    if (ArrayBuffer.isView(v)) buffers.add(v.buffer);
    else if (!(v instanceof Map)) for (const x of Object.values(v)) visit(x);
  };
  roots.forEach(visit);
  let bytes = 0;
  for (const b of buffers) bytes += b.byteLength;
  return bytes;
}
