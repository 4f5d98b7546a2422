/**
 * A strict safetensors codec (https://github.com/huggingface/safetensors), no platform API.
 *
 * File layout:
 *   [0, 8)        header length N, unsigned 64-bit little-endian
 *   [8, 8 + N)    JSON header: {"__metadata__": {string: string}, name: {dtype, shape, data_offsets: [begin, end]}}
 *                 padded with spaces so the data section starts 8-byte aligned
 *   [8 + N, end)  tensor bytes, little-endian, row-major; data_offsets are relative to 8 + N
 *
 * Supported dtypes: F32, F16 (IEEE half; given and returned as Float32Array), I32.
 *
 * Ownership: decoded F32 and I32 arrays are zero-copy views into the input buffer whenever their
 * bytes are 4-byte aligned (always the case for files written by encodeSafetensors), so writing to
 * them writes to the input bytes; copy the input first if it must stay intact. F16 tensors and
 * unaligned tensors are decoded into fresh arrays.
 *
 * The decoder treats its input as hostile: it throws only SafetensorsError, and it allocates
 * nothing whose size was not first checked against the bytes actually present.
 */

export type Dtype = "F32" | "F16" | "I32";

export type Tensor =
  | { readonly dtype: "F32" | "F16"; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: "I32"; readonly shape: readonly number[]; readonly data: Int32Array };

export interface Safetensors {
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** A tensor's bytes as stored (little-endian), for a caller that converts them itself; convert with tensorOf. */
export interface RawTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** A view into the input. */
  readonly bytes: Uint8Array;
}

export interface DecodeLimits {
  /** Largest accepted JSON header in bytes (default 1 MiB). */
  maxHeaderBytes?: number;
}

export class SafetensorsError extends Error {
  override name = "SafetensorsError";
}

export const DEFAULT_MAX_HEADER_BYTES = 1 << 20;
const METADATA_KEY = "__metadata__";
const DATA_ALIGN = 8;
const DTYPE_BYTES: Readonly<Record<Dtype, number>> = { F32: 4, F16: 2, I32: 4 };

/** Typed-array views below reinterpret bytes in host order; the format is little-endian. */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function fail(message: string): never {
  throw new SafetensorsError(message);
}

function isDtype(x: unknown): x is Dtype {
  return x === "F32" || x === "F16" || x === "I32";
}

function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

// ---------------------------------------------------------------------------------------------
// IEEE 754 half precision

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/**
 * Rounds a number to the nearest half (ties to even) and returns its 16 bits. The value is first
 * rounded to float32 (the arrays we encode are float32 already, so this is exact for them).
 * Overflow gives ±Infinity, NaN gives a quiet NaN, values below half the smallest subnormal give ±0.
 */
export function floatToHalfBits(value: number): number {
  f32Scratch[0] = value;
  const f = u32Scratch[0];
  const sign = (f >>> 16) & 0x8000;
  const exp = f & 0x7f800000;
  const mant = f & 0x007fffff;
  if (exp >= 0x47800000) {
    // |x| >= 2^16: Infinity, NaN or overflow.
    return sign | (exp === 0x7f800000 && mant !== 0 ? 0x7e00 : 0x7c00);
  }
  if (exp <= 0x38000000) {
    // |x| < 2^-14: a half subnormal or zero.
    if (exp < 0x33000000) return sign; // below 2^-25, at most half the smallest subnormal
    const e = exp >>> 23; // 102 .. 112
    const sig = (0x00800000 | mant) >>> (113 - e);
    // Round half to even: add half an ulp unless this is an exact tie with an even result. The
    // shift may have dropped up to 11 low bits, which break ties upwards.
    const exactTie = (sig & 0x3fff) === 0x1000 && (mant & 0x7ff) === 0;
    return sign | ((exactTie ? sig : sig + 0x1000) >>> 13);
  }
  // Normal half. A rounding carry out of the mantissa correctly bumps the exponent (up to Infinity).
  const halfExpMant = ((exp - 0x38000000) >>> 13) | (mant >>> 13);
  const rest = mant & 0x1fff;
  const roundUp = rest > 0x1000 || (rest === 0x1000 && (halfExpMant & 1) === 1);
  return sign | (halfExpMant + (roundUp ? 1 : 0));
}

/** The exact value of a half given by its 16 bits. */
export function halfBitsToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

let halfTable: Float32Array | undefined;

/** All 65536 half values as float32 (256 KiB), built on first F16 decode. */
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfBitsToFloat(h);
  }
  return halfTable;
}

// ---------------------------------------------------------------------------------------------
// Encoding

interface Placed {
  name: string;
  tensor: Tensor;
  begin: number;
  end: number;
}

function checkTensorForEncode(name: string, t: Tensor): void {
  if (name === "" || name === METADATA_KEY) fail(`invalid tensor name ${JSON.stringify(name)}`);
  if (!isDtype(t.dtype)) fail(`tensor ${name}: unsupported dtype ${String(t.dtype)}`);
  const wantArray = t.dtype === "I32" ? Int32Array : Float32Array;
  if (!(t.data instanceof wantArray)) fail(`tensor ${name}: ${t.dtype} data must be a ${wantArray.name}`);
  if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor ${name}: shape must be non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const n = elementCount(t.shape);
  if (n !== t.data.length)
    fail(`tensor ${name}: shape ${JSON.stringify(t.shape)} needs ${n} values, got ${t.data.length}`);
}

function writeTensorBytes(out: Uint8Array, at: number, t: Tensor): void {
  if (t.dtype === "F16") {
    const view = new DataView(out.buffer, out.byteOffset + at, t.data.length * 2);
    for (let i = 0; i < t.data.length; i++) view.setUint16(2 * i, floatToHalfBits(t.data[i]), true);
  } else {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
  }
}

/**
 * Serialises tensors and string metadata. Tensors are laid out in the data section by decreasing
 * element size (then in the given order) so every tensor is aligned to its element size.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, Tensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  if (!HOST_IS_LITTLE_ENDIAN) fail("big-endian hosts are not supported");
  const entries = Object.entries(tensors);
  entries.forEach(([name, t]) => checkTensorForEncode(name, t));
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") fail(`metadata ${k} must be a string`);
  }

  const placed: Placed[] = [];
  let offset = 0;
  for (const [name, tensor] of [...entries].sort((a, b) => DTYPE_BYTES[b[1].dtype] - DTYPE_BYTES[a[1].dtype])) {
    const end = offset + tensor.data.length * DTYPE_BYTES[tensor.dtype];
    placed.push({ name, tensor, begin: offset, end });
    offset = end;
  }
  const byName = new Map(placed.map((p) => [p.name, p]));

  // fromEntries defines properties, so a tensor named "__proto__" is an ordinary key.
  const header = Object.fromEntries([
    ...(Object.keys(metadata).length > 0 ? [[METADATA_KEY, metadata]] : []),
    ...entries.map(([name, t]) => {
      const p = byName.get(name)!;
      return [name, { dtype: t.dtype, shape: t.shape, data_offsets: [p.begin, p.end] }];
    }),
  ]);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLen = Math.ceil((8 + json.length) / DATA_ALIGN) * DATA_ALIGN - 8;

  const out = new Uint8Array(8 + headerLen + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLen, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLen);
  for (const p of placed) writeTensorBytes(out, 8 + headerLen + p.begin, p.tensor);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface Entry {
  name: string;
  dtype: Dtype;
  shape: number[];
  begin: number;
  end: number;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function parseHeaderJson(bytes: Uint8Array): Record<string, unknown> {
  if (bytes[0] !== 0x7b) fail("header must start with '{'");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    fail("header is not valid UTF-8");
  }
  try {
    // Text starting with "{" parses to an object or not at all.
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    fail(`header is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) fail(`${METADATA_KEY} must be an object`);
  const entries = Object.entries(raw);
  for (const [k, v] of entries) {
    if (typeof v !== "string") fail(`${METADATA_KEY}.${k} must be a string`);
  }
  // fromEntries defines properties, so a "__proto__" key stays an ordinary key.
  return Object.fromEntries(entries) as Record<string, string>;
}

/** The product of the dims, or some value above `cap` once it exceeds it (so it cannot overflow). */
function elementCountUpTo(shape: readonly number[], cap: number): number {
  if (shape.includes(0)) return 0;
  let count = 1;
  for (const d of shape) {
    count *= d;
    if (count > cap) break;
  }
  return count;
}

function parseEntry(name: string, raw: unknown, dataBytes: number): Entry {
  if (name === "") fail("empty tensor name");
  if (!isPlainObject(raw)) fail(`tensor ${name}: entry must be an object`);
  for (const k of Object.keys(raw)) {
    if (k !== "dtype" && k !== "shape" && k !== "data_offsets") fail(`tensor ${name}: unknown field ${k}`);
  }
  const { dtype, shape, data_offsets: offsets } = raw;
  if (!isDtype(dtype)) fail(`tensor ${name}: unsupported dtype ${JSON.stringify(dtype) ?? "undefined"}`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`tensor ${name}: shape must be an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    fail(`tensor ${name}: data_offsets must be two non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataBytes) {
    fail(`tensor ${name}: data_offsets [${begin}, ${end}] outside the ${dataBytes}-byte data section`);
  }
  const capacity = (end - begin) / DTYPE_BYTES[dtype];
  if (elementCountUpTo(shape as number[], capacity) !== capacity) {
    fail(`tensor ${name}: shape ${JSON.stringify(shape)} of ${dtype} does not match ${end - begin} bytes`);
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

/** Checks that the tensors tile the data section exactly: no gap, no overlap, nothing left over. */
function checkCoverage(entries: Entry[], dataBytes: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) fail(`tensor ${e.name} overlaps another tensor at byte ${e.begin}`);
    if (e.begin > at) fail(`gap in the data section: bytes ${at} .. ${e.begin} belong to no tensor`);
    at = e.end;
  }
  if (at !== dataBytes) fail(`data section has ${dataBytes - at} trailing bytes that belong to no tensor`);
}

/** A raw tensor's values: F16 converted to a fresh Float32Array, F32 and I32 as views when 4-byte aligned. */
export function tensorOf(raw: RawTensor): Tensor {
  const { dtype, shape, bytes } = raw;
  const count = bytes.byteLength / DTYPE_BYTES[dtype];
  if (dtype === "F16") {
    const table = halfToFloatTable();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = table[view.getUint16(2 * i, true)];
    return { dtype, shape, data };
  }
  const Ctor = dtype === "I32" ? Int32Array : Float32Array;
  const data =
    bytes.byteOffset % 4 === 0
      ? new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, count)
      : new Ctor(bytes.slice().buffer);
  return { dtype, shape, data } as Tensor;
}

/** Parses and validates safetensors bytes; see the module comment for ownership of the arrays. */
export function decodeSafetensors(input: ArrayBuffer | Uint8Array, limits: DecodeLimits = {}): Safetensors {
  const { tensors, metadata } = decodeSafetensorsRaw(input, limits);
  return { tensors: Object.fromEntries(Object.entries(tensors).map(([name, raw]) => [name, tensorOf(raw)])), metadata };
}

/** decodeSafetensors without converting the tensors: each one's bytes, a view into the input. */
export function decodeSafetensorsRaw(
  input: ArrayBuffer | Uint8Array,
  limits: DecodeLimits = {},
): { tensors: Record<string, RawTensor>; metadata: Record<string, string> } {
  if (!HOST_IS_LITTLE_ENDIAN) fail("big-endian hosts are not supported");
  const maxHeader = limits.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
  if (bytes.byteLength < 8) fail(`truncated: ${bytes.byteLength} bytes, need at least 8 for the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenLow = view.getUint32(0, true);
  const lenHigh = view.getUint32(4, true);
  if (lenHigh !== 0 || lenLow > maxHeader) {
    fail(`header length ${lenHigh * 2 ** 32 + lenLow} exceeds the limit of ${maxHeader} bytes`);
  }
  if (8 + lenLow > bytes.byteLength) {
    fail(`truncated: header length ${lenLow} but only ${bytes.byteLength - 8} bytes follow`);
  }
  const dataStart = 8 + lenLow;
  const dataBytes = bytes.byteLength - dataStart;
  const header = parseHeaderJson(bytes.subarray(8, dataStart));

  const metadata = parseMetadata(header[METADATA_KEY]);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, raw]) => parseEntry(name, raw, dataBytes));
  checkCoverage(entries, dataBytes);

  const tensors = Object.fromEntries(
    entries.map((e) => [
      e.name,
      { dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(dataStart + e.begin, dataStart + e.end) },
    ]),
  );
  return { tensors, metadata };
}
