/**
 * The two kernels both output layers are made of: a softmax over the scores
 * of a run of weight rows, and its backward pass. Rows are [rows x H], row r
 * at weights[r * H .. r * H + H).
 */

/** probs[i] = softmax_i(rows[from + i] · s) for i < to - from. */
export function softmaxRows(
  weights: Float32Array,
  from: number,
  to: number,
  s: Float64Array,
  probs: Float64Array,
): void {
  const h = s.length;
  let max = -Infinity;
  for (let r = from; r < to; r++) {
    const base = r * h;
    let z = 0;
    for (let j = 0; j < h; j++) z += weights[base + j] * s[j];
    probs[r - from] = z;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let i = 0; i < to - from; i++) {
    const e = Math.exp(probs[i] - max);
    probs[i] = e;
    sum += e;
  }
  const inv = 1 / sum;
  for (let i = 0; i < to - from; i++) probs[i] *= inv;
}

/**
 * Backward of -ln probs[target - from]: the score error is probs - onehot(target);
 * adds error ⊗ s to the rows' gradient and rowsᵀ · error to ds.
 */
export function softmaxRowsBackward(
  weights: Float32Array,
  grad: Float64Array,
  from: number,
  to: number,
  probs: Float64Array,
  target: number,
  s: Float64Array,
  ds: Float64Array,
): void {
  const h = s.length;
  for (let r = from; r < to; r++) {
    const err = r === target ? probs[r - from] - 1 : probs[r - from];
    const base = r * h;
    for (let j = 0; j < h; j++) {
      grad[base + j] += err * s[j];
      ds[j] += err * weights[base + j];
    }
  }
}
