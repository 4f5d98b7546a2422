import kernelModule from "#kernel-module";

/**
 * Where the WebAssembly kernels (src/kernels/kernels.wat, called by kernels.ts) find their
 * operands: each model's float32 weights live in a WebAssembly.Memory of its own, beside a
 * float64 scratch into which the kernels' vectors are copied (a few hundred values a call,
 * against the thousands of weights a call reads).
 *
 * The memory is sized once, when rnnLm (model.ts) places a model's tensors, and never grown:
 * growing a WebAssembly.Memory detaches every view of it, and the model's U, W, V, C and D are
 * such views. A model that needs more room (learned words, new-words.ts) is placed anew, in a
 * new memory, with the room it asks for.
 *
 * The module is compiled once per isolate; how it arrives depends on the runtime (package.json's
 * "#kernel-module" import: wrangler bundles it for workerd, Node reads the file).
 */

/** The kernels' exports; every address is a byte offset into the model's memory. */
interface Kernels {
  mat_vec(rows: number, from: number, to: number, h: number, x: number, out: number): void;
  add_transposed(rows: number, from: number, to: number, h: number, d: number, out: number): void;
  add_outer_products(m: number, a: number, b: number, count: number, h: number): void;
  f16_to_f32(src: number, dst: number, n: number): number;
  first_non_finite(a: number, n: number): number;
}

const PAGE = 65536;

/** IEEE float16 values as a file stores them: little-endian 16-bit patterns, two bytes each. */
export interface HalfBits {
  readonly halves: Uint8Array;
}

/** A tensor to place: its values, at the start of a region of `capacity` floats (>= its length). */
export interface Placement {
  readonly data: Float32Array | HalfBits;
  readonly capacity: number;
}

const lengthOf = (data: Float32Array | HalfBits) =>
  data instanceof Float32Array ? data.length : data.halves.byteLength / 2;

/** A placed tensor: its view in the kernel memory, and the index of its first value that is Infinity or NaN, or -1. */
export interface Placed {
  readonly view: Float32Array;
  readonly firstNonFinite: number;
}

export class KernelMemory {
  readonly kernels: Kernels;
  /** The whole memory as float64 (the scratch's values are at scratch / 8 ..). */
  readonly f64: Float64Array;
  /** Byte offsets of the scratch's two parts: x [h] float64, then out [the rest]. */
  readonly x: number;
  readonly out: number;
  /** Float64 values in out: enough for the longest run of rows a kernel scores, and for dW and four (a, b) pairs. */
  readonly outLength: number;
  /** [start, end) byte offsets of every placed tensor's region. */
  private readonly regions: { start: number; end: number }[] = [];

  constructor(hidden: number, maxRows: number, tensors: readonly Placement[]) {
    const outLength = Math.max(maxRows, hidden * hidden + 8 * hidden);
    let bytes = align((hidden + outLength) * 8);
    for (const t of tensors) bytes += align(t.capacity * 4);
    const pages = Math.ceil(bytes / PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.kernels = new WebAssembly.Instance(kernelModule, { env: { memory } }).exports as unknown as Kernels;
    this.f64 = new Float64Array(memory.buffer);
    this.x = 0;
    this.out = hidden * 8;
    this.outLength = outLength;
    let at = align((hidden + outLength) * 8);
    for (const t of tensors) {
      this.regions.push({ start: at, end: at + t.capacity * 4 });
      at += align(t.capacity * 4);
    }
    byBuffer.set(memory.buffer, this);
  }

  /**
   * Tensor i's values into its region. Halves are widened in place: their bytes are copied to the
   * region's upper half, from which the kernel writes float32 from the start, checking them as it
   * goes; float32 values are checked after the copy.
   */
  place(i: number, data: Float32Array | HalfBits): Placed {
    const n = lengthOf(data);
    const start = this.regions[i].start;
    const view = new Float32Array(this.f64.buffer, start, n);
    if (data instanceof Float32Array) {
      view.set(data);
      return { view, firstNonFinite: this.kernels.first_non_finite(start, n) };
    }
    new Uint8Array(this.f64.buffer, start + 2 * n, 2 * n).set(data.halves);
    return { view, firstNonFinite: this.kernels.f16_to_f32(start + 2 * n, start, n) };
  }

  /** Floats from a's start to the end of its region. */
  capacityOf(a: Float32Array): number {
    const region = this.regions.find((r) => a.byteOffset >= r.start && a.byteOffset < r.end);
    if (!region) throw new Error("not a tensor of this memory");
    return (region.end - a.byteOffset) / 4;
  }
}

const align = (bytes: number) => Math.ceil(bytes / 16) * 16;

const byBuffer = new WeakMap<ArrayBufferLike, KernelMemory>();

/** The kernel memory holding a, or undefined for an ordinary array. */
export function memoryHolding(a: Float32Array): KernelMemory | undefined {
  return byBuffer.get(a.buffer);
}

/** The kernel memory holding weights a kernel is about to read. */
export function kernelMemoryOf(a: Float32Array): KernelMemory {
  const km = byBuffer.get(a.buffer);
  if (!km) throw new Error("weights outside a kernel memory: build the model with rnnLm (src/model/model.ts)");
  return km;
}

/**
 * Copies tensors into a new kernel memory, each at the start of a region of its capacity; maxRows
 * is the longest run of rows a kernel will score.
 */
export function placeTensors(hidden: number, maxRows: number, tensors: readonly Placement[]): Placed[] {
  const km = new KernelMemory(hidden, maxRows, tensors);
  return tensors.map((t, i) => km.place(i, t.data));
}

/** Floats from a's start to the end of its kernel-memory region (a.length for an ordinary array). */
export function capacityOf(a: Float32Array): number {
  return memoryHolding(a)?.capacityOf(a) ?? a.length;
}
