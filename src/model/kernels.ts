import { type KernelMemory, kernelMemoryOf } from "./kernel-memory.ts";

/**
 * Matrix kernels, in WebAssembly SIMD (src/kernels/kernels.wat). The weights are read where they
 * live, in the model's kernel memory (kernel-memory.ts); the float64 vectors are copied into its
 * scratch and the results out. Every kernel adds its terms in the order the blocked JavaScript
 * kernels it replaced did (four rows, or four vectors, per pass, and the rest one at a time), so
 * results are bit-identical to them: a matVec's two float64 lanes are two rows' running sums;
 * the others' lanes are two adjacent output elements.
 */

/** out[r - from] = rows[r] · x for r in [from, to), rows [* x h] row-major, h = x.length. */
export function matVec(rows: Float32Array, from: number, to: number, x: Float64Array, out: Float64Array): void {
  const km = kernelMemoryOf(rows);
  const f = km.f64;
  const outAt = km.out / 8;
  f.set(x, km.x / 8);
  // Rows are independent: a run longer than the scratch goes in pieces.
  for (let r = from; r < to; r += km.outLength) {
    const end = Math.min(to, r + km.outLength);
    km.kernels.mat_vec(rows.byteOffset, r, end, x.length, km.x, km.out);
    out.set(f.subarray(outAt, outAt + end - r), r - from);
  }
}

/** out = Wᵀ d for W [h x h], h = d.length. */
export function transposedMatVec(W: Float32Array, d: Float64Array, out: Float64Array): void {
  out.fill(0);
  addTransposed(W, 0, d.length, d, out);
}

/**
 * out += Σ_r rows[r] d[r - from] for r in [from, to) (rowsᵀ d), rows [* x h], h = out.length;
 * with `minusOneAt`, d[minusOneAt - from] - 1 in place of that entry (a softmax's error,
 * probs - onehot(target), without writing probs).
 */
export function addTransposed(
  rows: Float32Array,
  from: number,
  to: number,
  d: Float64Array,
  out: Float64Array,
  minusOneAt = -1,
): void {
  const km = kernelMemoryOf(rows);
  const f = km.f64;
  const h = out.length;
  // out in the scratch's first part, d in the second, in pieces of whole four-row blocks.
  const outAt = km.x / 8;
  const dAt = km.out / 8;
  const piece = km.outLength - (km.outLength % 4);
  f.set(out, outAt);
  for (let r = from; r < to; r += piece) {
    const end = Math.min(to, r + piece);
    f.set(d.subarray(r - from, end - from), dAt);
    if (minusOneAt >= r && minusOneAt < end) f[dAt + minusOneAt - r] -= 1;
    km.kernels.add_transposed(rows.byteOffset, r, end, h, km.out, km.x);
  }
  out.set(f.subarray(outAt, outAt + h));
}

/**
 * M += Σ a[k] b[k]ᵀ for k in [from, to), M [h x h], h = the vectors' length; km is the model's
 * kernel memory, whose scratch holds M and four pairs (a[k], b[k]) at a time.
 */
export function addOuterProducts(
  km: KernelMemory,
  M: Float64Array,
  a: readonly Float64Array[],
  b: readonly Float64Array[],
  from: number,
  to: number,
): void {
  if (to <= from) return;
  const h = a[from].length;
  const f = km.f64;
  const mAt = km.out / 8;
  const aAt = mAt + h * h;
  const bAt = aAt + 4 * h;
  f.set(M, mAt);
  for (let k = from; k < to; k += 4) {
    const n = Math.min(4, to - k);
    for (let i = 0; i < n; i++) {
      f.set(a[k + i], aAt + i * h);
      f.set(b[k + i], bAt + i * h);
    }
    km.kernels.add_outer_products(mAt * 8, aAt * 8, bAt * 8, n, h);
  }
  M.set(f.subarray(mAt, mAt + h * h));
}
