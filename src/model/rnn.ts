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
      transposedTimes(W, delta, next, h);
      for (let j = 0; j < h; j++) delta[j] = next[j] * (1 - prev[j] * prev[j]);
    }
  }
  for (let tau = 0; tau < steps; tau++) {
    const sum = arrived[tau];
    const u = g.uSlot(inputs[tau]);
    for (let i = 0; i < h; i++) g.dU[u + i] += sum[i];
  }
  // dW += Σ_tau arrived[tau] s(tau-1)ᵀ (states[tau] is s(tau-1); s(-1) = 0, so step 0 adds nothing).
  addOuterProducts(g.dW, arrived, states, 1, steps, h);
}

/**
 * out = Wᵀ d for W [h x h]. Four rows of W per pass over out, so each out[j]
 * is loaded and stored once per four rows instead of once per row.
 */
function transposedTimes(W: Float32Array, d: Float64Array, out: Float64Array, h: number): void {
  out.fill(0);
  let i = 0;
  for (; i + 3 < h; i += 4) {
    const d0 = d[i];
    const d1 = d[i + 1];
    const d2 = d[i + 2];
    const d3 = d[i + 3];
    const r0 = i * h;
    const r1 = r0 + h;
    const r2 = r1 + h;
    const r3 = r2 + h;
    for (let j = 0; j < h; j++) out[j] += W[r0 + j] * d0 + W[r1 + j] * d1 + W[r2 + j] * d2 + W[r3 + j] * d3;
  }
  for (; i < h; i++) {
    const di = d[i];
    const r = i * h;
    for (let j = 0; j < h; j++) out[j] += W[r + j] * di;
  }
}

/**
 * dW += Σ a[tau] b[tau]ᵀ for tau in [from, to). Four steps per pass over
 * dW, so each dW entry is loaded and stored once per four outer products.
 */
function addOuterProducts(
  dW: Float64Array,
  a: readonly Float64Array[],
  b: readonly Float64Array[],
  from: number,
  to: number,
  h: number,
): void {
  let tau = from;
  for (; tau + 3 < to; tau += 4) {
    const a0 = a[tau];
    const a1 = a[tau + 1];
    const a2 = a[tau + 2];
    const a3 = a[tau + 3];
    const b0 = b[tau];
    const b1 = b[tau + 1];
    const b2 = b[tau + 2];
    const b3 = b[tau + 3];
    for (let i = 0; i < h; i++) {
      const x0 = a0[i];
      const x1 = a1[i];
      const x2 = a2[i];
      const x3 = a3[i];
      const row = i * h;
      for (let j = 0; j < h; j++) dW[row + j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j];
    }
  }
  for (; tau < to; tau++) {
    const at = a[tau];
    const bt = b[tau];
    for (let i = 0; i < h; i++) {
      const x = at[i];
      const row = i * h;
      for (let j = 0; j < h; j++) dW[row + j] += x * bt[j];
    }
  }
}
