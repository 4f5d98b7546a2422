import { forEachSegment, type Gradient } from "./gradient.ts";
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

function gradientNorm(m: RnnLm, g: Gradient): number {
  let sq = 0;
  forEachSegment(m, g, ({ grad, gOffset, length }) => {
    for (let i = gOffset; i < gOffset + length; i++) sq += grad[i] * grad[i];
  });
  return Math.sqrt(sq);
}

/** True when w - scale·g stays finite in float32 for every touched weight. */
function updateStaysFinite(m: RnnLm, g: Gradient, scale: number): boolean {
  let finite = true;
  forEachSegment(m, g, ({ weights, wOffset, wStride, grad, gOffset, length }) => {
    for (let i = 0; i < length && finite; i++) {
      finite = Number.isFinite(Math.fround(weights[wOffset + i * wStride] - scale * grad[gOffset + i]));
    }
  });
  return finite;
}

/**
 * One SGD step with gradient-norm clipping and an update-norm cap. The update
 * is all-or-nothing: it is checked in full before any weight is written, so a
 * refused step leaves the model bit-identical.
 */
export function sgdStep(m: RnnLm, g: Gradient, opts: SgdOptions): SgdResult {
  const gradNorm = gradientNorm(m, g);
  if (!Number.isFinite(gradNorm) || !Number.isFinite(opts.lr)) return { applied: false, gradNorm, stepNorm: 0 };
  let scale = opts.lr * (gradNorm > opts.clipNorm ? opts.clipNorm / gradNorm : 1);
  if (scale * gradNorm > opts.maxStepNorm) scale = opts.maxStepNorm / gradNorm;
  if (!updateStaysFinite(m, g, scale)) return { applied: false, gradNorm, stepNorm: 0 };
  forEachSegment(m, g, ({ weights, wOffset, wStride, grad, gOffset, length }) => {
    for (let i = 0; i < length; i++) weights[wOffset + i * wStride] -= scale * grad[gOffset + i];
  });
  return { applied: true, gradNorm, stepNorm: scale * gradNorm };
}
