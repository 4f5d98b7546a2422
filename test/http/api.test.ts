import { env } from "cloudflare:workers";
import { runDurableObjectAlarm } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/config.ts";
import { type ApiErrorBody, authed, call, json, learnJson } from "../helpers/api.ts";
import { learnAs } from "../writer/support.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";

interface PredictBody {
  prefix: string[];
  predictions: { word: string; p: number }[];
  model: { id: string; version: number };
}
interface LearnBody {
  tokens: number;
  lossBefore: number;
  lossAfter: number;
  model: { id: string; version: number; published: boolean };
}

// Storage lives as long as the test file, so each test seeds a model of its own.
let models = 0;
let id = "";
let base = "";
/** Publishes now instead of waiting for the interval. */
const publishNow = () => runDurableObjectAlarm(env.WRITER.get(env.WRITER.idFromName(id)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("before seeding", () => {
  it.each(["/predict?prefix=the", "/model", "/model/weights"])(
    "GET %s answers 503 saying how to seed",
    async (path) => {
      const { status, body } = await json<ApiErrorBody>(path);
      expect(status).toBe(503);
      expect(body.error.code).toBe("no_model");
      expect(body.error.message).toContain("npm run seed");
    },
  );

  it("POST /learn answers 503", async () => {
    const r = await learnJson("the quick brown fox");
    expect(r.status).toBe(503);
    expect(((await r.json()) as ApiErrorBody).error.code).toBe("no_model");
  });
});

describe("with a seeded model", () => {
  beforeEach(async () => {
    id = `m${++models}`;
    base = `/models/${id}`;
    await seedTinyModel(env.MODELS, id);
  });

  it("predicts k distinct suggestible words, best first, with probabilities", async () => {
    const { status, body } = await json<PredictBody>(`${base}/predict?prefix=The%20quick%20Zorblax&k=7`);
    expect(status).toBe(200);
    expect(body.prefix).toEqual(["the", "quick", "<unk>"]);
    expect(body.model).toEqual({ id, version: 1 });
    expect(body.predictions).toHaveLength(7);
    const words = body.predictions.map((p) => p.word);
    expect(new Set(words).size).toBe(7);
    for (const w of ["<s>", "</s>", "<unk>"]) expect(words).not.toContain(w);
    for (let i = 1; i < 7; i++) expect(body.predictions[i - 1].p).toBeGreaterThanOrEqual(body.predictions[i].p);
    expect(body.predictions.every((p) => p.p > 0 && p.p < 1)).toBe(true);
  });

  it("defaults to 5 predictions and treats a missing prefix as the sentence start", async () => {
    const a = await json<PredictBody>(`${base}/predict`);
    const b = await json<PredictBody>(`${base}/predict?prefix=`);
    expect(a.status).toBe(200);
    expect(a.body.prefix).toEqual([]);
    expect(a.body.predictions).toHaveLength(5);
    expect(b.body.predictions).toEqual(a.body.predictions);
  });

  it(`reads a long prefix through its last ${LIMITS.prefixWindow} tokens`, async () => {
    const long = Array.from({ length: 100 }, (_, i) => (i % 2 ? "cat" : "dog")).join(" ");
    const { body } = await json<PredictBody>(`${base}/predict?prefix=${encodeURIComponent(long)}`);
    expect(body.prefix).toHaveLength(LIMITS.prefixWindow);
  });

  it("learns: the learned continuation rises to the top, first in the writer, then in KV", async () => {
    const prefix = `${base}/predict?prefix=${encodeURIComponent("the quick brown fox")}`;
    const before = await json<PredictBody>(`${prefix}&k=50`);
    const pBefore = before.body.predictions.find((p) => p.word === "jumps")?.p ?? 0;
    expect(before.body.predictions[0].word).not.toBe("jumps");
    let last: LearnBody | undefined;
    // /learn's default rate is tuned on the trained base model (docs/adaptation.md;
    // test/eval/adaptation-defaults.test.ts checks it there); this untrained toy model
    // needs a larger one to move within five learns.
    // Taught by two subjects (the token's, "admin", and bob's), so the phrase memory may recall it.
    for (let i = 0; i < 5; i++) {
      if (i % 2 === 1) {
        await learnAs(id, "bob", "The quick brown fox jumps over the lazy dog.", { lr: 0.1 });
        continue;
      }
      const r = await learnJson("The quick brown fox jumps over the lazy dog.", { lr: 0.1 }, `${base}/learn`);
      expect(r.status).toBe(200);
      last = (await r.json()) as LearnBody;
      expect(last.tokens).toBe(10);
      expect(last.lossAfter).toBeLessThan(last.lossBefore);
    }
    expect(last!.model).toEqual({ id, version: 2, published: false });
    const fresh = await json<PredictBody>(`${prefix}&fresh=1`);
    expect(fresh.body.predictions[0].word).toBe("jumps");
    expect(fresh.body.predictions[0].p).toBeGreaterThan(pBefore);

    // The published model still serves version 1 until the writer publishes.
    expect((await json<PredictBody>(prefix)).body.model.version).toBe(1);
    expect(await publishNow()).toBe(true);
    await sleep(1100); // the isolate cache trusts a manifest read for 1 s
    const published = await json<PredictBody>(prefix);
    expect(published.body.model.version).toBe(2);
    expect(published.body.predictions[0].word).toBe("jumps");
    expect(published.body.predictions[0].p).toBeCloseTo(fresh.body.predictions[0].p, 6);
  });

  it("accepts text/plain with options in the query", async () => {
    const r = await call(
      `${base}/learn?lr=0.05&steps=2`,
      authed({ method: "POST", headers: { "content-type": "text/plain" }, body: "a cat sat on my mat" }),
    );
    expect(r.status).toBe(200);
    expect(((await r.json()) as LearnBody).tokens).toBe(6);
  });

  it("GET /model describes the published model; /model/weights returns its safetensors bytes", async () => {
    const m = await json<Record<string, unknown>>(`${base}/model`);
    expect(m.status).toBe(200);
    expect(m.body).toMatchObject({
      id,
      version: 1,
      vocab: 45,
      hidden: 16,
      output: "class",
      learns: 0,
      tokensLearned: 0,
    });
    const w = await call(`${base}/model/weights`);
    expect(w.status).toBe(200);
    expect(w.headers.get("content-type")).toBe("application/octet-stream");
    const bytes = new Uint8Array(await w.arrayBuffer());
    expect(bytes.byteLength).toBe(m.body.bytes);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header.U.shape).toEqual([16, 45]);
  });

  it("counts learns in /model after a publish, with a moving average of the learn loss", async () => {
    expect((await json<Record<string, unknown>>(`${base}/model`)).body.learnLossAvg).toBeNull();
    const a = (await (await learnJson("my dog is very big", {}, `${base}/learn`)).json()) as LearnBody;
    const b = (await (await learnJson("my cat is small", {}, `${base}/learn`)).json()) as LearnBody;
    await publishNow();
    await sleep(1100);
    const m = await json<Record<string, unknown>>(`${base}/model`);
    expect(m.body).toMatchObject({ version: 2, learns: 2, tokensLearned: 9 });
    // The first learn starts the average; each later one moves it 5% of the way to its own loss.
    expect(m.body.learnLossAvg).toBeCloseTo(a.lossBefore + 0.05 * (b.lossBefore - a.lossBefore), 12);
  });
});
