import type { Gradient } from "./gradient.ts";
import type { RnnLm } from "./model.ts";

/**
 * The recurrent layer: s(t) = tanh(U[:, x(t)] + W s(t-1)), s(-1) = 0,
 * and its truncated backpropagation through time.
 */

/** s = tanh(U[:, x] + W · prev). */
export function stepHidden(m: RnnLm, x: number, prev: Float64Array, s: Float64Array): void {
  const { hidden: h, vocab: n, U, W } = m;
  for (let i = 0; i < h; i++) {
    let z = U[i * n + x];
    const row = i * h;
    for (let j = 0; j < h; j++) z += W[row + j] * prev[j];
    s[i] = Math.tanh(z);
  }
}

/**
 * Classic truncated BPTT (as in the WildML RNN tutorial). states[t + 1] holds
 * s(t) (states[0] is s(-1) = 0); dsOut[t] holds dL(t)/ds(t) from the output
 * layer. For each output step t the error flows back through at most
 * `truncate` earlier steps: tau = t, t-1, ..., max(0, t - truncate), adding
 * dW += delta s(tau-1)ᵀ and dU[:, x(tau)] += delta, then
 * delta = Wᵀ delta ⊙ (1 - s(tau-1)²). U and W are shared by every step, so
 * their per-step gradients are summed.
 */
export function backpropThroughTime(
  m: RnnLm,
  inputs: ArrayLike<number>,
  states: readonly Float64Array[],
  dsOut: readonly Float64Array[],
  steps: number,
  truncate: number,
  g: Gradient,
  delta: Float64Array,
  next: Float64Array,
): void {
  const { hidden: h, W } = m;
  for (let t = steps - 1; t >= 0; t--) {
    const st = states[t + 1];
    const out = dsOut[t];
    for (let i = 0; i < h; i++) delta[i] = out[i] * (1 - st[i] * st[i]);
    const last = Math.max(0, t - truncate);
    for (let tau = t; tau >= last; tau--) {
      const prev = states[tau];
      const u = g.uSlot(inputs[tau]);
      for (let i = 0; i < h; i++) {
        const d = delta[i];
        g.dU[u + i] += d;
        const row = i * h;
        for (let j = 0; j < h; j++) g.dW[row + j] += d * prev[j];
      }
      if (tau === last) break;
      // delta(tau-1) = Wᵀ delta(tau) ⊙ (1 - s(tau-1)²)
      next.fill(0);
      for (let i = 0; i < h; i++) {
        const d = delta[i];
        const row = i * h;
        for (let j = 0; j < h; j++) next[j] += W[row + j] * d;
      }
      for (let j = 0; j < h; j++) delta[j] = next[j] * (1 - prev[j] * prev[j]);
    }
  }
}
