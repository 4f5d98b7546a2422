import { describe, expect, it } from "vitest";
import { capacityOf, kernelMemoryOf, memoryHolding, placeTensors } from "../../src/model/kernel-memory.ts";
import { addOuterProducts, addTransposed, matVec, transposedMatVec } from "../../src/model/kernels.ts";
import { initModel } from "../../src/model/init.ts";
import { rnnLm } from "../../src/model/model.ts";
import { withLearnedCount, withWordSlots } from "../../src/model/new-words.ts";
import { fillUniform, seededRng } from "../../src/model/rng.ts";
import { halfBitsToFloat } from "../../src/store/safetensors.ts";

/**
 * The WebAssembly kernels against the scalar sums they must reproduce bit for bit: each sum in
 * the order of the blocked JavaScript kernels they replaced (four rows or four vectors per pass,
 * the rest one at a time), over sizes that leave every kind of remainder.
 */

function model(hidden: number, vocab: number) {
  return initModel({ vocab, hidden, classStart: Int32Array.from([0, 2, vocab]) }, seededRng(hidden * 31 + vocab));
}

function vector(n: number, seed: number): Float64Array {
  const v = new Float64Array(n);
  const f = new Float32Array(n);
  fillUniform(f, 1, seededRng(seed));
  for (let i = 0; i < n; i++) v[i] = f[i] * Math.PI + 1e-3 * i;
  return v;
}

function scalarMatVec(rows: Float32Array, from: number, to: number, x: Float64Array): number[] {
  const h = x.length;
  const out: number[] = [];
  for (let r = from; r < to; r++) {
    let z = 0;
    for (let j = 0; j < h; j++) z += rows[r * h + j] * x[j];
    out.push(z);
  }
  return out;
}

function blockedTransposed(W: Float32Array, d: Float64Array): number[] {
  const h = d.length;
  const out = new Array<number>(h).fill(0);
  let i = 0;
  for (; i + 3 < h; i += 4) {
    for (let j = 0; j < h; j++)
      out[j] +=
        W[i * h + j] * d[i] +
        W[(i + 1) * h + j] * d[i + 1] +
        W[(i + 2) * h + j] * d[i + 2] +
        W[(i + 3) * h + j] * d[i + 3];
  }
  for (; i < h; i++) for (let j = 0; j < h; j++) out[j] += W[i * h + j] * d[i];
  return out;
}

/** out + Σ rows[r] d[r - from] in blocks of four rows from `from`, as softmaxRowsBackward's ds was. */
function blockedAddTransposed(rows: Float32Array, from: number, to: number, d: number[], out: Float64Array): number[] {
  const h = out.length;
  const o = Array.from(out);
  let r = from;
  for (; r + 3 < to; r += 4) {
    const [e0, e1, e2, e3] = [d[r - from], d[r - from + 1], d[r - from + 2], d[r - from + 3]];
    for (let j = 0; j < h; j++)
      o[j] +=
        e0 * rows[r * h + j] + e1 * rows[(r + 1) * h + j] + e2 * rows[(r + 2) * h + j] + e3 * rows[(r + 3) * h + j];
  }
  for (; r < to; r++) for (let j = 0; j < h; j++) o[j] += d[r - from] * rows[r * h + j];
  return o;
}

function blockedOuter(M: Float64Array, a: Float64Array[], b: Float64Array[], from: number, to: number): number[] {
  const out = Array.from(M);
  const h = a[from].length;
  let k = from;
  for (; k + 3 < to; k += 4) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < h; j++)
        out[i * h + j] +=
          a[k][i] * b[k][j] + a[k + 1][i] * b[k + 1][j] + a[k + 2][i] * b[k + 2][j] + a[k + 3][i] * b[k + 3][j];
    }
  }
  for (; k < to; k++) for (let i = 0; i < h; i++) for (let j = 0; j < h; j++) out[i * h + j] += a[k][i] * b[k][j];
  return out;
}

describe("WebAssembly kernels", () => {
  for (const h of [1, 3, 4, 5, 8, 13]) {
    it(`matVec, transposedMatVec and addOuterProducts equal the scalar sums bit for bit (h = ${h})`, () => {
      const m = model(h, 11);
      const x = vector(h, 1);
      for (const [from, to] of [
        [0, 11],
        [2, 9],
        [3, 4],
        [5, 5],
      ]) {
        const out = new Float64Array(to - from);
        matVec(m.V, from, to, x, out);
        expect(Array.from(out)).toEqual(scalarMatVec(m.V, from, to, x));
      }
      const t = new Float64Array(h);
      transposedMatVec(m.W, x, t);
      expect(Array.from(t)).toEqual(blockedTransposed(m.W, x));
      for (const [from, to, target] of [
        [0, 11, 3],
        [2, 9, 8],
        [3, 4, 3],
        [1, 10, -1],
      ]) {
        const d = vector(to - from, 7);
        const ds = vector(h, 8);
        const err = Array.from(d, (v, i) => (i === target - from ? v - 1 : v));
        const want = blockedAddTransposed(m.V, from, to, err, ds);
        addTransposed(m.V, from, to, d, ds, target);
        expect(Array.from(ds)).toEqual(want);
      }
      const a = Array.from({ length: 7 }, (_, k) => vector(h, 10 + k));
      const b = Array.from({ length: 7 }, (_, k) => vector(h, 20 + k));
      for (const [from, to] of [
        [1, 7],
        [0, 4],
        [2, 3],
      ]) {
        const M = vector(h * h, 3);
        const want = blockedOuter(M, a, b, from, to);
        addOuterProducts(kernelMemoryOf(m.W), M, a, b, from, to);
        expect(Array.from(M)).toEqual(want);
      }
    });
  }

  it("scores a run of rows longer than the scratch in pieces, with the same results", () => {
    // D (4,096 floats, read as 1,024 rows of 4) is longer than any run the scratch was sized for.
    const m = initModel({ vocab: 30, hidden: 4, direct: { order: 2, size: 4096 } }, seededRng(3));
    const D = m.direct!.D;
    fillUniform(D, 1, seededRng(4));
    expect(kernelMemoryOf(D).outLength).toBeLessThan(1024);
    const x = vector(4, 2);
    const out = new Float64Array(1024);
    matVec(D, 0, 1024, x, out);
    expect(Array.from(out)).toEqual(scalarMatVec(D, 0, 1024, x));
    const d = vector(1024, 6);
    const ds = vector(4, 9);
    const want = blockedAddTransposed(
      D,
      0,
      1024,
      Array.from(d, (v, i) => (i === 1000 ? v - 1 : v)),
      ds,
    );
    addTransposed(D, 0, 1024, d, ds, 1000);
    expect(Array.from(ds)).toEqual(want);
  });

  it("refuses weights that are not in a kernel memory", () => {
    expect(() => matVec(new Float32Array(8), 0, 2, new Float64Array(4), new Float64Array(2))).toThrow(/kernel memory/);
  });
});

describe("kernel memory", () => {
  it("holds all of a model's weights in one memory, each in its own region", () => {
    const m = model(5, 11);
    const home = memoryHolding(m.U);
    expect(home).toBeDefined();
    for (const a of [m.W, m.V, m.output.kind === "class" ? m.output.C : m.V]) expect(memoryHolding(a)).toBe(home);
    expect(capacityOf(m.V)).toBe(m.V.length);
    expect(capacityOf(new Float32Array(3))).toBe(3);
  });

  it("a model built from views of a memory shares it; one built from other arrays gets a copy of its own", () => {
    const m = model(5, 11);
    expect(memoryHolding(rnnLm({ ...m })!.U)).toBe(memoryHolding(m.U));
    const W = m.W.slice();
    const copy = rnnLm({ ...m, W });
    expect(memoryHolding(copy.U)).not.toBe(memoryHolding(m.U));
    copy.U[0] += 1;
    expect(copy.U[0]).not.toBe(m.U[0]);
  });

  it("learned words grow into the room a placement asked for, without a new memory or detached views", () => {
    const slotted = withWordSlots(model(4, 9), 6);
    expect(capacityOf(slotted.V)).toBe(15 * 4);
    const V = slotted.V;
    const grown = withLearnedCount(slotted, 3);
    expect(memoryHolding(grown.V)).toBe(memoryHolding(slotted.V));
    expect(V.length).toBe(9 * 4);
    expect(grown.V.length).toBe(12 * 4);
    const x = vector(4, 5);
    const out = new Float64Array(12);
    matVec(grown.V, 0, 12, x, out);
    expect(Array.from(out)).toEqual(scalarMatVec(grown.V, 0, 12, x));
  });
});

describe("float16 placement", () => {
  it("widens every half to its exact float32 value in place, odd lengths included", () => {
    for (const n of [65536, 65533, 7, 1]) {
      const bits = new Uint16Array(n);
      for (let i = 0; i < n; i++) bits[i] = (i * 40503) & 0xffff;
      const [{ view: a, firstNonFinite }] = placeTensors(1, 1, [
        { data: { halves: new Uint8Array(bits.buffer) }, capacity: n },
      ]);
      expect(a.length).toBe(n);
      expect(firstNonFinite).toBe(Array.from(bits).findIndex((b) => (b & 0x7c00) === 0x7c00));
      for (let i = 0; i < n; i++) {
        const want = halfBitsToFloat(bits[i]);
        if (Number.isNaN(want)) expect(a[i]).toBeNaN();
        else expect(Object.is(a[i], want), `half ${bits[i].toString(16)}: ${a[i]} != ${want}`).toBe(true);
      }
    }
  });

  it("reports the first value that is not finite, float32 or float16, wherever it is", () => {
    const place = (data: Float32Array) => placeTensors(1, 1, [{ data, capacity: data.length }])[0].firstNonFinite;
    const halves = (bits: number[]) =>
      placeTensors(1, 1, [
        { data: { halves: new Uint8Array(Uint16Array.from(bits).buffer) }, capacity: bits.length },
      ])[0].firstNonFinite;
    const values = Float32Array.from({ length: 11 }, (_, i) => i - 5);
    expect(place(values)).toBe(-1);
    expect(halves(Array.from({ length: 19 }, (_, i) => i))).toBe(-1);
    for (const i of [0, 2, 9, 10]) {
      for (const bad of [Infinity, -Infinity, NaN]) expect(place(values.map((x, j) => (j === i ? bad : x)))).toBe(i);
      // +Infinity, -Infinity, a NaN as halves; 19 halves: two steps of eight, then three one at a time.
      for (const bad of [0x7c00, 0xfc00, 0x7e01])
        expect(halves(Array.from({ length: 19 }, (_, j) => (j === i || j === 17 ? bad : j)))).toBe(i);
    }
    expect(halves(Array.from({ length: 19 }, (_, j) => (j === 17 ? 0x7c00 : j)))).toBe(17);
  });
});
