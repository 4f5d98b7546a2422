/**
 * The baseline: the RNN language model as the classic tutorial writes it
 * (Britz, "Recurrent Neural Networks Tutorial", WildML 2015, numpy), line for
 * line in plain loops:
 *   - a full softmax over the whole vocabulary at every step, every o(t) kept;
 *   - dense dL/dU [H x V], dL/dV [V x H], dL/dW [H x H] allocated for every
 *     SGD step and applied to every weight;
 *   - the error of each output step walked back through its truncation window
 *     on its own, with one outer product per (t, tau) pair;
 *   - prediction runs the whole forward pass (softmax at every step) and sorts
 *     the last distribution.
 * Two liberties keep it from being a straw man: numpy's temporaries (np.outer
 * and V.T.dot(...) allocate a fresh matrix or vector) are added in place, and
 * the tutorial's last, unused propagation below the window is skipped.
 * It shares only the weights' layout with src/model (U [H x V], W [H x H],
 * V [V x H], float32) and none of its code.
 */

export interface NaiveRnn {
  readonly vocab: number;
  readonly hidden: number;
  readonly U: Float32Array;
  readonly W: Float32Array;
  readonly V: Float32Array;
}

export interface Forward {
  /** s[t + 1] = s(t); s[0] = s(-1) = 0. */
  s: Float64Array[];
  /** o[t] = softmax(V s(t)) over the whole vocabulary. */
  o: Float64Array[];
}

/** forward_propagation(x): every hidden state and every output distribution. */
export function naiveForward(m: NaiveRnn, x: ArrayLike<number>): Forward {
  const { vocab: n, hidden: h, U, W, V } = m;
  const steps = x.length;
  const s = [new Float64Array(h)];
  const o: Float64Array[] = [];
  for (let t = 0; t < steps; t++) {
    const prev = s[t];
    const st = new Float64Array(h);
    for (let i = 0; i < h; i++) {
      let z = U[i * n + x[t]];
      for (let j = 0; j < h; j++) z += W[i * h + j] * prev[j];
      st[i] = Math.tanh(z);
    }
    s.push(st);
    const ot = new Float64Array(n);
    let max = -Infinity;
    for (let v = 0; v < n; v++) {
      let z = 0;
      for (let j = 0; j < h; j++) z += V[v * h + j] * st[j];
      ot[v] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let v = 0; v < n; v++) {
      ot[v] = Math.exp(ot[v] - max);
      sum += ot[v];
    }
    for (let v = 0; v < n; v++) ot[v] /= sum;
    o.push(ot);
  }
  return { s, o };
}

/** Summed cross-entropy of predicting y[t] from x[0..t]. */
export function naiveLoss(f: Forward, y: ArrayLike<number>): number {
  let loss = 0;
  for (let t = 0; t < y.length; t++) loss -= Math.log(f.o[t][y[t]]);
  return loss;
}

export interface NaiveGradient {
  dU: Float64Array;
  dV: Float64Array;
  dW: Float64Array;
}

/** bptt(x, y): the dense gradient of the summed loss, by truncated BPTT. */
export function naiveBptt(
  m: NaiveRnn,
  f: Forward,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  truncate: number,
): NaiveGradient {
  const { vocab: n, hidden: h, V, W } = m;
  const dU = new Float64Array(h * n);
  const dV = new Float64Array(n * h);
  const dW = new Float64Array(h * h);
  for (let t = y.length - 1; t >= 0; t--) {
    // delta_o = o - onehot(y)
    const deltaO = Float64Array.from(f.o[t]);
    deltaO[y[t]] -= 1;
    const st = f.s[t + 1];
    // dV += outer(delta_o, s(t))
    for (let v = 0; v < n; v++) for (let j = 0; j < h; j++) dV[v * h + j] += deltaO[v] * st[j];
    // delta = Vᵀ delta_o ⊙ (1 - s(t)²)
    let delta = new Float64Array(h);
    for (let v = 0; v < n; v++) for (let j = 0; j < h; j++) delta[j] += V[v * h + j] * deltaO[v];
    for (let j = 0; j < h; j++) delta[j] *= 1 - st[j] * st[j];
    for (let tau = t; tau >= Math.max(0, t - truncate); tau--) {
      const prev = f.s[tau];
      // dW += outer(delta, s(tau - 1)); dU[:, x(tau)] += delta
      for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) dW[i * h + j] += delta[i] * prev[j];
      for (let i = 0; i < h; i++) dU[i * n + x[tau]] += delta[i];
      if (tau === Math.max(0, t - truncate)) break;
      // delta = Wᵀ delta ⊙ (1 - s(tau - 1)²)
      const next = new Float64Array(h);
      for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) next[j] += W[i * h + j] * delta[i];
      for (let j = 0; j < h; j++) next[j] *= 1 - prev[j] * prev[j];
      delta = next;
    }
  }
  return { dU, dV, dW };
}

/**
 * One learn of a sentence ids = [<s>, ..., </s>], as /learn does it: the loss
 * and gradient, one SGD step on every weight, then the loss again.
 * Returns the mean losses before and after.
 */
export function naiveLearn(
  m: NaiveRnn,
  ids: ArrayLike<number>,
  lr: number,
  truncate: number,
): { lossBefore: number; lossAfter: number } {
  const x = Array.prototype.slice.call(ids, 0, ids.length - 1) as number[];
  const y = Array.prototype.slice.call(ids, 1) as number[];
  const f = naiveForward(m, x);
  const lossBefore = naiveLoss(f, y) / y.length;
  const g = naiveBptt(m, f, x, y, truncate);
  for (let i = 0; i < m.U.length; i++) m.U[i] -= lr * g.dU[i];
  for (let i = 0; i < m.V.length; i++) m.V[i] -= lr * g.dV[i];
  for (let i = 0; i < m.W.length; i++) m.W[i] -= lr * g.dW[i];
  const lossAfter = naiveLoss(naiveForward(m, x), y) / y.length;
  return { lossBefore, lossAfter };
}

/** predict: the forward pass over the prefix, then the k most probable next ids by a full sort. */
export function naivePredict(m: NaiveRnn, ids: ArrayLike<number>, k: number): number[] {
  const f = naiveForward(m, ids);
  const last = f.o[f.o.length - 1];
  const order = Array.from(last.keys()).sort((a, b) => last[b] - last[a]);
  return order.slice(0, k);
}
