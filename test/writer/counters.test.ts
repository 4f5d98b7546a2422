import { env } from "cloudflare:workers";
import { abortAllDurableObjects } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_COUNT } from "../../src/model/count.ts";
import { vocabHash } from "../../src/model/vocab.ts";
import { publishVersion } from "../../src/store/kv-layout.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/store/safetensors.ts";
import { type ApiErrorBody, authed, call } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { seedTinyModel, tinyVocab } from "../helpers/tiny-model.ts";
import { learnOk, publishedWeights, publishNow, sentence } from "./support.ts";

type Counts = { learns?: number; tokensLearned?: number; clock?: number; format?: string };

/** The model's published file (it has learned-word slots once it learned) with its counters set to `counts`. */
async function exportedWith(id: string, counts: Counts): Promise<Uint8Array> {
  const bytes = new Uint8Array(await (await call(`/models/${id}/model/weights`)).arrayBuffer());
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (counts.format !== undefined) metadata.format = counts.format;
  if (counts.learns !== undefined) metadata.learns = String(counts.learns);
  if (counts.tokensLearned !== undefined) metadata.tokens_learned = String(counts.tokensLearned);
  if (counts.clock !== undefined)
    metadata.learned_words = JSON.stringify({ ...JSON.parse(metadata.learned_words), clock: counts.clock });
  return encodeSafetensors(tensors, metadata);
}

const put = (id: string, body: Uint8Array) =>
  call(
    `/models/${id}/model/weights`,
    authed({ method: "PUT", headers: { "content-type": "application/octet-stream" }, body }),
  );

/** A model that learned once and published, so its file carries learned_words. */
async function learnedModel(id: string): Promise<void> {
  await seedTinyModel(env.MODELS, id);
  await learnOk(id, sentence(1));
  expect(await publishNow(id)).toBe(true);
}

describe("a file's counters are bounded where they are decoded", () => {
  const TOO_BIG = Number.MAX_SAFE_INTEGER; // 2^53 - 1: one more learn and it was no longer a safe integer
  const variants: [string, Counts][] = [
    ["learned_words.clock", { clock: TOO_BIG }],
    ["learns", { learns: TOO_BIG }],
    ["tokens_learned", { tokensLearned: TOO_BIG }],
  ];

  it.each(variants)(
    "an import with %s = 2^53 - 1 is refused (400) and leaves the model as it was",
    async (name, counts) => {
      const id = `count-${name.replace(/[^a-z]/g, "")}`;
      await learnedModel(id);
      const before = await modelState(id);
      const r = await put(id, await exportedWith(id, counts));
      expect(r.status).toBe(400);
      const body = (await r.json()) as ApiErrorBody;
      expect(body.error.code).toBe("invalid_weights");
      expect(body.error.message).toMatch(/out of range|integers from 0 to/);
      expect(await modelState(id)).toEqual(before);
    },
  );

  it.each(variants)(
    "a format-1 file with %s = 2^53 - 1 (format 1 allowed it) imports with it read as 2^48, and stays publishable",
    async (name, counts) => {
      const id = `count-v1-${name.replace(/[^a-z]/g, "")}`;
      await learnedModel(id);
      const r = await put(id, await exportedWith(id, { ...counts, format: "edge-rnnlm/1" }));
      expect(r.status).toBe(200);
      await learnOk(id, sentence(3));
      expect(await publishNow(id)).toBe(true);
      await abortAllDurableObjects();
      await learnOk(id, sentence(4));
      expect(await publishNow(id)).toBe(true);
      const { meta, model } = decodeModel((await publishedWeights(id)).bytes);
      const read = { learns: meta.learns, tokensLearned: meta.tokensLearned, clock: model.learned?.clock };
      const key = name === "learned_words.clock" ? "clock" : name === "learns" ? "learns" : "tokensLearned";
      expect(read[key]).toBe(MAX_COUNT);
    },
  );

  it("a model bricked before the fix (its format-1 file has learned_words.clock = 2^53) loads and learns again", async () => {
    await learnedModel("count-bricked-source");
    const { tensors, metadata } = decodeSafetensors(await exportedWith("count-bricked-source", {}));
    metadata.format = "edge-rnnlm/1";
    metadata.learned_words = metadata.learned_words.replace(/"clock":\d+/, '"clock":9007199254740992');
    const bytes = encodeSafetensors(tensors, metadata);
    const now = new Date().toISOString();
    const id = "count-bricked";
    await publishVersion(env.MODELS, id, bytes, {
      version: 1,
      vocabHash: vocabHash(tinyVocab()),
      createdAt: now,
      updatedAt: now,
      learns: 1,
      tokensLearned: 4,
    });
    expect((await call(`/models/${id}/predict?prefix=the&fresh=1`)).status).toBe(200);
    await learnOk(id, sentence(6));
    expect(await publishNow(id)).toBe(true);
    expect(decodeModel((await publishedWeights(id)).bytes).model.learned?.clock).toBe(MAX_COUNT);
  });

  it("counters at the bound are carried through learns, publish and restart, saturating there", async () => {
    const id = "count-max";
    await learnedModel(id);
    const r = await put(
      id,
      await exportedWith(id, { learns: MAX_COUNT, tokensLearned: MAX_COUNT - 1, clock: MAX_COUNT }),
    );
    expect(r.status).toBe(200);
    await learnOk(id, sentence(2));
    await learnOk(id, "zork the zork");
    expect(await publishNow(id)).toBe(true);
    await abortAllDurableObjects();
    expect((await call(`/models/${id}/predict?prefix=the&fresh=1`)).status).toBe(200);
    const { meta, model } = decodeModel((await publishedWeights(id)).bytes);
    expect(meta).toMatchObject({ learns: MAX_COUNT, tokensLearned: MAX_COUNT });
    expect(model.learned?.clock).toBe(MAX_COUNT);
    expect(model.learned?.words).toContain("zork");
  });
});
