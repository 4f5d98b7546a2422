import { inputStride, type RnnLm } from "./model.ts";

/**
 * Gradient accumulators for one learn, made once per model and reused.
 *
 * A sentence touches few input columns (one per token), with the
 * class-factorized output few output rows (the target classes), and few of
 * the hashed direct weights, so those are
 * stored packed, slot by slot: only touched parts are summed, clipped, applied
 * and zeroed, and memory follows what sentences touch rather than V x H
 * (8 MB of float64 at V = 10k, H = 100, whose allocation alone costs a cold
 * isolate ~20 ms). Sums are float64 because many small per-step terms are
 * added up.
 */
export class Gradient {
  readonly hidden: number;
  readonly vocab: number;
  /** [H x H] dL/dW. */
  readonly dW: Float64Array;
  /** [K x H] dL/dC, or empty for a full softmax. */
  readonly dC: Float64Array;
  /** Touched output row ranges [rowStart[i], rowEnd[i]), their dL/dV packed in vRows from rowOffset[i]. */
  readonly rowStart: Int32Array;
  readonly rowEnd: Int32Array;
  readonly rowOffset: Int32Array;
  rowRanges = 0;
  /** Packed dL/dV of the touched ranges; grows (by doubling) when a learn touches more rows than ever before. */
  vRows: Float64Array;
  /** dL/dU by touched column: slot i holds column uColumn[i] in dU[i*H .. i*H+H). */
  readonly uColumn: Int32Array;
  readonly dU: Float64Array;
  uColumns = 0;
  /** dL/dD by touched index: slot i holds D[dIndex[i]] in dD[i]; both grow by doubling. */
  dIndex: Int32Array;
  dD: Float64Array;
  dEntries = 0;
  private vRowsUsed = 0;
  /** Slot of each touched D index. */
  private readonly slotOfIndex = new SlotTable();
  private readonly slotOfColumn: Int32Array;
  /** Index of the open range starting at each row, or -1. */
  private readonly rangeAt: Int32Array;

  constructor(model: RnnLm, maxTokens: number) {
    const { hidden: h, vocab: n } = model;
    this.hidden = h;
    this.vocab = n;
    this.dW = new Float64Array(h * h);
    this.dC = new Float64Array(model.output.kind === "class" ? model.output.classes * h : 0);
    const maxRanges = model.output.kind === "class" ? model.output.classes : 1;
    this.rowStart = new Int32Array(maxRanges);
    this.rowEnd = new Int32Array(maxRanges);
    this.rowOffset = new Int32Array(maxRanges);
    this.vRows = new Float64Array(Math.min(n, 256) * h);
    this.uColumn = new Int32Array(maxTokens);
    this.dU = new Float64Array(maxTokens * h);
    this.slotOfColumn = new Int32Array(n).fill(-1);
    this.rangeAt = new Int32Array(n).fill(-1);
    this.dIndex = new Int32Array(model.direct ? 1024 : 0);
    this.dD = new Float64Array(this.dIndex.length);
  }

  /** dD[index] += value, claiming a slot on first touch. */
  addDirect(index: number, value: number): void {
    const slot = this.slotOfIndex.slotOf(index, this.dEntries);
    if (slot === this.dEntries) {
      if (++this.dEntries > this.dIndex.length) this.growDirect();
      this.dIndex[slot] = index;
    }
    this.dD[slot] += value;
  }

  private growDirect(): void {
    const index = new Int32Array(2 * this.dIndex.length);
    const values = new Float64Array(index.length);
    index.set(this.dIndex);
    values.set(this.dD);
    this.dIndex = index;
    this.dD = values;
  }

  /** Offset in dU of input column `v`, claiming a slot on first touch. */
  uSlot(v: number): number {
    let slot = this.slotOfColumn[v];
    if (slot < 0) {
      slot = this.uColumns++;
      this.slotOfColumn[v] = slot;
      this.uColumn[slot] = v;
    }
    return slot * this.hidden;
  }

  /**
   * Offset in vRows of the gradient of output rows [start, end), claiming room
   * on first touch (ranges are whole classes, or the whole vocabulary, so a
   * range is known by its start).
   */
  touchRows(start: number, end: number): number {
    const open = this.rangeAt[start];
    if (open >= 0) return this.rowOffset[open];
    const i = this.rowRanges++;
    const offset = this.vRowsUsed;
    this.vRowsUsed += (end - start) * this.hidden;
    if (this.vRowsUsed > this.vRows.length) {
      const grown = new Float64Array(Math.max(2 * this.vRows.length, this.vRowsUsed));
      grown.set(this.vRows.subarray(0, offset));
      this.vRows = grown;
    }
    this.rangeAt[start] = i;
    this.rowStart[i] = start;
    this.rowEnd[i] = end;
    this.rowOffset[i] = offset;
    return offset;
  }

  /**
   * [V x H] dL/dV as a dense array, zero outside the touched rows. A fresh
   * copy on every read, for tests and inspection; learning uses vRows.
   */
  get dV(): Float64Array {
    const h = this.hidden;
    const dense = new Float64Array(this.vocab * h);
    for (let i = 0; i < this.rowRanges; i++) {
      const len = (this.rowEnd[i] - this.rowStart[i]) * h;
      dense.set(this.vRows.subarray(this.rowOffset[i], this.rowOffset[i] + len), this.rowStart[i] * h);
    }
    return dense;
  }

  /** Zeroes only what was touched, so a reset costs as much as the learn that filled it. */
  reset(): void {
    const h = this.hidden;
    this.dW.fill(0);
    this.dC.fill(0);
    for (let i = 0; i < this.rowRanges; i++) this.rangeAt[this.rowStart[i]] = -1;
    this.vRows.fill(0, 0, this.vRowsUsed);
    this.vRowsUsed = 0;
    this.rowRanges = 0;
    for (let i = 0; i < this.uColumns; i++) this.slotOfColumn[this.uColumn[i]] = -1;
    this.dU.fill(0, 0, this.uColumns * h);
    this.uColumns = 0;
    this.slotOfIndex.clear();
    this.dD.fill(0, 0, this.dEntries);
    this.dEntries = 0;
  }
}

/**
 * Called for one run of parameters and their gradient: weights[wOffset + i * wStride]
 * pairs with grad[gOffset + i] for i < length. `state` is the caller's own small
 * array (scalars in, sums out), so visitors are plain functions, not closures.
 */
export type SegmentVisitor = (
  weights: Float32Array,
  wOffset: number,
  wStride: number,
  grad: Float64Array,
  gOffset: number,
  length: number,
  state: Float64Array,
) => void;

/** Visits every touched (weights, gradient) run; the single place that knows the sparse layout. */
export function forEachSegment(model: RnnLm, g: Gradient, visit: SegmentVisitor, state: Float64Array): void {
  const h = model.hidden;
  visit(model.W, 0, 1, g.dW, 0, g.dW.length, state);
  if (model.output.kind === "class") visit(model.output.C, 0, 1, g.dC, 0, g.dC.length, state);
  for (let i = 0; i < g.rowRanges; i++) {
    visit(model.V, g.rowStart[i] * h, 1, g.vRows, g.rowOffset[i], (g.rowEnd[i] - g.rowStart[i]) * h, state);
  }
  // U is [H x S]: column v is strided by S.
  const stride = inputStride(model);
  for (let i = 0; i < g.uColumns; i++) visit(model.U, g.uColumn[i], stride, g.dU, i * h, h, state);
  // D's touched entries are scattered by the hash: one single-entry run each.
  if (model.direct) for (let i = 0; i < g.dEntries; i++) visit(model.direct.D, g.dIndex[i], 1, g.dD, i, 1, state);
}

/**
 * Open-addressing map from D index to gradient slot, sized to what learns touch (a few thousand
 * entries per sentence). A dense Int32Array over D's 2^21 indexes was simpler but held 8 MB in
 * every learning isolate for those few thousand live entries.
 */
class SlotTable {
  /** index + 1 per bucket, 0 when free; slots[b] is that index's slot. */
  private keys = new Int32Array(1 << 12);
  private slots = new Int32Array(1 << 12);
  private shift = 32 - 12;
  private used = 0;

  private bucketOf(index: number): number {
    // Fibonacci hashing: D's indexes come in runs of consecutive values, which must not share a probe run.
    return Math.imul(index + 1, 0x9e3779b1) >>> this.shift;
  }

  /** The slot of `index`; a new index gets `next` (the caller's next free slot). */
  slotOf(index: number, next: number): number {
    const mask = this.keys.length - 1;
    let b = this.bucketOf(index);
    for (let key = this.keys[b]; key !== 0; key = this.keys[b]) {
      if (key === index + 1) return this.slots[b];
      b = (b + 1) & mask;
    }
    this.keys[b] = index + 1;
    this.slots[b] = next;
    if (2 * ++this.used > this.keys.length) this.grow();
    return next;
  }

  clear(): void {
    if (this.used > 0) this.keys.fill(0);
    this.used = 0;
  }

  private grow(): void {
    const { keys, slots } = this;
    this.keys = new Int32Array(2 * keys.length);
    this.slots = new Int32Array(2 * keys.length);
    this.shift--;
    const mask = this.keys.length - 1;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === 0) continue;
      let b = this.bucketOf(keys[i] - 1);
      while (this.keys[b] !== 0) b = (b + 1) & mask;
      this.keys[b] = keys[i];
      this.slots[b] = slots[i];
    }
  }
}
