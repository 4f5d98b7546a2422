import { anchorOf, pullTowardAnchor } from "./anchor.ts";
import { Gradient } from "./gradient.ts";
import { initModel } from "./init.ts";
import { baseVocab, type RnnLm } from "./model.ts";
import {
  distribution,
  negLogProb,
  outputBackward,
  outputScratch,
  type OutputScratch,
  topK,
  useHistory,
} from "./output/index.ts";
import { softmaxRows } from "./output/rows.ts";
import { LEARN_BOUNDS, UPDATE_GUARDS } from "./learning-rule.ts";
import { PhraseMemory, type Recollection } from "./phrase-memory.ts";
import { seededRng } from "./rng.ts";
import { ANONYMOUS } from "./word-slots.ts";
import { backpropThroughTime, stepHidden } from "./rnn.ts";
import { type SgdOptions, type SgdResult, sgdStep } from "./sgd.ts";
import { BOS, EOS, SPECIALS } from "./vocab.ts";

/**
 * The language model's operations on whole token sequences. A sentence is
 * ids = [<s>, w1, ..., wn, </s>]: step t reads ids[t] and predicts ids[t + 1].
 * All buffers live in a Workspace made once per model and reused, so the hot
 * paths allocate nothing.
 */

export class Workspace {
  readonly maxSteps: number;
  /** states[t + 1] = s(t); states[0] = s(-1) = 0 and is never written. */
  readonly states: Float64Array[];
  /** dsOut[t] = dL(t)/ds(t) from the output layer. */
  readonly dsOut: Float64Array[];
  /** arrived[t] = error summed over every output step whose BPTT window reaches step t. */
  readonly arrived: Float64Array[];
  readonly delta: Float64Array;
  readonly next: Float64Array;
  readonly out: OutputScratch;
  private readonly model: RnnLm;
  private gradient: Gradient | undefined;

  constructor(m: RnnLm, maxSteps: number) {
    const h = m.hidden;
    this.model = m;
    this.maxSteps = maxSteps;
    const rows = (n: number) => Array.from({ length: n }, () => new Float64Array(h));
    this.states = rows(maxSteps + 1);
    this.dsOut = rows(maxSteps);
    this.arrived = rows(maxSteps);
    this.delta = new Float64Array(h);
    this.next = new Float64Array(h);
    this.out = outputScratch(m);
  }

  /**
   * The gradient accumulators, made on first use: an isolate that only
   * predicts never needs them (dW, the touched rows and columns, and two
   * V-length index tables).
   */
  get grad(): Gradient {
    this.gradient ??= new Gradient(this.model, this.maxSteps);
    return this.gradient;
  }
}

function checkLength(ws: Workspace, steps: number): void {
  if (steps > ws.maxSteps) throw new RangeError(`${steps} steps exceed the workspace's ${ws.maxSteps}`);
}

/** Runs the recurrence over ids[0..steps) and returns s(steps - 1). */
export function hiddenAfter(m: RnnLm, ids: ArrayLike<number>, steps: number, ws: Workspace): Float64Array {
  checkLength(ws, steps);
  for (let t = 0; t < steps; t++) stepHidden(m, ids[t], ws.states[t], ws.states[t + 1]);
  return ws.states[steps];
}

/** Mean cross-entropy (nats) of predicting ids[1..] from what precedes them. */
export function sentenceLoss(m: RnnLm, ids: ArrayLike<number>, ws: Workspace): number {
  const steps = ids.length - 1;
  checkLength(ws, steps);
  let loss = 0;
  for (let t = 0; t < steps; t++) {
    stepHidden(m, ids[t], ws.states[t], ws.states[t + 1]);
    useHistory(m, ids, t, ws.out);
    loss += negLogProb(m, ws.states[t + 1], ids[t + 1], ws.out);
  }
  return loss / steps;
}

/**
 * Gradient of the summed cross-entropy of the sentence, by truncated BPTT,
 * into ws.grad (reset first). Returns the mean loss before any update.
 */
export function sentenceGradient(m: RnnLm, ids: ArrayLike<number>, truncate: number, ws: Workspace): number {
  const steps = ids.length - 1;
  checkLength(ws, steps);
  ws.grad.reset();
  let loss = 0;
  for (let t = 0; t < steps; t++) {
    stepHidden(m, ids[t], ws.states[t], ws.states[t + 1]);
    useHistory(m, ids, t, ws.out);
    loss += outputBackward(m, ws.states[t + 1], ids[t + 1], ws.grad, ws.dsOut[t], ws.out);
  }
  backpropThroughTime(m, ids, ws.states, ws.dsOut, steps, truncate, ws.grad, ws.arrived, ws.delta, ws.next);
  return loss / steps;
}

/**
 * The learned words' fast step: one SGD step at `rate` on the sentence's summed ln P(target) in
 * the direct weights that belong to the learned words (ids from `base` on) in this sentence's
 * contexts: for every history of one word or more, the feature of their class's score and of
 * each one's word score. Every position counts, not only those whose target is a learned word:
 * the learned class is pushed up where a learned word comes next and down elsewhere, so its
 * probability after a context follows how often learned words follow it. Everything shared by
 * other contexts (U, W, V, C, the bias features) is left to the ordinary clipped step: a fast
 * step in a learned word's V row, tried first, made the word likely wherever the hidden state
 * looked alike and cost the base words' top-3 accuracy (docs/adaptation.md). Each weight moves
 * by at most `rate` per position.
 */
export function learnedWordsStep(m: RnnLm, ids: ArrayLike<number>, base: number, rate: number, ws: Workspace): void {
  const D = m.direct?.D;
  if (!D) return;
  const mask = D.length - 1;
  const x = ws.out;
  // Only D moves, so the states are computed once.
  hiddenAfter(m, ids, ids.length - 1, ws);
  for (let t = 0; t + 1 < ids.length; t++) {
    const y = ids[t + 1];
    const s = ws.states[t + 1];
    useHistory(m, ids, t, x);
    let from = 0;
    if (m.output.kind === "class") {
      const { C, classes } = m.output;
      const learnedClass = classes - 1;
      softmaxRows(C, 0, classes, s, x.classProbs, x.classDirect);
      const classGain = rate * ((y >= base ? 1 : 0) - x.classProbs[learnedClass]);
      for (let n = 1; n < x.classDirect.count; n++) D[(x.classDirect.bases[n] + learnedClass) & mask] += classGain;
      if (y < base) continue;
      // P(w | learned class) for the learned words.
      softmaxRows(m.V, base, m.vocab, s, x.probs, x.wordDirect);
      from = base;
    } else {
      distribution(m, s, x.probs, x);
    }
    for (let o = base; o < m.vocab; o++) {
      const gain = rate * ((o === y ? 1 : 0) - x.probs[o - from]);
      for (let n = 1; n < x.wordDirect.count; n++) D[(x.wordDirect.bases[n] + o) & mask] += gain;
    }
  }
}

export interface LearnOptions extends SgdOptions {
  /** Error flows back through at most this many earlier steps. */
  truncate: number;
  /** SGD steps on the sentence. */
  steps: number;
  /** Pull of W and C back toward the model's anchor after each step (src/model/anchor.ts); 0 or absent: none. */
  anchor?: number;
  /** Rate of learnedWordsStep after the steps (a model with learned words); 0 or absent: none. */
  newWordRate?: number;
  /** Add the sentence to the model's phrase memory (src/model/phrase-memory.ts) once learned. */
  remember?: boolean;
  /**
   * Who taught it (a subject's hash, src/trust/subject.ts), for the quorums of the phrase memory and
   * of new words; absent: anonymous, a teacher of its own (word-slots.ts ANONYMOUS).
   */
  subject?: number;
}

export interface LearnOutcome {
  lossBefore: number;
  lossAfter: number;
  /** Steps applied; fewer than asked when a step was refused (non-finite). */
  applied: number;
  last: SgdResult;
}

/** Fine-tunes the model on one sentence in place. */
export function learnSentence(m: RnnLm, ids: ArrayLike<number>, opts: LearnOptions, ws: Workspace): LearnOutcome {
  let lossBefore = NaN;
  let applied = 0;
  let last: SgdResult = { applied: false, gradNorm: 0, stepNorm: 0 };
  const strength = opts.anchor ?? 0;
  const anchor = strength > 0 ? anchorOf(m) : null;
  for (let i = 0; i < opts.steps; i++) {
    const loss = sentenceGradient(m, ids, opts.truncate, ws);
    if (i === 0) lossBefore = loss;
    last = sgdStep(m, ws.grad, opts);
    if (!last.applied) break;
    if (anchor) pullTowardAnchor(m, anchor, strength);
    applied++;
  }
  const rate = opts.newWordRate ?? 0;
  const base = baseVocab(m);
  // A finite rate keeps the boost finite: it moves each weight by at most `rate` per position.
  if (applied === opts.steps && rate > 0 && Number.isFinite(rate) && m.vocab > base)
    learnedWordsStep(m, ids, base, rate, ws);
  if (applied === opts.steps && opts.remember) (m.memory ??= new PhraseMemory()).add(ids, opts.subject ?? ANONYMOUS);
  return { lossBefore, lossAfter: sentenceLoss(m, ids, ws), applied, last };
}

/**
 * What a search for the word after `ids` (which start with <s>) reads: the hidden state, the
 * direct n-gram history (left in ws.out) and the phrase memory's recollection. predictNext and
 * completeNext (completion.ts) search from it.
 */
export function nextWordContext(
  m: RnnLm,
  ids: ArrayLike<number>,
  ws: Workspace,
): { s: Float64Array; recalled: Recollection | null } {
  const s = hiddenAfter(m, ids, ids.length, ws);
  useHistory(m, ids, ids.length - 1, ws.out);
  return { s, recalled: m.memory?.recollect(ids, ids.length) ?? null };
}

/** The k most probable next ids after `ids` (which start with <s>), among those allowed. */
export function predictNext(
  m: RnnLm,
  ids: ArrayLike<number>,
  k: number,
  allowed: (id: number) => boolean,
  ws: Workspace,
): { id: number; p: number }[] {
  const { s, recalled } = nextWordContext(m, ids, ws);
  return topK(m, s, k, allowed, ws.out, recalled).entries();
}

/**
 * Runs learns and predictions on tiny throwaway models (both output layers,
 * with and without direct n-gram weights)
 * so that the JIT has compiled the numerics before the first real request.
 * Call it at module scope, where a Worker's startup time is spent instead of
 * the first request's CPU budget: without it a fresh isolate's first
 * 20-token learn costs about 30 ms more CPU (docs/benchmarks.md).
 */
export function warmUp(rounds = 30): void {
  // Long enough that a learn touches more direct weights than the gradient first makes room for
  // (and collides in its slot table), with the options and direct order /learn uses: so every
  // branch a real learn takes has run, and its first learn does not deoptimize.
  const ids = cyclingSentence(40, 21);
  const opts = { ...UPDATE_GUARDS, lr: LEARN_BOUNDS.lr.max, truncate: LEARN_BOUNDS.truncate.default, steps: 1 };
  const specs = [
    { classStart: Int32Array.from([0, 4, 10, 24]), direct: { order: 4, size: 1 << 16 } },
    { classStart: Int32Array.from([0, 4, 10, 24]) },
    {},
  ];
  for (const spec of specs) {
    const m = initModel({ vocab: 24, hidden: 8, ...spec }, seededRng(1));
    const ws = new Workspace(m, ids.length);
    for (let i = 0; i < rounds; i++) {
      learnSentence(m, ids, opts, ws);
      predictNext(m, ids.slice(0, 12), 5, () => true, ws);
    }
  }
}

/**
 * Learns and predicts a few sentences on m with ws at learning rate 0, which leaves every weight
 * as it is (each step adds 0 · gradient). Run where a writer has just loaded its model, in the
 * request that pays for the load anyway: ws's gradient buffers grow to their working size, and the
 * JIT sees this model's sizes, which warmUp's tiny models cannot show it, instead of during the
 * next real learns (docs/benchmarks.md).
 */
export function rehearse(m: RnnLm, ws: Workspace): void {
  const { clipNorm, maxStepNorm } = UPDATE_GUARDS;
  const still = { clipNorm, maxStepNorm, lr: 0, truncate: LEARN_BOUNDS.truncate.default, steps: 1 };
  const words = Math.min(200, baseVocab(m) - SPECIALS.length);
  const longest = ws.maxSteps - 2;
  if (words < 1 || longest < 1) return;
  for (const length of [Math.min(20, longest), longest, Math.min(20, longest)]) {
    const ids = cyclingSentence(length, words);
    learnSentence(m, ids, still, ws);
    predictNext(m, ids.slice(0, 11), 5, () => true, ws);
  }
}

/** <s>, `length` ids cycling through the first `words` words of the vocabulary, </s>: a sentence that exercises the code. */
function cyclingSentence(length: number, words: number): number[] {
  return [BOS, ...Array.from({ length }, (_, t) => SPECIALS.length + ((t * 7) % words)), EOS];
}
