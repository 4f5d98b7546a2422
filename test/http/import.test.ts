import { env } from "cloudflare:workers";
import { abortAllDurableObjects } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { importLimitBytes } from "../../src/http/weights-import.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { vocabHash } from "../../src/model/vocab.ts";
import { readManifest, weightsKey } from "../../src/store/kv-layout.ts";
import { decodeModel, encodeModel, type ModelMeta, type WeightDtype } from "../../src/store/model-codec.ts";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "../../src/store/safetensors.ts";
import { type ApiErrorBody, AUTH, authed, call, json } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { seedTinyModel, tinyModel, tinyVocab } from "../helpers/tiny-model.ts";
import {
  expectSameWeights,
  learnOk,
  logOf,
  publishedWeights,
  publishNow,
  replay,
  sentence,
  status,
} from "../writer/support.ts";

const NOW = "2026-01-01T00:00:00.000Z";

function fileOf(model: RnnLm, meta: Partial<ModelMeta> = {}, dtype: WeightDtype = "F32"): Uint8Array {
  const base: ModelMeta = {
    version: 7,
    vocabHash: vocabHash(tinyVocab()),
    createdAt: NOW,
    updatedAt: NOW,
    tokensLearned: 11,
    learns: 3,
    hyperparameters: { lr: 0.1 },
  };
  return encodeModel(model, { ...base, ...meta }, { dtype });
}

/** A valid file with its tensors or metadata rewritten (for files encodeModel would refuse to write). */
function rewritten(edit: (tensors: Record<string, Tensor>, metadata: Record<string, string>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(fileOf(tinyModel()).slice());
  edit(tensors, metadata);
  return encodeSafetensors(tensors, metadata);
}

function put(
  id: string,
  body: BodyInit,
  type = "application/octet-stream",
  headers: Record<string, string> = {},
): Promise<Response> {
  return call(
    `/models/${id}/model/weights`,
    authed({ method: "PUT", headers: { "content-type": type, ...headers }, body }),
  );
}

async function freshTop(id: string): Promise<unknown> {
  return (await json<{ predictions: unknown }>(`/models/${id}/predict?prefix=the+quick&k=45&fresh=1`)).body.predictions;
}

describe("PUT /model/weights", () => {
  it("makes an exported file the model's weights, published at once; later learns and restarts build on it", async () => {
    const id = "imp";
    await seedTinyModel(env.MODELS, id);
    const exported = await (await call(`/models/${id}/model/weights`)).arrayBuffer();
    const original = await freshTop(id);
    for (let i = 0; i < 3; i++) await learnOk(id, sentence(i));
    expect(await freshTop(id)).not.toEqual(original);

    const r = await put(id, exported);
    expect(r.status).toBe(200);
    // The three pending learns went out first, as version 2 (the version their answers named).
    expect(await r.json()).toEqual({ model: { id, version: 3, published: true }, learns: 0, tokensLearned: 0 });
    expect(await env.MODELS.get(weightsKey(id, 2), "arrayBuffer")).not.toBeNull();
    expect(await freshTop(id)).toEqual(original);
    const v3 = await publishedWeights(id);
    expect(v3.manifest).toMatchObject({ version: 3, learns: 0, tokensLearned: 0 });
    expectSameWeights(v3.model, tinyModel());
    // The superseded learns stay in the log and are never replayed.
    expect(await status(id)).toMatchObject({ version: 3, lastSeq: 3, publishedSeq: 3, learns: 0 });
    await abortAllDurableObjects();
    expect(await freshTop(id)).toEqual(original);

    await learnOk(id, sentence(10));
    expect(await publishNow(id)).toBe(true);
    const log = await logOf(id);
    expectSameWeights((await publishedWeights(id)).model, replay(tinyModel(), log.slice(3)));
  });

  it("takes back a published version it exported, with the anchor that version carries", async () => {
    const id = "imp-anchor";
    await seedTinyModel(env.MODELS, id);
    await learnOk(id, sentence(1));
    expect(await publishNow(id)).toBe(true);
    const exported = await (await call(`/models/${id}/model/weights`)).arrayBuffer();
    expect(Object.keys(decodeSafetensors(new Uint8Array(exported.slice(0))).tensors)).toContain("anchor_W");
    const v2 = await freshTop(id);
    await learnOk(id, sentence(2));
    const r = await put(id, exported);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ model: { version: 4 }, learns: 1 });
    expect(await freshTop(id)).toEqual(v2);
    const published = await publishedWeights(id);
    expect(decodeModel(published.bytes.slice(0)).model.anchor).toEqual(decodeModel(exported.slice(0)).model.anchor);
  });

  it("accepts F16 weights and publishes them as F32 (exact on reload), with the counters the file reports", async () => {
    const id = "imp-f16";
    await seedTinyModel(env.MODELS, id);
    const f16 = fileOf(tinyModel(5), {}, "F16");
    const r = await put(id, f16);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ learns: 3, tokensLearned: 11 });
    const published = await publishedWeights(id);
    expect(decodeSafetensors(new Uint8Array(published.bytes)).tensors.U.dtype).toBe("F32");
    expectSameWeights(published.model, decodeModel(f16).model);
    expect(await readManifest(env.MODELS, id)).toMatchObject({ version: 2, learns: 3, tokensLearned: 11 });
  });
});

describe("PUT /model/weights refuses anything else and keeps the model", () => {
  const ID = "imp-refused";
  beforeAll(() => seedTinyModel(env.MODELS, ID));

  const valid = () => fileOf(tinyModel(2));
  const cases: [string, () => Response | Promise<Response>, number, string][] = [
    [
      "no token",
      () =>
        call(`/models/${ID}/model/weights`, {
          method: "PUT",
          headers: { "content-type": "application/octet-stream" },
          body: valid(),
        }),
      401,
      "unauthorized",
    ],
    ["JSON content type", () => put(ID, valid(), "application/json"), 415, "unsupported_media_type"],
    [
      "no content type",
      () => call(`/models/${ID}/model/weights`, authed({ method: "PUT", body: valid() })),
      415,
      "unsupported_media_type",
    ],
    ["an empty body", () => put(ID, new Uint8Array(0)), 400, "invalid_weights"],
    ["random bytes", () => put(ID, crypto.getRandomValues(new Uint8Array(4096))), 400, "invalid_weights"],
    ["a truncated file", () => put(ID, valid().slice(0, 5000)), 400, "invalid_weights"],
    [
      "a header longer than the file",
      () => put(ID, new Uint8Array([255, 255, 0, 0, 0, 0, 0, 0, 123])),
      400,
      "invalid_weights",
    ],
    [
      "a header that is not JSON",
      () => put(ID, new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 123, 34, 58, 125])),
      400,
      "invalid_weights",
    ],
    [
      "a NaN weight",
      () => {
        const { tensors } = decodeSafetensors(valid());
        const U = tensors.U.data as Float32Array;
        return put(
          ID,
          rewritten((t) => void (t.U = { ...t.U, data: U.map((x, i) => (i === 17 ? NaN : x)) } as Tensor)),
        );
      },
      400,
      "invalid_weights",
    ],
    [
      "an infinite weight",
      () =>
        put(
          ID,
          rewritten((t) => void (t.W.data as Float32Array).fill(Infinity, 3, 4)),
        ),
      400,
      "invalid_weights",
    ],
    [
      "an integer dtype",
      () =>
        put(
          ID,
          rewritten((t) => void (t.W = { dtype: "I32", shape: t.W.shape, data: new Int32Array(t.W.data.length) })),
        ),
      400,
      "invalid_weights",
    ],
    [
      "a shape that disagrees with the metadata",
      () =>
        put(
          ID,
          rewritten((t) => void (t.W = { ...t.W, shape: [t.W.data.length] } as Tensor)),
        ),
      400,
      "invalid_weights",
    ],
    [
      "a missing tensor",
      () =>
        put(
          ID,
          rewritten((t) => void delete t.C),
        ),
      400,
      "invalid_weights",
    ],
    [
      "an extra tensor",
      () =>
        put(
          ID,
          rewritten((t) => void (t.extra = { dtype: "F32", shape: [1], data: new Float32Array(1) })),
        ),
      400,
      "invalid_weights",
    ],
    [
      "no format metadata",
      () =>
        put(
          ID,
          rewritten((_, md) => void delete md.format),
        ),
      400,
      "invalid_weights",
    ],
    ["another vocabulary", () => put(ID, fileOf(tinyModel(), { vocabHash: "0123abcd" })), 422, "vocabulary_mismatch"],
    ["another hidden size", () => put(ID, fileOf(tinyModel(1, 8))), 422, "shape_mismatch"],
    ["no direct weights", () => put(ID, fileOf(tinyModel(1, 16, null))), 422, "shape_mismatch"],
    ["another direct order", () => put(ID, fileOf(tinyModel(1, 16, { order: 2, size: 1024 }))), 422, "shape_mismatch"],
    [
      "a body over the model's size",
      () => put(ID, new Uint8Array(importLimitBytes(tinyModel()) + 1)),
      413,
      "body_too_large",
    ],
  ];

  it.each(cases)("%s -> %i %s", async (_, send, statusCode, code) => {
    const before = await modelState(ID);
    const r = await send();
    expect(r.status).toBe(statusCode);
    expect(r.headers.get("content-type")).toContain("application/json");
    const body = (await r.json()) as ApiErrorBody;
    expect(body.error.code).toBe(code);
    expect(body.error.message.length).toBeGreaterThan(10);
    expect(await modelState(ID)).toEqual(before);
  });

  it("says why a file is refused", async () => {
    const r = await put(ID, fileOf(tinyModel(1, 8)));
    expect(((await r.json()) as ApiErrorBody).error.message).toBe(
      "the weights have vocab 45, hidden 8, class output of 6 classes, direct order 3 over 1024 weights; " +
        "the model has vocab 45, hidden 16, class output of 6 classes, direct order 3 over 1024 weights",
    );
  });

  it("answers 503 for a model that does not exist", async () => {
    const r = await call("/models/nobody/model/weights", {
      method: "PUT",
      headers: { ...AUTH, "content-type": "application/octet-stream" },
      body: valid(),
    });
    expect(r.status).toBe(503);
    expect(((await r.json()) as ApiErrorBody).error.code).toBe("no_model");
  });
});
