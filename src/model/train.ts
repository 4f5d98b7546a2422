import { cloneModel, initModel } from "./init.ts";
import { sentenceGradient, sentenceLoss, Workspace } from "./lm.ts";
import type { RnnLm } from "./model.ts";
import { assignClasses } from "./output/class-softmax.ts";
import { type Rng, seededRng } from "./rng.ts";
import { type SgdOptions, sgdStep } from "./sgd.ts";

/**
 * Pretraining by SGD with the classic RNNLM schedule (Mikolov, 2010): train an
 * epoch at a fixed rate; once validation loss improves by less than
 * `halveBelow` (relative; by default `minImprovement`), halve the rate every
 * epoch; stop at the next halved epoch that improves by less than
 * `minImprovement`. A larger `halveBelow` starts halving sooner, skipping the
 * slow fixed-rate plateau. An epoch that makes validation
 * worse is rolled back. Every sentence is one truncated-BPTT SGD step, exactly
 * as /learn does it, so the shipped model is trained by the code that serves it.
 */

export interface TrainConfig {
  hidden: number;
  /** Classes of the factorized output; 0 for a full softmax. */
  classes: number;
  /** Direct n-gram connections: feature orders (0: none) and hashed table size (a power of two). */
  directOrder: number;
  directSize: number;
  truncate: number;
  lr: number;
  clipNorm: number;
  maxStepNorm: number;
  minImprovement: number;
  /** Start halving below this relative gain (default: minImprovement, the classic recipe). */
  halveBelow?: number;
  maxEpochs: number;
  seed: number;
}

export interface EpochReport {
  epoch: number;
  lr: number;
  trainPerplexity: number;
  validPerplexity: number;
  seconds: number;
  /** False when this epoch made validation worse and was rolled back. */
  kept: boolean;
}

export interface TrainHooks {
  /** Called every few hundred sentences. */
  progress?: (epoch: number, done: number, total: number) => void;
  epoch?: (r: EpochReport) => void;
  now: () => number;
}

/** Perplexity of a set of sentences (each [<s>, ..., </s>]), over every predicted token. */
export function perplexity(m: RnnLm, sentences: readonly Int32Array[], ws: Workspace): number {
  let nll = 0;
  let tokens = 0;
  for (const ids of sentences) {
    const steps = ids.length - 1;
    nll += sentenceLoss(m, ids, ws) * steps;
    tokens += steps;
  }
  return Math.exp(nll / tokens);
}

/**
 * Classes are cut by the square root of unigram counts, as the RNNLM toolkit
 * does by default: frequent words get classes of their own while rare words
 * share smaller classes than equal-mass binning gives them, which on Brown
 * (V = 10k, K = 100) cuts the expected output rows per token from 200 to 135.
 */
export function sqrtCounts(counts: ArrayLike<number>): Float64Array {
  return Float64Array.from(counts, (c) => Math.sqrt(c));
}

function shuffled(n: number, rng: Rng): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

export function trainModel(
  train: readonly Int32Array[],
  valid: readonly Int32Array[],
  counts: ArrayLike<number>,
  cfg: TrainConfig,
  hooks: TrainHooks,
): { model: RnnLm; epochs: EpochReport[] } {
  const rng = seededRng(cfg.seed);
  const classStart = cfg.classes > 0 ? assignClasses(sqrtCounts(counts), cfg.classes) : undefined;
  const direct = cfg.directOrder > 0 ? { order: cfg.directOrder, size: cfg.directSize } : undefined;
  let model = initModel({ vocab: counts.length, hidden: cfg.hidden, classStart, direct }, rng);
  const maxSteps = Math.max(...train.map((s) => s.length), ...valid.map((s) => s.length));
  const ws = new Workspace(model, maxSteps);
  let best = perplexity(model, valid, ws);
  const epochs: EpochReport[] = [];
  const opts: SgdOptions = { lr: cfg.lr, clipNorm: cfg.clipNorm, maxStepNorm: cfg.maxStepNorm };
  let halving = false;
  for (let epoch = 1; epoch <= cfg.maxEpochs; epoch++) {
    const start = hooks.now();
    const snapshot = cloneModel(model);
    const order = shuffled(train.length, rng);
    let nll = 0;
    let tokens = 0;
    for (let i = 0; i < order.length; i++) {
      const ids = train[order[i]];
      // The loss under the weights before the sentence's own update: an honest running train loss.
      nll += sentenceGradient(model, ids, cfg.truncate, ws) * (ids.length - 1);
      sgdStep(model, ws.grad, opts);
      tokens += ids.length - 1;
      if (hooks.progress && i % 500 === 0) hooks.progress(epoch, i, order.length);
    }
    const validPerplexity = perplexity(model, valid, ws);
    const kept = validPerplexity < best;
    const report: EpochReport = {
      epoch,
      lr: opts.lr,
      trainPerplexity: Math.exp(nll / tokens),
      validPerplexity,
      seconds: (hooks.now() - start) / 1000,
      kept,
    };
    epochs.push(report);
    hooks.epoch?.(report);
    // Relative gain in validation log-likelihood, measured before `best` moves.
    const gain = kept ? (Math.log(best) - Math.log(validPerplexity)) / Math.log(best) : -Infinity;
    if (kept) best = validPerplexity;
    else model = snapshot;
    if (halving && !(gain > cfg.minImprovement)) break;
    if (!(gain > (cfg.halveBelow ?? cfg.minImprovement))) halving = true;
    if (halving) opts.lr /= 2;
  }
  return { model, epochs };
}
