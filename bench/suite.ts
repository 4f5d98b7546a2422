import { learnShape, learnWork } from "../src/budget/cost-model.ts";
import { completeNext, completionIndex } from "../src/model/completion.ts";
import {
  type LearnOptions,
  learnSentence,
  predictNext,
  sentenceGradient,
  sentenceLoss,
  type Workspace,
} from "../src/model/lm.ts";
import type { RnnLm } from "../src/model/model.ts";
import { sgdStep } from "../src/model/sgd.ts";
import { isSuggestible } from "../src/model/vocab.ts";
import { type NaiveRnn, naiveLearn, naivePredict } from "./naive.ts";

/**
 * The measured operations, runtime-agnostic: the same code runs inside
 * workerd (bench/worker.ts) and in Node (scripts/bench.ts) on the same
 * inputs; the caller times them (bench/stats.ts).
 */

export interface SuiteInput {
  /** Sentences [<s>, w1..wn, </s>] by n. */
  sentences: Record<string, number[][]>;
  /** Prefixes [<s>, w1..wn] by n. */
  prefixes: Record<string, number[][]>;
  /** Completions by prefix length n: a prefix [<s>, w1..wn] and the first characters of the word after it. */
  completions: Record<string, { ids: number[]; partial: string }[]>;
  learn: LearnOptions;
  /** Predictions asked per call. */
  k: number;
  /** The sentence and prefix lengths the baseline (and the parts of a learn) are timed at. */
  baselineLearn: string;
  baselinePredict: string;
}

/** An operation: call i works on item i of its list (cycling). */
export type Op = (i: number) => void;

function cycle<T>(list: readonly T[], fn: (item: T) => void): Op {
  return (i) => fn(list[i % list.length]);
}

/** A full-softmax copy of the model's weights for the baseline (which updates them in place). */
export function baselineOf(m: RnnLm): NaiveRnn {
  return { vocab: m.vocab, hidden: m.hidden, U: m.U.slice(), W: m.W.slice(), V: m.V.slice() };
}

/**
 * Every measured operation by name: learn/n, predict/n, complete/n (completion of the word after
 * an n-token prefix; words[id] for every id of m), the parts of a learn
 * (gradient/n: forward and BPTT, sgd/n: the update, loss/n: the loss after),
 * baseline-learn/n and baseline-predict/n. Learns change `m`.
 */
export function suiteOps(m: RnnLm, ws: Workspace, input: SuiteInput, words: readonly string[]): Record<string, Op> {
  const ops: Record<string, Op> = {};
  // Built once, as a published model's is: the learns below move V a little, which may only
  // change how much the bounds prune (timing), not what is measured.
  const index = completionIndex(m, words);
  for (const [n, list] of Object.entries(input.completions)) {
    ops[`complete/${n}`] = cycle(list, ({ ids, partial }) =>
      completeNext(m, ids, input.k, index, partial, isSuggestible, ws),
    );
  }
  for (const [n, list] of Object.entries(input.sentences)) {
    ops[`learn/${n}`] = cycle(list, (ids) => learnSentence(m, ids, input.learn, ws));
  }
  for (const [n, list] of Object.entries(input.prefixes)) {
    ops[`predict/${n}`] = cycle(list, (ids) => predictNext(m, ids, input.k, isSuggestible, ws));
  }
  const n = input.baselineLearn;
  const sentences = input.sentences[n];
  ops[`gradient/${n}`] = cycle(sentences, (ids) => sentenceGradient(m, ids, input.learn.truncate, ws));
  // Repeats the step of the gradient left in ws: the same touched rows every time.
  ops[`sgd/${n}`] = () => sgdStep(m, ws.grad, input.learn);
  ops[`loss/${n}`] = cycle(sentences, (ids) => sentenceLoss(m, ids, ws));
  const naive = baselineOf(m);
  ops[`baseline-learn/${n}`] = cycle(sentences, (ids) => naiveLearn(naive, ids, input.learn.lr, input.learn.truncate));
  const p = input.baselinePredict;
  ops[`baseline-predict/${p}`] = cycle(input.prefixes[p], (ids) => naivePredict(naive, ids, input.k));
  return ops;
}

/** Mean multiply-adds of one learn of each sentence (src/budget/cost-model.ts learnWork). */
export function meanLearnMacs(m: RnnLm, sentences: readonly number[][], opts: LearnOptions): number {
  let sum = 0;
  for (const ids of sentences) {
    const w = learnWork(ids.length - 2, opts, learnShape(m, ids));
    sum += w.recurrent + w.output;
  }
  return sum / sentences.length;
}

/** One point of the cost model's calibration grid. */
export interface CalibrationPoint {
  tokens: number;
  truncate: number;
  steps: number;
}

/** Windows of `tokens` words of `stream`, each wrapped in <s> ... </s>. */
export function calibrationSentences(stream: readonly number[], tokens: number): number[][] {
  return Array.from({ length: 8 }, (_, i) => [0, ...stream.slice(i * tokens, (i + 1) * tokens), 1]);
}

/** cal/i: learns at grid point i, on calibrationSentences(stream, tokens). */
export function calibrationOps(
  m: RnnLm,
  ws: Workspace,
  stream: readonly number[],
  grid: readonly CalibrationPoint[],
  base: LearnOptions,
): Record<string, Op> {
  return Object.fromEntries(
    grid.map((p, i) => {
      const opts = { ...base, truncate: p.truncate, steps: p.steps };
      return [`cal/${i}`, cycle(calibrationSentences(stream, p.tokens), (ids) => learnSentence(m, ids, opts, ws))];
    }),
  );
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
