import { describe, expect, it } from "vitest";
import type { RnnLm } from "../../src/model/model.ts";
import { decodeModel, encodeModel, ModelFormatError, MODEL_FORMAT } from "../../src/store/model-codec.ts";
import {
  decodeSafetensors,
  encodeSafetensors,
  halfBitsToFloat,
  floatToHalfBits,
  type Tensor,
} from "../../src/store/safetensors.ts";
import { MAX_COUNT } from "../../src/model/count.ts";
import { repoFile } from "../helpers/repo-files.ts";
import { randomModel, sampleMeta } from "./fixtures.ts";

const bits = (a: Float32Array | Int32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Re-encodes a valid model file after `edit` changed its tensors or metadata. */
function tamper(
  bytes: Uint8Array,
  edit: (tensors: Record<string, Tensor>, metadata: Record<string, string>) => void,
): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes.slice());
  const t = { ...tensors };
  const m = { ...metadata };
  edit(t, m);
  return encodeSafetensors(t, m);
}

function expectFormatError(bytes: Uint8Array, message: RegExp, expect_?: { vocab?: number; vocabHash?: string }): void {
  let error: unknown;
  try {
    decodeModel(bytes, expect_);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ModelFormatError);
  expect((error as Error).message).toMatch(message);
}

describe("round trips", () => {
  it("full output, F32: weights bit-exact, metadata preserved", () => {
    const model = randomModel({ vocab: 11, hidden: 5, seed: 2 });
    const meta = sampleMeta();
    const out = decodeModel(encodeModel(model, meta));
    expect(out.meta).toEqual(meta);
    expect(out.model.vocab).toBe(11);
    expect(out.model.hidden).toBe(5);
    expect(out.model.output).toEqual({ kind: "full" });
    for (const k of ["U", "W", "V"] as const) expect(bits(out.model[k])).toEqual(bits(model[k]));
  });

  it("class output, F32: C, classStart and the derived wordClass", () => {
    const model = randomModel({ vocab: 10, hidden: 4, classes: 3, seed: 4 });
    const out = decodeModel(encodeModel(model, sampleMeta()));
    if (out.model.output.kind !== "class" || model.output.kind !== "class") throw new Error("want class output");
    expect(out.model.output.classes).toBe(3);
    expect(Array.from(out.model.output.classStart)).toEqual([0, 3, 7, 10]);
    expect(Array.from(out.model.output.wordClass)).toEqual([0, 0, 0, 1, 1, 1, 1, 2, 2, 2]);
    expect(bits(out.model.output.C)).toEqual(bits(model.output.C));
    expect(bits(out.model.U)).toEqual(bits(model.U));
  });

  it("direct n-gram weights: D and its order survive, in either dtype", () => {
    const model = randomModel({ vocab: 10, hidden: 4, classes: 3, seed: 6, direct: { order: 3, size: 64 } });
    const out = decodeModel(encodeModel(model, sampleMeta()));
    expect(out.model.direct?.order).toBe(3);
    expect(bits(out.model.direct?.D ?? new Float32Array(0))).toEqual(bits(model.direct?.D ?? new Float32Array(1)));
    const half = decodeModel(encodeModel(model, sampleMeta(), { dtype: "F16" }));
    expect(Array.from(half.model.direct?.D ?? [])).toEqual(
      Array.from(model.direct?.D ?? [], (x) => halfBitsToFloat(floatToHalfBits(x))),
    );
    // A model without a direct layer decodes without one.
    expect(
      decodeModel(encodeModel(randomModel({ vocab: 10, hidden: 4, seed: 6 }), sampleMeta())).model.direct,
    ).toBeUndefined();
  });

  it("F16 halves the weights and rounds each to the nearest half", () => {
    const model = randomModel({ vocab: 40, hidden: 16, classes: 5, seed: 9 });
    const f32 = encodeModel(model, sampleMeta());
    const f16 = encodeModel(model, sampleMeta(), { dtype: "F16" });
    const weights = (40 * 16 * 2 + 16 * 16 + 5 * 16) * 4;
    expect(f16.length).toBeLessThan(f32.length - weights / 2 + 256);
    const out = decodeModel(f16);
    expect(decodeSafetensors(f16).tensors.U.dtype).toBe("F16");
    expect(decodeSafetensors(f16).tensors.class_start.dtype).toBe("I32");
    for (const k of ["U", "W", "V"] as const) {
      expect(Array.from(out.model[k])).toEqual(Array.from(model[k], (x) => halfBitsToFloat(floatToHalfBits(x))));
    }
  });

  it("writes the documented __metadata__ strings", () => {
    const bytes = encodeModel(randomModel({ vocab: 6, hidden: 2, classes: 2 }), sampleMeta());
    expect(decodeSafetensors(bytes).metadata).toEqual({
      format: MODEL_FORMAT,
      output: "class",
      hidden: "2",
      vocab: "6",
      classes: "2",
      vocab_hash: "0123456789abcdef",
      version: "3",
      created_at: "2026-01-02T03:04:05.000Z",
      updated_at: "2026-01-03T03:04:05.000Z",
      tokens_learned: "120",
      learns: "9",
      train: '{"lr":0.005,"bpttTruncate":4}',
    });
    const full = decodeSafetensors(
      encodeModel(randomModel({ vocab: 6, hidden: 2 }), sampleMeta({ hyperparameters: {} })),
    );
    expect(full.metadata.classes).toBeUndefined();
    expect(full.metadata.train).toBeUndefined();
    expect(Object.keys(full.tensors).sort()).toEqual(["U", "V", "W"]);
  });

  it("checks the expected vocabulary", () => {
    const bytes = encodeModel(randomModel({ vocab: 6, hidden: 2 }), sampleMeta());
    expect(decodeModel(bytes, { vocab: 6, vocabHash: "0123456789abcdef" }).model.vocab).toBe(6);
    expectFormatError(bytes, /vocab 6, want 7/, { vocab: 7 });
    expectFormatError(bytes, /does not match the vocabulary ffff/, { vocabHash: "ffff" });
  });
});

describe("encoder refuses", () => {
  const nanModel = (): RnnLm => {
    const m = randomModel({ vocab: 5, hidden: 3 });
    m.W[4] = NaN;
    return m;
  };

  it("non-finite weights", () => {
    expect(() => encodeModel(nanModel(), sampleMeta())).toThrow(ModelFormatError);
    expect(() => encodeModel(nanModel(), sampleMeta())).toThrow(/W\[4\] = NaN/);
  });

  it("weights that overflow float16", () => {
    const m = randomModel({ vocab: 5, hidden: 3 });
    m.U[0] = 65520;
    expect(() => encodeModel(m, sampleMeta(), { dtype: "F16" })).toThrow(/U\[0\] = 65520 is not finite as float16/);
    m.U[0] = 65519;
    expect(decodeModel(encodeModel(m, sampleMeta(), { dtype: "F16" })).model.U[0]).toBe(65504);
  });

  it("a model of the wrong shape", () => {
    const m = randomModel({ vocab: 5, hidden: 3 });
    expect(() => encodeModel({ ...m, W: new Float32Array(8) }, sampleMeta())).toThrow(/invalid model: W has 8 values/);
  });

  it("bad metadata", () => {
    const m = randomModel({ vocab: 5, hidden: 3 });
    expect(() => encodeModel(m, sampleMeta({ version: -1 }))).toThrow(/bad version/);
    expect(() => encodeModel(m, sampleMeta({ createdAt: "yesterday" }))).toThrow(/bad createdAt/);
    expect(() => encodeModel(m, sampleMeta({ hyperparameters: { lr: Infinity } }))).toThrow(
      /lr must be a finite number/,
    );
  });
});

describe("format versions", () => {
  it("writes the current format and reads the previous one: the shipped base model is an edge-rnnlm/1 file", async () => {
    const bytes = new Uint8Array(await repoFile("models/base/weights.safetensors"));
    expect(decodeSafetensors(bytes.slice()).metadata.format).toBe("edge-rnnlm/1");
    const { model, meta } = decodeModel(bytes.slice());
    const again = encodeModel(model, meta);
    expect(decodeSafetensors(again.slice()).metadata.format).toBe(MODEL_FORMAT);
    expect(MODEL_FORMAT).toBe("edge-rnnlm/2");
    expect(decodeModel(again).model.U).toEqual(model.U);
  });

  it("reads a format-1 file's counts beyond 2^48 as 2^48; format 2 refuses them", () => {
    const file = encodeModel(randomModel({ vocab: 7, hidden: 3, seed: 5 }), sampleMeta());
    const big = (format: string) =>
      tamper(file, (_, m) => {
        m.format = format;
        m.learns = "9007199254740991";
        m.tokens_learned = "281474976710657";
        m.learned_words =
          '{"capacity":4,"clock":9007199254740991,"words":["zz"],"uses":[281474976710657],"last_use":[9007199254740991]}';
      });
    const { meta, model } = decodeModel(big("edge-rnnlm/1"));
    expect(meta).toMatchObject({ learns: MAX_COUNT, tokensLearned: MAX_COUNT });
    expect(model.learned).toMatchObject({ clock: MAX_COUNT, uses: [MAX_COUNT], lastUse: [MAX_COUNT] });
    expect(() => decodeModel(big("edge-rnnlm/2"))).toThrow(/out of range/);
  });
});

describe("decoder refuses hostile files", () => {
  const full = encodeModel(randomModel({ vocab: 7, hidden: 3, seed: 5 }), sampleMeta());
  const cls = encodeModel(randomModel({ vocab: 7, hidden: 3, classes: 3, seed: 5 }), sampleMeta());
  const direct = encodeModel(
    randomModel({ vocab: 7, hidden: 3, classes: 3, seed: 5, direct: { order: 2, size: 16 } }),
    sampleMeta(),
  );

  const cases: Array<[string, Uint8Array, RegExp]> = [
    ["garbage", new Uint8Array([1, 2, 3]), /not a valid safetensors file: truncated/],
    ["NaN in V", tamper(full, (t) => ((t.V.data as Float32Array)[2] = NaN)), /V\[2\] = NaN is not finite/],
    ["Infinity in U", tamper(full, (t) => ((t.U.data as Float32Array)[0] = -Infinity)), /U\[0\] = -Infinity/],
    ["NaN in C", tamper(cls, (t) => ((t.C.data as Float32Array)[1] = NaN)), /C\[1\] = NaN/],
    ["another format", tamper(full, (_, m) => (m.format = "other/1")), /format is "other\/1"/],
    ["no format", tamper(full, (_, m) => delete m.format), /format is undefined/],
    ["unknown output", tamper(full, (_, m) => (m.output = "tree")), /unknown output layer "tree"/],
    ["hidden not a number", tamper(full, (_, m) => (m.hidden = "3.0")), /hidden is not a non-negative integer/],
    ["hidden zero", tamper(full, (_, m) => (m.hidden = "0")), /hidden = 0 is out of range/],
    [
      "hidden disagreeing with the tensors",
      tamper(full, (_, m) => (m.hidden = "4")),
      /tensor U has shape \[3,7\], want \[4,7\]/,
    ],
    ["vocab disagreeing with the tensors", tamper(full, (_, m) => (m.vocab = "8")), /shape \[3,7\], want \[3,8\]/],
    ["missing version", tamper(full, (_, m) => delete m.version), /version is missing/],
    ["version with a sign", tamper(full, (_, m) => (m.version = "-1")), /version is not a non-negative integer/],
    ["version with leading zero", tamper(full, (_, m) => (m.version = "01")), /version is not a non-negative integer/],
    ["version beyond 2^53", tamper(full, (_, m) => (m.version = "9999999999999999")), /out of range/],
    [
      "learns of 2^53 - 1",
      tamper(full, (_, m) => (m.learns = "9007199254740991")),
      /learns = 9007199254740991 is out of range/,
    ],
    [
      "tokens_learned of 2^48 + 1",
      tamper(full, (_, m) => (m.tokens_learned = "281474976710657")),
      /tokens_learned = 281474976710657 is out of range/,
    ],
    [
      "a learned-word clock of 2^53 - 1",
      tamper(
        full,
        (_, m) => (m.learned_words = '{"capacity":4,"clock":9007199254740991,"words":[],"uses":[],"last_use":[]}'),
      ),
      /learned_words needs .* integers from 0 to 281474976710656/,
    ],
    [
      "a learned word's uses of 2^48 + 1",
      tamper(
        full,
        (_, m) => (m.learned_words = '{"capacity":4,"clock":3,"words":["zz"],"uses":[281474976710657],"last_use":[3]}'),
      ),
      /learned_words needs/,
    ],
    ["bad date", tamper(full, (_, m) => (m.updated_at = "soon")), /bad updatedAt/],
    ["train not JSON", tamper(full, (_, m) => (m.train = "{lr")), /train is not valid JSON/],
    ["train an array", tamper(full, (_, m) => (m.train = "[1]")), /train must be a JSON object/],
    ["train with a string", tamper(full, (_, m) => (m.train = '{"lr":"fast"}')), /train.lr must be a finite number/],
    [
      "transposed U",
      tamper(full, (t) => (t.U = { ...t.U, shape: [7, 3] })),
      /tensor U has shape \[7,3\], want \[3,7\]/,
    ],
    ["U flattened", tamper(full, (t) => (t.U = { ...t.U, shape: [21] })), /tensor U has shape \[21\]/],
    ["missing W", tamper(full, (t) => delete t.W), /tensor W is missing/],
    [
      "extra tensor",
      tamper(full, (t) => (t.bias = { dtype: "F32", shape: [1], data: new Float32Array(1) })),
      /unexpected tensor bias/,
    ],
    ["class tensors in a full model", tamper(cls, (_, m) => (m.output = "full")), /unexpected tensor (C|class_start)/],
    ["class model without classes", tamper(cls, (_, m) => delete m.classes), /classes is missing/],
    ["class model without C", tamper(cls, (t) => delete t.C), /tensor C is missing/],
    [
      "class_start as floats",
      tamper(cls, (t) => (t.class_start = { dtype: "F32", shape: [4], data: new Float32Array([0, 3, 5, 7]) })),
      /class_start has dtype F32, want I32/,
    ],
    [
      "U as integers",
      tamper(full, (t) => (t.U = { dtype: "I32", shape: [3, 7], data: new Int32Array(21) })),
      /tensor U has dtype I32/,
    ],
    [
      "an empty class",
      tamper(cls, (t) => (t.class_start = { dtype: "I32", shape: [4], data: new Int32Array([0, 3, 3, 7]) })),
      /invalid model: class 1 is empty/,
    ],
    [
      "classStart not ending at vocab",
      tamper(cls, (t) => (t.class_start = { dtype: "I32", shape: [4], data: new Int32Array([0, 3, 5, 9]) })),
      /invalid model: classStart must run from 0 to vocab/,
    ],
    ["D without an order", tamper(direct, (_, m) => delete m.direct_order), /direct_order is missing/],
    ["an order without D", tamper(direct, (t) => delete t.D), /tensor D is missing/],
    ["order zero", tamper(direct, (_, m) => (m.direct_order = "0")), /direct_order = 0 is out of range/],
    ["order too high", tamper(direct, (_, m) => (m.direct_order = "9")), /invalid model: direct order must be 1\.\.6/],
    [
      "D not a power of two",
      tamper(direct, (t) => (t.D = { dtype: "F32", shape: [12], data: new Float32Array(12) })),
      /invalid model: D has 12 values, want a power of two/,
    ],
    [
      "D as a matrix",
      tamper(direct, (t) => (t.D = { dtype: "F32", shape: [4, 4], data: new Float32Array(16) })),
      /tensor D has shape \[4,4\], want \[4\]/,
    ],
    ["NaN in D", tamper(direct, (t) => ((t.D.data as Float32Array)[3] = NaN)), /D\[3\] = NaN/],
    [
      "negative classStart",
      tamper(cls, (t) => (t.class_start = { dtype: "I32", shape: [4], data: new Int32Array([-2, 3, 5, 7]) })),
      /invalid model/,
    ],
  ];

  for (const [name, bytes, message] of cases) {
    it(`rejects ${name}`, () => expectFormatError(bytes, message));
  }

  it("tamper() alone keeps a file valid", () => {
    expect(decodeModel(tamper(cls, () => {})).model.vocab).toBe(7);
  });
});
