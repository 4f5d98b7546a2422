/**
 * The two kernels both output layers are made of: a softmax over the scores
 * of a run of weight rows, and its backward pass. Rows are [rows x H], row r
 * at weights[r * H .. r * H + H).
 */
import { matVec } from "../kernels.ts";
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
  matVec(weights, from, to, s, probs);
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
  // Four rows per pass, as in kernels.ts: each ds[j] is loaded and stored once per four rows.
  const err = (r: number) => (r === target ? probs[r - from] - 1 : probs[r - from]);
  let r = from;
  for (; r + 3 < to; r += 4) {
    const e0 = err(r);
    const e1 = err(r + 1);
    const e2 = err(r + 2);
    const e3 = err(r + 3);
    const b0 = r * h;
    const b1 = b0 + h;
    const b2 = b1 + h;
    const b3 = b2 + h;
    const g0 = gradOffset + (r - from) * h;
    const g1 = g0 + h;
    const g2 = g1 + h;
    const g3 = g2 + h;
    for (let j = 0; j < h; j++) {
      const x = s[j];
      grad[g0 + j] += e0 * x;
      grad[g1 + j] += e1 * x;
      grad[g2 + j] += e2 * x;
      grad[g3 + j] += e3 * x;
      ds[j] += e0 * weights[b0 + j] + e1 * weights[b1 + j] + e2 * weights[b2 + j] + e3 * weights[b3 + j];
    }
  }
  for (; r < to; r++) {
    const e = err(r);
    const base = r * h;
    const g = gradOffset + (r - from) * h;
    for (let j = 0; j < h; j++) {
      grad[g + j] += e * s[j];
      ds[j] += e * weights[base + j];
    }
  }
}
