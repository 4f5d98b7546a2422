import type { Gradient } from "../gradient.ts";
import type { DirectLayer } from "../model.ts";

/**
 * Direct n-gram connections (Mikolov et al., 2011, the "ME" of RNNME): every
 * output score, of a class or of a word, also gets one weight per n-gram of
 * the history, for n = 0 (a bias) up to order - 1 previous words. This is a
 * maximum-entropy n-gram model trained jointly with the RNN: it holds the
 * sharp, word-specific statistics ("of the", "united states") that a small
 * hidden state blurs, and a few learns are enough to move it.
 *
 * The weights live in one hashed array D of 2^b floats. For a history h of n
 * words, base(h) = hash(n, h) mod |D|, and the weight of output o is
 * D[(base(h) + o) mod |D|]: the outputs of one history are adjacent, so a
 * run of scores reads one contiguous stretch of D per order. Class and word
 * outputs hash with different seeds. Collisions share a weight, as in the
 * RNNLM toolkit; the table size trades memory for fewer of them.
 */

/**
 * Which direct weights add to a run of output scores: D[(bases[n] + o) & (|D| - 1)] for n < count
 * and o < shared, plus, with a personal layer (src/model/personal.ts), its hashed deltas
 * P[(layerBases[n] + o) & (|P| - 1)] for every o.
 */
export class DirectScores {
  /** The model's D (set with the history, so it always belongs to the model being scored). */
  D: Float32Array = new Float32Array(0);
  readonly bases: Int32Array;
  /** Orders whose history is available at this position (0 when the model has no direct layer). */
  count = 0;
  /** A personal layer's deltas (empty without one) and their bases: the same hashes, masked to |P|. */
  P: Float32Array = NO_LAYER;
  readonly layerBases: Int32Array;
  /** Outputs from here on (a user's own words and their class) read only P, not the shared D. */
  shared = UNBOUNDED;
  /** Rows from here on are zero (a user's own words' output rows), so their products are 0. */
  zeroRowsFrom = UNBOUNDED;

  constructor(order: number) {
    this.bases = new Int32Array(order);
    this.layerBases = new Int32Array(order);
  }
}

const NO_LAYER = new Float32Array(0);
const UNBOUNDED = 2 ** 31 - 1;

const WORD_SEED = 0x2545f491;
const CLASS_SEED = 0x6c8e9cf5;

/** A 32-bit mix of h and x (multiply, then fold the high bits down). */
function mix(h: number, x: number): number {
  const m = Math.imul(h ^ x, 0x9e3779b1);
  return m ^ (m >>> 15);
}

/**
 * Sets the feature bases for the position that has just read ids[t]: the
 * n-gram histories ids[t - n + 1 .. t] for n < order, as far back as ids goes.
 */
export function setHistory(
  direct: DirectLayer,
  ids: ArrayLike<number>,
  t: number,
  word: DirectScores,
  cls: DirectScores,
): void {
  const mask = direct.D.length - 1;
  const layer = direct.layer;
  const P = layer?.delta ?? NO_LAYER;
  const layerMask = P.length - 1;
  const count = Math.min(direct.order, t + 2);
  let h = 0;
  for (let n = 0; n < count; n++) {
    if (n > 0) h = mix(h, ids[t - n + 1] + 1);
    const w = mix(h, WORD_SEED + n);
    const c = mix(h, CLASS_SEED + n);
    word.bases[n] = w & mask;
    cls.bases[n] = c & mask;
    word.layerBases[n] = w & layerMask;
    cls.layerBases[n] = c & layerMask;
  }
  word.D = cls.D = direct.D;
  word.P = cls.P = P;
  word.shared = word.zeroRowsFrom = layer?.sharedWords ?? UNBOUNDED;
  cls.shared = layer?.sharedClasses ?? UNBOUNDED;
  word.count = cls.count = count;
}

/** scores[i] += the direct weights of output from + i, for i < to - from: the shared ones, then a layer's. */
export function addDirectScores(x: DirectScores, from: number, to: number, scores: Float64Array): void {
  addHashed(x.D, x.bases, x.count, from, Math.min(to, x.shared), scores);
  if (x.P.length > 0) addHashed(x.P, x.layerBases, x.count, from, to, scores);
}

function addHashed(
  table: Float32Array,
  bases: Int32Array,
  count: number,
  from: number,
  to: number,
  scores: Float64Array,
): void {
  const mask = table.length - 1;
  for (let n = 0; n < count; n++) {
    const base = bases[n] + from;
    for (let i = 0; i < to - from; i++) scores[i] += table[(base + i) & mask];
  }
}

/**
 * Backward of -ln probs[target - from] into the direct weights: each score's
 * error (probs - onehot(target)) is its feature weights' gradient.
 */
export function directBackward(
  x: DirectScores,
  from: number,
  to: number,
  probs: Float64Array,
  target: number,
  g: Gradient,
): void {
  const mask = x.D.length - 1;
  for (let n = 0; n < x.count; n++) {
    const base = x.bases[n] + from;
    for (let i = 0; i < to - from; i++) g.addDirect((base + i) & mask, i === target - from ? probs[i] - 1 : probs[i]);
  }
}
