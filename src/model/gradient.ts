import type { RnnLm } from "./model.ts";

/**
 * Gradient accumulators for one learn, preallocated once per model and reused.
 *
 * A sentence touches few input columns (one per token) and, with the
 * class-factorized output, few output rows (the target classes), so those are
 * tracked sparsely: only touched parts are summed, clipped, applied and zeroed.
 * Sums are float64 because many small per-step terms are added up.
 */
export class Gradient {
  readonly hidden: number;
  readonly vocab: number;
  /** [H x H] dL/dW. */
  readonly dW: Float64Array;
  /** [K x H] dL/dC, or empty for a full softmax. */
  readonly dC: Float64Array;
  /** [V x H] dL/dV; zero outside the touched row ranges. */
  readonly dV: Float64Array;
  /** Touched output row ranges [rowStart[i], rowEnd[i]). */
  readonly rowStart: Int32Array;
  readonly rowEnd: Int32Array;
  rowRanges = 0;
  /** dL/dU by touched column: slot i holds column uColumn[i] in dU[i*H .. i*H+H). */
  readonly uColumn: Int32Array;
  readonly dU: Float64Array;
  uColumns = 0;
  private readonly slotOfColumn: Int32Array;
  private readonly rangeOpenAt: Uint8Array;

  constructor(model: RnnLm, maxTokens: number) {
    const { hidden: h, vocab: n } = model;
    this.hidden = h;
    this.vocab = n;
    this.dW = new Float64Array(h * h);
    this.dC = new Float64Array(model.output.kind === "class" ? model.output.classes * h : 0);
    this.dV = new Float64Array(n * h);
    const maxRanges = model.output.kind === "class" ? model.output.classes : 1;
    this.rowStart = new Int32Array(maxRanges);
    this.rowEnd = new Int32Array(maxRanges);
    this.uColumn = new Int32Array(maxTokens);
    this.dU = new Float64Array(maxTokens * h);
    this.slotOfColumn = new Int32Array(n).fill(-1);
    this.rangeOpenAt = new Uint8Array(n);
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

  /** Records that output rows [start, end) receive gradient (idempotent per range start). */
  touchRows(start: number, end: number): void {
    if (this.rangeOpenAt[start]) return;
    this.rangeOpenAt[start] = 1;
    this.rowStart[this.rowRanges] = start;
    this.rowEnd[this.rowRanges] = end;
    this.rowRanges++;
  }

  /** Zeroes only what was touched, so a reset costs as much as the learn that filled it. */
  reset(): void {
    const h = this.hidden;
    this.dW.fill(0);
    this.dC.fill(0);
    for (let i = 0; i < this.rowRanges; i++) {
      this.dV.fill(0, this.rowStart[i] * h, this.rowEnd[i] * h);
      this.rangeOpenAt[this.rowStart[i]] = 0;
    }
    this.rowRanges = 0;
    for (let i = 0; i < this.uColumns; i++) this.slotOfColumn[this.uColumn[i]] = -1;
    this.dU.fill(0, 0, this.uColumns * h);
    this.uColumns = 0;
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
    const start = g.rowStart[i] * h;
    visit(model.V, start, 1, g.dV, start, (g.rowEnd[i] - g.rowStart[i]) * h, state);
  }
  // U is [H x V]: column v is strided by V.
  for (let i = 0; i < g.uColumns; i++) visit(model.U, g.uColumn[i], model.vocab, g.dU, i * h, h, state);
}
