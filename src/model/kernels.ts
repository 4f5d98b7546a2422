/**
 * Matrix kernels on typed arrays, shaped for the JIT. V8 keeps the order of
 * floating-point operations as written, so one running sum makes every add
 * wait for the previous one, and a loop that adds into an array loads and
 * stores each entry once per pass. These kernels take four rows (or four
 * vectors) per pass: four independent sums, one load/store per four terms.
 * A last loop takes what is left one at a time.
 */

/** out[r - from] = rows[r] · x for r in [from, to), rows [* x h] row-major, h = x.length. */
export function matVec(rows: Float32Array, from: number, to: number, x: Float64Array, out: Float64Array): void {
  const h = x.length;
  let r = from;
  for (; r + 3 < to; r += 4) {
    const b0 = r * h;
    const b1 = b0 + h;
    const b2 = b1 + h;
    const b3 = b2 + h;
    let z0 = 0;
    let z1 = 0;
    let z2 = 0;
    let z3 = 0;
    for (let j = 0; j < h; j++) {
      const xj = x[j];
      z0 += rows[b0 + j] * xj;
      z1 += rows[b1 + j] * xj;
      z2 += rows[b2 + j] * xj;
      z3 += rows[b3 + j] * xj;
    }
    out[r - from] = z0;
    out[r - from + 1] = z1;
    out[r - from + 2] = z2;
    out[r - from + 3] = z3;
  }
  for (; r < to; r++) {
    const b = r * h;
    let z = 0;
    for (let j = 0; j < h; j++) z += rows[b + j] * x[j];
    out[r - from] = z;
  }
}

/** out = Wᵀ d for W [h x h], h = d.length. */
export function transposedMatVec(W: Float32Array, d: Float64Array, out: Float64Array): void {
  const h = d.length;
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

/** M += Σ a[k] b[k]ᵀ for k in [from, to), M [h x h], h = the vectors' length. */
export function addOuterProducts(
  M: Float64Array,
  a: readonly Float64Array[],
  b: readonly Float64Array[],
  from: number,
  to: number,
): void {
  let k = from;
  for (; k + 3 < to; k += 4) {
    const a0 = a[k];
    const a1 = a[k + 1];
    const a2 = a[k + 2];
    const a3 = a[k + 3];
    const b0 = b[k];
    const b1 = b[k + 1];
    const b2 = b[k + 2];
    const b3 = b[k + 3];
    const h = a0.length;
    for (let i = 0; i < h; i++) {
      const x0 = a0[i];
      const x1 = a1[i];
      const x2 = a2[i];
      const x3 = a3[i];
      const row = i * h;
      for (let j = 0; j < h; j++) M[row + j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j];
    }
  }
  for (; k < to; k++) {
    const ak = a[k];
    const bk = b[k];
    const h = ak.length;
    for (let i = 0; i < h; i++) {
      const x = ak[i];
      const row = i * h;
      for (let j = 0; j < h; j++) M[row + j] += x * bk[j];
    }
  }
}
