import { describe, expect, it } from "vitest";
import { anchorOf } from "../../src/model/anchor.ts";
import { decodeModel, encodeModel, ModelFormatError } from "../../src/store/model-codec.ts";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../../src/store/safetensors.ts";
import { randomModel, sampleMeta } from "./fixtures.ts";

describe("the anchor in a model file", () => {
  it.each([undefined, 4])("round-trips bit-exactly when present (classes: %s)", (classes) => {
    const model = randomModel({ vocab: 11, hidden: 5, seed: 4, classes });
    const anchor = anchorOf(model);
    model.W.fill(0.5); // the weights move on; the anchor stays
    const { model: out } = decodeModel(encodeModel(model, sampleMeta()));
    expect(out.anchor!.W).toEqual(anchor.W);
    expect(out.anchor!.C).toEqual(anchor.C);
    expect(out.W).toEqual(model.W);
  });

  it("is absent from a model that never had one", () => {
    const model = randomModel({ vocab: 11, hidden: 5, seed: 4, classes: 4 });
    const bytes = encodeModel(model, sampleMeta());
    expect(Object.keys(decodeSafetensors(bytes).tensors)).not.toContain("anchor_W");
    expect(decodeModel(bytes).model.anchor).toBeUndefined();
  });

  it("is refused with the wrong shape or without its class part", () => {
    const model = randomModel({ vocab: 11, hidden: 5, seed: 4, classes: 4 });
    anchorOf(model);
    const { tensors, metadata } = decodeSafetensors(encodeModel(model, sampleMeta()));
    const broken: Record<string, Tensor>[] = [
      { ...tensors, anchor_W: { dtype: "F32", shape: [25], data: tensors.anchor_W.data as Float32Array } },
      Object.fromEntries(Object.entries(tensors).filter(([name]) => name !== "anchor_C")),
    ];
    for (const t of broken) expect(() => decodeModel(encodeSafetensors(t, metadata))).toThrow(ModelFormatError);
  });
});
