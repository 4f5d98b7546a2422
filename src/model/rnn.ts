import type { Gradient } from "./gradient.ts";
import { kernelMemoryOf } from "./kernel-memory.ts";
import { addOuterProducts, matVec, transposedMatVec } from "./kernels.ts";
import { inputStride, type RnnLm } from "./model.ts";

/**
 * The recurrent layer: s(t) = tanh(U[:, x(t)] + W s(t-1)), s(-1) = 0,
 * and its truncated backpropagation through time.
 */

/** s = tanh(U[:, x] + W · prev); s and prev are distinct arrays. */
export function stepHidden(m: RnnLm, x: number, prev: Float64Array, s: Float64Array): void {
  const { hidden: h, U, W } = m;
  const stride = inputStride(m);
  matVec(W, 0, h, prev, s);
  for (let i = 0; i < h; i++) s[i] = Math.tanh(U[i * stride + x] + s[i]);
}

/**
 * Classic truncated BPTT (as in the WildML RNN tutorial). states[t + 1] holds
 * s(t) (states[0] is s(-1) = 0); dsOut[t] holds dL(t)/ds(t) from the output
 * layer. For each output step t the error flows back through at most
 * `truncate` earlier steps: tau = t, t-1, ..., max(0, t - truncate), with
 * delta(tau-1) = Wᵀ delta(tau) ⊙ (1 - s(tau-1)²), and each step adds
 * dW += delta s(tau-1)ᵀ and dU[:, x(tau)] += delta (U and W are shared by
 * every step, so their gradients are summed).
 *
 * Both of those sums are linear in delta, so the errors reaching step tau from
 * every output step are first added up in arrived[tau], and the outer products
 * are taken once per step instead of once per (t, tau) pair: the same sum,
 * about half the work at truncation 4.
 */
export function backpropThroughTime(
  m: RnnLm,
  inputs: ArrayLike<number>,
  states: readonly Float64Array[],
  dsOut: readonly Float64Array[],
  steps: number,
  truncate: number,
  g: Gradient,
  arrived: readonly Float64Array[],
  delta: Float64Array,
  next: Float64Array,
): void {
  const { hidden: h, W } = m;
  for (let t = 0; t < steps; t++) arrived[t].fill(0);
  for (let t = steps - 1; t >= 0; t--) {
    const st = states[t + 1];
    const out = dsOut[t];
    for (let i = 0; i < h; i++) delta[i] = out[i] * (1 - st[i] * st[i]);
    const last = Math.max(0, t - truncate);
    for (let tau = t; ; tau--) {
      const sum = arrived[tau];
      for (let i = 0; i < h; i++) sum[i] += delta[i];
      if (tau === last) break;
      // delta(tau-1) = Wᵀ delta(tau) ⊙ (1 - s(tau-1)²)
      const prev = states[tau];
      transposedMatVec(W, delta, next);
      for (let j = 0; j < h; j++) delta[j] = next[j] * (1 - prev[j] * prev[j]);
    }
  }
  for (let tau = 0; tau < steps; tau++) {
    const sum = arrived[tau];
    const u = g.uSlot(inputs[tau]);
    for (let i = 0; i < h; i++) g.dU[u + i] += sum[i];
  }
  // dW += Σ_tau arrived[tau] s(tau-1)ᵀ (states[tau] is s(tau-1); s(-1) = 0, so step 0 adds nothing).
  addOuterProducts(kernelMemoryOf(W), g.dW, arrived, states, 1, steps);
}
