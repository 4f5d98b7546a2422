import { forEachSegment, type Gradient, type SegmentVisitor } from "./gradient.ts";
import type { RnnLm } from "./model.ts";

export interface SgdOptions {
  /** Learning rate. */
  lr: number;
  /** Gradient-norm clipping threshold (L2 over every parameter). */
  clipNorm: number;
  /** Cap on the L2 norm of the whole update (lr × clipped gradient). */
  maxStepNorm: number;
}

export interface SgdResult {
  /** False when the update was refused; the weights are then untouched. */
  applied: boolean;
  /** L2 norm of the raw gradient (NaN or Infinity when it was not finite). */
  gradNorm: number;
  /** L2 norm of the update actually applied (0 when refused). */
  stepNorm: number;
}

/**
 * Below this, |w| + |update| cannot round to a non-finite float32
 * (float32's largest value is 3.4e38).
 */
const SAFE_MAGNITUDE = 1e38;

/** state[0] += Σ grad²; state[1] += Σ w² (NaN or Infinity if any weight is). */
const sumSquares: SegmentVisitor = (weights, wOffset, wStride, grad, gOffset, length, state) => {
  let gg = 0;
  let ww = 0;
  for (let i = 0; i < length; i++) {
    const d = grad[gOffset + i];
    const w = weights[wOffset + i * wStride];
    gg += d * d;
    ww += w * w;
  }
  state[0] += gg;
  state[1] += ww;
};

/** state[1] += how many w - state[0]·grad are not finite in float32. */
const countNonFinite: SegmentVisitor = (weights, wOffset, wStride, grad, gOffset, length, state) => {
  const scale = state[0];
  let bad = 0;
  for (let i = 0; i < length; i++) {
    if (!Number.isFinite(Math.fround(weights[wOffset + i * wStride] - scale * grad[gOffset + i]))) bad++;
  }
  state[1] += bad;
};

/**
 * w -= state[0]·grad. The + 0 turns a -0 product into +0, so a zero step (rehearse's, at learning
 * rate 0) leaves every bit as it is: w - (-0) would turn a -0 weight into +0.
 */
const applyStep: SegmentVisitor = (weights, wOffset, wStride, grad, gOffset, length, state) => {
  const scale = state[0];
  for (let i = 0; i < length; i++) weights[wOffset + i * wStride] -= scale * grad[gOffset + i] + 0;
};

/**
 * One SGD step with gradient-norm clipping and an update-norm cap. The update
 * is all-or-nothing: it is checked in full before any weight is written, so a
 * refused step leaves the model bit-identical.
 *
 * Two passes over the touched weights in the usual case: the first sums the
 * squares of the gradient and of the weights. No weight is larger than the
 * weights' norm and none moves by more than the step's norm, so
 * |w - scale·g| <= ‖w‖ + stepNorm; when that is far below float32's range,
 * every updated weight is finite without looking. Only otherwise does a third
 * pass check each one before the update.
 */
export function sgdStep(m: RnnLm, g: Gradient, opts: SgdOptions): SgdResult {
  const state = new Float64Array(2);
  forEachSegment(m, g, sumSquares, state);
  const gradNorm = Math.sqrt(state[0]);
  const weightNorm = Math.sqrt(state[1]);
  if (!Number.isFinite(gradNorm) || !Number.isFinite(opts.lr)) return { applied: false, gradNorm, stepNorm: 0 };
  let scale = opts.lr * (gradNorm > opts.clipNorm ? opts.clipNorm / gradNorm : 1);
  if (scale * gradNorm > opts.maxStepNorm) scale = opts.maxStepNorm / gradNorm;
  state[0] = scale;
  state[1] = 0;
  if (!(weightNorm + scale * gradNorm < SAFE_MAGNITUDE)) {
    forEachSegment(m, g, countNonFinite, state);
    if (state[1] > 0) return { applied: false, gradNorm, stepNorm: 0 };
  }
  forEachSegment(m, g, applyStep, state);
  return { applied: true, gradNorm, stepNorm: scale * gradNorm };
}
