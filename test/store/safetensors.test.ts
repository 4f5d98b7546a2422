import { describe, expect, it } from "vitest";
import {
  decodeSafetensors,
  encodeSafetensors,
  floatToHalfBits,
  halfBitsToFloat,
  SafetensorsError,
  type Tensor,
} from "../../src/store/safetensors.ts";
import { concatBytes, randomArray, rawFile, rng, u64le } from "./fixtures.ts";

const bits32 = (a: Float32Array | Int32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** The engine's own float16 conversion (workerd has Float16Array): an independent oracle. */
const Float16 = (globalThis as unknown as { Float16Array?: new (v: number[]) => { buffer: ArrayBuffer } }).Float16Array;
function oracleHalfBits(x: number): number {
  if (!Float16) throw new Error("this runtime has no Float16Array");
  return new Uint16Array(new Float16([x]).buffer)[0];
}

describe("format compatibility", () => {
  // Expected bytes from the reference implementation's own tests (huggingface/safetensors,
  // bindings/python/tests/test_pt_comparison.py: save({"test": zeros((2, 2), int32)})).
  const reference = concatBytes(
    "@\x00\x00\x00\x00\x00\x00\x00",
    '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}    ',
    new Array(16).fill(0),
  );

  it("encodes byte-identically to the reference implementation", () => {
    const out = encodeSafetensors({ test: { dtype: "I32", shape: [2, 2], data: new Int32Array(4) } });
    expect(Array.from(out)).toEqual(Array.from(reference));
  });

  it("decodes the reference bytes", () => {
    const { tensors, metadata } = decodeSafetensors(reference);
    expect(Object.keys(tensors)).toEqual(["test"]);
    expect(tensors.test.dtype).toBe("I32");
    expect(tensors.test.shape).toEqual([2, 2]);
    expect(Array.from(tensors.test.data)).toEqual([0, 0, 0, 0]);
    expect(Object.keys(metadata)).toEqual([]);
  });

  it("decodes an unpadded older-writer file with metadata, copying the unaligned tensor", () => {
    // Header of 102 bytes: the data starts at byte 110, not 4-byte aligned.
    const header =
      '{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       ';
    expect(header.length).toBe(102);
    const bytes = rawFile(header, [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ framework: "pt" });
    expect(Array.from(tensors.test1.data)).toEqual([1, 2, 3, -1]);
    expect(tensors.test1.data.buffer).not.toBe(bytes.buffer);
  });

  it("reads a hand-built file with every dtype, little-endian", () => {
    const header = JSON.stringify({
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "I32", shape: [1, 1], data_offsets: [8, 12] },
      c: { dtype: "F16", shape: [3], data_offsets: [12, 18] },
    });
    const padded = header + " ".repeat((8 - ((8 + header.length) % 8)) % 8);
    const data = [
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f
      ...[0x00, 0x00, 0x20, 0xc1], // -10.0f
      ...[0xfe, 0xff, 0xff, 0x7f], // 2147483646
      ...[0x00, 0x3c], // half 1.0
      ...[0x01, 0x00], // half 2^-24, the smallest subnormal
      ...[0xff, 0xfb], // half -65504
    ];
    const { tensors } = decodeSafetensors(rawFile(padded, data));
    expect(Array.from(tensors.a.data)).toEqual([1, -10]);
    expect(Array.from(tensors.b.data)).toEqual([2147483646]);
    expect(tensors.b.shape).toEqual([1, 1]);
    expect(Array.from(tensors.c.data)).toEqual([1, 2 ** -24, -65504]);
  });

  it("writes the header as documented: padded JSON, __metadata__, relative offsets", () => {
    const out = encodeSafetensors(
      {
        h: { dtype: "F16", shape: [3], data: new Float32Array([1, 2, 3]) },
        f: { dtype: "F32", shape: [1], data: new Float32Array([5]) },
      },
      { k: "v" },
    );
    const n = new DataView(out.buffer).getUint32(0, true);
    expect(new DataView(out.buffer).getUint32(4, true)).toBe(0);
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(out.subarray(8, 8 + n)));
    // The wider dtype is laid out first so both stay aligned.
    expect(header).toEqual({
      __metadata__: { k: "v" },
      h: { dtype: "F16", shape: [3], data_offsets: [4, 10] },
      f: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    });
    expect(out.length).toBe(8 + n + 10);
    expect(Array.from(out.subarray(8 + n + 4))).toEqual([0x00, 0x3c, 0x00, 0x40, 0x00, 0x42]);
  });
});

describe("round trips", () => {
  it("F32 and I32 are bit-exact, special values included", () => {
    const next = rng(7);
    const f = new Float32Array([
      0,
      -0,
      Infinity,
      -Infinity,
      NaN,
      1e-45,
      -3.4028234663852886e38,
      ...randomArray(200, 100, next),
    ]);
    const i = new Int32Array([
      0,
      -1,
      2147483647,
      -2147483648,
      ...Array.from({ length: 50 }, () => (next() * 2 ** 32) | 0),
    ]);
    const { tensors } = decodeSafetensors(
      encodeSafetensors({
        f: { dtype: "F32", shape: [f.length], data: f },
        i: { dtype: "I32", shape: [i.length, 1], data: i },
      }),
    );
    expect(bits32(tensors.f.data)).toEqual(bits32(f));
    expect(bits32(tensors.i.data)).toEqual(bits32(i));
    expect(tensors.i.shape).toEqual([i.length, 1]);
  });

  it("keeps metadata, scalars and empty tensors", () => {
    const tensors: Record<string, Tensor> = {
      scalar: { dtype: "F32", shape: [], data: new Float32Array([2.5]) },
      empty: { dtype: "I32", shape: [0, 3], data: new Int32Array(0) },
      ["__proto__"]: { dtype: "F16", shape: [1], data: new Float32Array([0.5]) },
    };
    const out = decodeSafetensors(encodeSafetensors(tensors, { a: "1", ü: "ß" }));
    expect(out.metadata).toEqual({ a: "1", ü: "ß" });
    expect(Object.keys(out.tensors).sort()).toEqual(["__proto__", "empty", "scalar"]);
    expect(out.tensors.scalar.shape).toEqual([]);
    expect(Array.from(out.tensors.scalar.data)).toEqual([2.5]);
    expect(out.tensors.empty.shape).toEqual([0, 3]);
    expect(out.tensors.empty.data.length).toBe(0);
    expect(Array.from(Object.getOwnPropertyDescriptor(out.tensors, "__proto__")!.value.data)).toEqual([0.5]);
  });

  it("decodes aligned F32 as a view into the input (documented ownership)", () => {
    const bytes = encodeSafetensors({ w: { dtype: "F32", shape: [4], data: new Float32Array([1, 2, 3, 4]) } });
    const { tensors } = decodeSafetensors(bytes.buffer as ArrayBuffer);
    expect(tensors.w.data.buffer).toBe(bytes.buffer);
    (tensors.w.data as Float32Array)[0] = 9;
    expect(decodeSafetensors(bytes).tensors.w.data[0]).toBe(9);
  });

  it("accepts a Uint8Array that is a window into a larger buffer", () => {
    const file = encodeSafetensors({ w: { dtype: "F32", shape: [2], data: new Float32Array([3, 4]) } });
    const big = new Uint8Array(file.length + 5);
    big.set(file, 1);
    const { tensors } = decodeSafetensors(big.subarray(1, 1 + file.length));
    expect(Array.from(tensors.w.data)).toEqual([3, 4]);
  });
});

describe("float16", () => {
  it("converts known values, rounding to nearest even", () => {
    const cases: Array<[number, number]> = [
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [1 / 3, 0x3555],
      [65504, 0x7bff], // largest half
      [65519, 0x7bff], // below the midpoint to infinity
      [65520, 0x7c00], // the midpoint rounds to even: infinity
      [1e6, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24: even is 0
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 units: even is 2
      [1023 * 2 ** -24, 0x03ff], // largest subnormal
      [(2047 / 2) * 2 ** -24, 0x0400], // rounds up out of the subnormals
      [1 + 2 ** -11, 0x3c00], // tie: keeps the even mantissa
      [1 + 3 * 2 ** -11, 0x3c02], // tie: rounds up to the even mantissa
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [1e-10, 0x0000],
      [-0, 0x8000],
    ];
    for (const [x, h] of cases) expect([x, floatToHalfBits(x)]).toEqual([x, h]);
    expect(floatToHalfBits(NaN) & 0x7c00).toBe(0x7c00);
    expect(floatToHalfBits(NaN) & 0x3ff).not.toBe(0);
  });

  it("agrees with the runtime's Float16Array on every half and its neighbourhood", () => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let h = 0; h < 0x10000; h++) {
      const x = halfBitsToFloat(h);
      if (Number.isNaN(x)) continue;
      expect(floatToHalfBits(x)).toBe(h);
      // Float32 neighbours of the value and of the midpoint to the next half exercise rounding.
      f32[0] = x;
      const base = u32[0];
      for (const d of [-1, 1, 0x1000 - 1, 0x1000, 0x1000 + 1]) {
        u32[0] = base + d;
        if (Number.isNaN(f32[0])) continue;
        if (floatToHalfBits(f32[0]) !== oracleHalfBits(f32[0])) {
          expect([f32[0], floatToHalfBits(f32[0])]).toEqual([f32[0], oracleHalfBits(f32[0])]);
        }
      }
    }
  });

  it("agrees with Float16Array on random float32 bit patterns", () => {
    const next = rng(11);
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    for (let i = 0; i < 200_000; i++) {
      u32[0] = (next() * 2 ** 32) >>> 0;
      if (Number.isNaN(f32[0])) continue;
      const want = oracleHalfBits(f32[0]);
      if (floatToHalfBits(f32[0]) !== want) expect([f32[0], floatToHalfBits(f32[0])]).toEqual([f32[0], want]);
    }
  });

  it("round-trips F16 tensors within half an ulp", () => {
    const next = rng(3);
    const data = Float32Array.from({ length: 5000 }, () => (2 * next() - 1) * 2 ** (40 * next() - 30));
    const { tensors } = decodeSafetensors(encodeSafetensors({ x: { dtype: "F16", shape: [data.length], data } }));
    const back = tensors.x.data;
    for (let i = 0; i < data.length; i++) {
      const x = data[i];
      // Normal halves: relative error <= 2^-11; subnormals: absolute error <= 2^-25.
      const bound = Math.abs(x) >= 2 ** -14 ? Math.abs(x) * 2 ** -11 : 2 ** -25;
      if (!(Math.abs(back[i] - x) <= bound)) expect([i, x, back[i]]).toBe("within bound");
      expect(back[i]).toBe(halfBitsToFloat(oracleHalfBits(x)));
    }
  });
});

describe("hostile input", () => {
  const t = (begin: number, end: number, shape: unknown = [(end - begin) / 4], dtype: unknown = "F32") => ({
    dtype,
    shape,
    data_offsets: [begin, end],
  });
  const file = (header: unknown, dataBytes: number) => rawFile(JSON.stringify(header), new Array(dataBytes).fill(0));

  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["empty input", new Uint8Array(0), /truncated/],
    ["7 bytes", new Uint8Array(7), /truncated/],
    ["header length with a high word", concatBytes([0, 0, 0, 0, 1, 0, 0, 0], "{}"), /exceeds the limit/],
    ["header length 2^53", concatBytes(u64le(2 ** 53), "{}"), /exceeds the limit/],
    ["header length over 1 MiB", concatBytes(u64le(2 ** 20 + 1), "{}"), /exceeds the limit/],
    ["header length past the end", concatBytes(u64le(100), "{}"), /truncated/],
    ["zero-length header", concatBytes(u64le(0)), /start with '\{'/],
    ["header not starting with {", rawFile(' {"a":1}'), /start with '\{'/],
    ["invalid UTF-8", concatBytes(u64le(4), "{", [0xff, 0xfe], "}"), /UTF-8/],
    ["invalid JSON", rawFile('{"a":'), /not valid JSON/],
    ["trailing garbage after JSON", rawFile("{}x"), /not valid JSON/],
    ["JSON array after {", rawFile("{]"), /not valid JSON/],
    ["unknown dtype", file({ a: t(0, 8, [1], "F64") }, 8), /unsupported dtype "F64"/],
    ["bf16", file({ a: t(0, 2, [1], "BF16") }, 2), /unsupported dtype "BF16"/],
    ["missing dtype", file({ a: { shape: [1], data_offsets: [0, 4] } }, 4), /unsupported dtype/],
    ["entry not an object", file({ a: [1, 2] }, 0), /entry must be an object/],
    ["unknown field", file({ a: { ...t(0, 4), extra: 1 } }, 4), /unknown field extra/],
    ["negative dim", file({ a: t(0, 4, [-1]) }, 4), /shape/],
    ["fractional dim", file({ a: t(0, 4, [0.5]) }, 4), /shape/],
    ["string dim", file({ a: t(0, 4, ["1"]) }, 4), /shape/],
    ["shape not an array", file({ a: t(0, 4, 1) }, 4), /shape/],
    ["offsets not a pair", file({ a: { dtype: "F32", shape: [1], data_offsets: [0] } }, 4), /data_offsets/],
    ["negative offset", file({ a: t(-4, 0, [1]) }, 4), /data_offsets/],
    ["begin after end", file({ a: t(4, 0, [1]) }, 4), /outside/],
    ["offset past the data", file({ a: t(0, 8, [2]) }, 4), /outside/],
    ["huge offset", file({ a: t(0, 2 ** 60, [1]) }, 4), /data_offsets|outside/],
    ["shape larger than its bytes", file({ a: t(0, 4, [2]) }, 4), /does not match/],
    ["overflowing shape", file({ a: t(0, 4, [2 ** 40, 2 ** 40, 0]) }, 4), /does not match/],
    ["bytes not a multiple of the dtype", file({ a: t(0, 3, [1], "F32") }, 3), /does not match/],
    ["overlapping tensors", file({ a: t(0, 8), b: t(4, 8) }, 8), /overlaps/],
    ["identical offsets", file({ a: t(0, 4), b: t(0, 4) }, 4), /overlaps/],
    ["gap", file({ a: t(0, 4), b: t(8, 12) }, 12), /gap/],
    ["trailing bytes", file({ a: t(0, 4) }, 8), /trailing/],
    ["metadata value not a string", file({ __metadata__: { a: 1 } }, 0), /__metadata__.a must be a string/],
    ["metadata not an object", file({ __metadata__: "x" }, 0), /__metadata__ must be an object/],
    ["empty tensor name", file({ "": t(0, 4) }, 4), /empty tensor name/],
  ];

  for (const [name, bytes, message] of cases) {
    it(`rejects ${name}`, () => {
      expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsError);
      expect(() => decodeSafetensors(bytes)).toThrow(message);
    });
  }

  it("accepts the same shapes when they are consistent (the cases above fail for their stated reason)", () => {
    expect(Object.keys(decodeSafetensors(file({ a: t(0, 4), b: t(4, 12) }, 12)).tensors)).toEqual(["a", "b"]);
    expect(decodeSafetensors(file({ a: t(0, 0, [2 ** 40, 0]) }, 0)).tensors.a.shape).toEqual([2 ** 40, 0]);
  });

  it("honours a smaller header limit", () => {
    const bytes = file({ a: t(0, 4) }, 4);
    expect(() => decodeSafetensors(bytes, { maxHeaderBytes: 16 })).toThrow(/exceeds the limit of 16/);
  });

  it("truncating a valid file at any length fails cleanly", () => {
    const good = encodeSafetensors(
      {
        a: { dtype: "F32", shape: [3], data: new Float32Array([1, 2, 3]) },
        b: { dtype: "F16", shape: [1], data: new Float32Array([1]) },
      },
      { m: "x" },
    );
    for (let n = 0; n < good.length; n++) {
      expect(() => decodeSafetensors(good.slice(0, n))).toThrow(SafetensorsError);
    }
  });

  it("random corruption only ever throws SafetensorsError", () => {
    const good = encodeSafetensors(
      {
        a: { dtype: "F32", shape: [2, 3], data: new Float32Array(6) },
        c: { dtype: "I32", shape: [2], data: new Int32Array(2) },
      },
      { k: "v" },
    );
    const next = rng(5);
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const bad = good.slice();
      const flips = 1 + Math.floor(next() * 3);
      for (let f = 0; f < flips; f++) bad[Math.floor(next() * bad.length)] = Math.floor(next() * 256);
      try {
        decodeSafetensors(bad);
      } catch (e) {
        expect(e).toBeInstanceOf(SafetensorsError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(1000);
  });
});

describe("encoder checks", () => {
  it("rejects inconsistent tensors with SafetensorsError", () => {
    const bad: Array<[Record<string, Tensor>, RegExp]> = [
      [{ a: { dtype: "F32", shape: [3], data: new Float32Array(2) } }, /needs 3 values, got 2/],
      [{ a: { dtype: "F32", shape: [-1], data: new Float32Array(0) } }, /non-negative/],
      [{ a: { dtype: "I32", shape: [1], data: new Float32Array(1) } as unknown as Tensor }, /must be a Int32Array/],
      [{ a: { dtype: "F16", shape: [1], data: new Int32Array(1) } as unknown as Tensor }, /must be a Float32Array/],
      [{ a: { dtype: "F64", shape: [1], data: new Float32Array(1) } as unknown as Tensor }, /unsupported dtype F64/],
      [{ __metadata__: { dtype: "F32", shape: [1], data: new Float32Array(1) } }, /invalid tensor name/],
      [{ "": { dtype: "F32", shape: [1], data: new Float32Array(1) } }, /invalid tensor name/],
    ];
    for (const [tensors, message] of bad) {
      expect(() => encodeSafetensors(tensors)).toThrow(SafetensorsError);
      expect(() => encodeSafetensors(tensors)).toThrow(message);
    }
  });

  it("encodes a tensor that is a view into a larger array", () => {
    const whole = new Float32Array([9, 1, 2, 9]);
    const out = decodeSafetensors(encodeSafetensors({ a: { dtype: "F32", shape: [2], data: whole.subarray(1, 3) } }));
    expect(Array.from(out.tensors.a.data)).toEqual([1, 2]);
  });
});
