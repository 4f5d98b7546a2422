import { baseVocab, type RnnLm } from "../model/model.ts";

/**
 * How much CPU a learn costs, estimated before running it. Deployed Workers'
 * clocks stand still during computation, so the budget cannot be enforced by
 * watching a clock: instead the work of a learn is counted analytically (in
 * multiply-adds, split by the kind of loop that does them) and priced with
 * coefficients that `npm run bench -- --calibrate` measured inside workerd.
 */

/** The sizes a learn's cost depends on. */
export interface LearnShape {
  hidden: number;
  vocab: number;
  /** Classes K of a class-factorized output; 0 for a full softmax. */
  classes: number;
  /** Output rows scored per predicted token: K + the target's class size, or vocab for a full softmax. */
  rowsPerToken: number;
  /** Direct n-gram weights per output score (the model's direct order; 0 without them). */
  directOrder: number;
  /**
   * The model has learned words, so the learned words' fast step (learnedWordsStep) follows the
   * SGD steps: at most one more pass over the rows scored (its class scores, and the learned
   * class's rows where a learned word is the target).
   */
  newWordStep?: boolean;
}

export interface LearnCostOptions {
  /** BPTT truncation: error flows back through at most this many earlier steps. */
  truncate: number;
  /** SGD steps on the sentence. */
  steps: number;
}

/** Multiply-adds of one learn, by the loops that do them. */
export interface LearnWork {
  /** H x H work: the recurrence forward, its backpropagation, dW and the W update. */
  recurrent: number;
  /**
   * Output-row work (H + direct order per row: each score also reads, and its
   * backward writes, one direct weight per order): scores, their backward,
   * and the touched rows' update.
   */
  output: number;
}

/** Per-unit prices, measured by the benchmark on one machine. */
export interface Calibration {
  /** Cost of a learn beyond its loops (calls, resets, bookkeeping), ms. */
  fixedMs: number;
  nsPerRecurrentMac: number;
  nsPerOutputMac: number;
  /** Multiplier >= 1 covering the worst measured under-estimate (p95 against the fit). */
  margin: number;
  /** Where and when it was measured, for the record. */
  measured: string;
}

/** Checks a calibration read from JSON: finite, non-negative prices and a margin >= 1. */
export function parseCalibration(json: unknown): Calibration {
  const o = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const price = (k: string): number => {
    const v = o[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0)
      throw new Error(`calibration ${k} must be a finite number >= 0`);
    return v;
  };
  const cal = {
    fixedMs: price("fixedMs"),
    nsPerRecurrentMac: price("nsPerRecurrentMac"),
    nsPerOutputMac: price("nsPerOutputMac"),
    margin: price("margin"),
    measured: typeof o.measured === "string" ? o.measured : "",
  };
  if (cal.margin < 1) throw new Error("calibration margin must be >= 1");
  return cal;
}

/**
 * Work of learning a sentence of `tokens` words (tokens + 1 predicted steps,
 * counting </s>): every SGD step runs the forward pass with the output
 * layer's backward, BPTT and an update of the touched weights; then, with
 * learned words, their fast step, and one more forward pass gives the loss
 * after the update (see learnSentence).
 */
export function learnWork(tokens: number, opts: LearnCostOptions, shape: LearnShape): LearnWork {
  const h = shape.hidden;
  const t = tokens + 1;
  // Step t sends its error back through min(t, truncate) earlier steps.
  let propagated = 0;
  for (let i = 0; i < t; i++) propagated += Math.min(i, opts.truncate);
  const rows = shape.rowsPerToken * t;
  // Forward, propagation, dW outer products (none at step 0), the W update.
  const recurrentPerStep = (t + propagated + (t - 1) + 1) * h * h;
  // Scores, then 2 multiply-adds per row entry backward; the update touches each scored row
  // at most once, plus C and one U column per token.
  const row = h + shape.directOrder;
  const outputPerStep = (3 * rows + Math.min(rows, shape.vocab) + shape.classes) * row + tokens * h;
  return {
    recurrent: opts.steps * recurrentPerStep + t * h * h,
    output: opts.steps * outputPerStep + (shape.newWordStep ? 2 : 1) * rows * row,
  };
}

/** Estimated CPU ms of a learn, margin included. */
export function estimateLearnMs(tokens: number, opts: LearnCostOptions, shape: LearnShape, cal: Calibration): number {
  const w = learnWork(tokens, opts, shape);
  return cal.margin * (cal.fixedMs + (w.recurrent * cal.nsPerRecurrentMac + w.output * cal.nsPerOutputMac) * 1e-6);
}

export interface LearnPlan {
  /** How many of the sentence's most recent tokens to learn (0: not even one fits). */
  tokens: number;
  /** True when fewer tokens than given are learned. */
  truncated: boolean;
  /** Estimated CPU ms of learning those tokens. */
  estimateMs: number;
}

/** The longest most-recent window of a `tokens`-word sentence whose learn fits budgetMs. */
export function planLearn(
  tokens: number,
  opts: LearnCostOptions,
  budgetMs: number,
  shape: LearnShape,
  cal: Calibration,
): LearnPlan {
  // Cost grows with the window, so scan down from the whole sentence (at most a few dozen tokens).
  for (let n = tokens; n > 0; n--) {
    const estimateMs = estimateLearnMs(n, opts, shape, cal);
    if (estimateMs <= budgetMs) return { tokens: n, truncated: n < tokens, estimateMs };
  }
  return { tokens: 0, truncated: tokens > 0, estimateMs: 0 };
}

/**
 * The shape of learning `ids` ([<s>, w1, ..., wn, </s>]) with model m: for a
 * class-factorized output, each predicted token scores the K class rows and
 * the rows of its own class.
 */
export function learnShape(m: RnnLm, ids: ArrayLike<number>): LearnShape {
  const base = {
    hidden: m.hidden,
    vocab: m.vocab,
    directOrder: m.direct?.order ?? 0,
    ...(m.vocab > baseVocab(m) && { newWordStep: true }),
  };
  if (m.output.kind === "full") return { ...base, classes: 0, rowsPerToken: m.vocab };
  const { classes, classStart, wordClass } = m.output;
  let rows = 0;
  for (let t = 1; t < ids.length; t++) {
    const c = wordClass[ids[t]];
    rows += classes + classStart[c + 1] - classStart[c];
  }
  return { ...base, classes, rowsPerToken: ids.length > 1 ? rows / (ids.length - 1) : classes };
}
