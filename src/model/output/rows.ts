/**
 * The two kernels both output layers are made of: a softmax over the scores
 * of a run of weight rows, and its backward pass. Rows are [rows x H], row r
 * at weights[r * H .. r * H + H).
 */
import { addTransposed, matVec } from "../kernels.ts";
import { addDirectScores, type DirectScores } from "./direct.ts";

/** probs[i] = softmax_i(rows[from + i] · s + direct weights of output from + i) for i < to - from. */
export function softmaxRows(
  weights: Float32Array,
  from: number,
  to: number,
  s: Float64Array,
  probs: Float64Array,
  direct: DirectScores,
): void {
  // A user's own words' rows are zero (src/model/personal.ts): no product to take.
  const rows = Math.max(from, Math.min(to, direct.zeroRowsFrom));
  if (rows > from) matVec(weights, from, rows, s, probs);
  probs.fill(0, rows - from, to - from);
  addDirectScores(direct, from, to, probs);
  const n = to - from;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (probs[i] > max) max = probs[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(probs[i] - max);
    probs[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) probs[i] *= inv;
}

/**
 * Backward of -ln probs[target - from]: the score error is probs - onehot(target);
 * adds error ⊗ s to the rows' gradient (row r at grad[gradOffset + (r - from) * H ..])
 * and rowsᵀ · error to ds.
 */
export function softmaxRowsBackward(
  weights: Float32Array,
  grad: Float64Array,
  gradOffset: number,
  from: number,
  to: number,
  probs: Float64Array,
  target: number,
  s: Float64Array,
  ds: Float64Array,
): void {
  const h = s.length;
  // ds += rowsᵀ · error in the kernel; the rows' gradient error ⊗ s here (it lives in JS arrays).
  addTransposed(weights, from, to, probs, ds, target);
  for (let r = from; r < to; r++) {
    const e = r === target ? probs[r - from] - 1 : probs[r - from];
    const g = gradOffset + (r - from) * h;
    for (let j = 0; j < h; j++) grad[g + j] += e * s[j];
  }
}
