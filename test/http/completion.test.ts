/** GET /predict with `partial`: completion through the API, published and fresh, and its bad inputs. */
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { LIMITS } from "../../src/config.ts";
import { type ApiErrorBody, json, learnJson } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { seedTinyModel, WORDS } from "../helpers/tiny-model.ts";
import { learnAs } from "../writer/support.ts";

interface PredictBody {
  prefix: string[];
  partial?: string;
  predictions: { word: string; text: string; p: number }[];
  model: { id: string; version: number; fresh?: boolean };
}

let models = 0;
let base = "";
let id = "";

describe("GET /predict?partial=", () => {
  beforeEach(async () => {
    id = `c${++models}`;
    base = `/models/${id}`;
    await seedTinyModel(env.MODELS, id);
  });

  it("returns the most probable words that start with the partial, from the whole vocabulary", async () => {
    const all = await json<PredictBody>(`${base}/predict?prefix=the&k=50`);
    const { status, body } = await json<PredictBody>(`${base}/predict?prefix=the&partial=B&k=50`);
    expect(status).toBe(200);
    expect(body.partial).toBe("b");
    const words = WORDS.filter((w) => w.startsWith("b"));
    expect(body.predictions.map((p) => p.word).sort()).toEqual(words.sort());
    // The same probabilities as the next-word prediction: completion filters nothing but the words.
    for (const p of body.predictions) expect(p.p).toBe(all.body.predictions.find((q) => q.word === p.word)?.p ?? p.p);
    for (let i = 1; i < body.predictions.length; i++)
      expect(body.predictions[i - 1].p).toBeGreaterThanOrEqual(body.predictions[i].p);
  });

  it("includes a partial that is already a whole word, and offers no punctuation for an empty partial", async () => {
    const whole = await json<PredictBody>(`${base}/predict?partial=dog&k=5`);
    expect(whole.body.predictions.map((p) => p.word)).toEqual(["dog"]);
    const empty = await json<PredictBody>(`${base}/predict?prefix=the%20cat&partial=&k=50`);
    expect(empty.body.predictions.some((p) => [",", ".", "?"].includes(p.word))).toBe(false);
    expect(empty.body.predictions).toHaveLength(WORDS.length - 3);
  });

  it("completes in the writer too (fresh=1), with the same answer as the published model before any learn", async () => {
    const published = await json<PredictBody>(`${base}/predict?prefix=a%20cat&partial=s&k=3`);
    const fresh = await json<PredictBody>(`${base}/predict?prefix=a%20cat&partial=s&k=3&fresh=1`);
    expect(fresh.body.model.fresh).toBe(true);
    expect(fresh.body.predictions).toEqual(published.body.predictions);
    expect(published.body.predictions.map((p) => p.word)).toEqual(expect.arrayContaining(["sat"]));
  });

  it("completes a word the model learned, in the writer, once a second subject taught it", async () => {
    for (let i = 0; i < 2; i++) {
      const r = await learnJson("my cat is called Zorblax", { lr: 0.1 }, `${base}/learn`);
      expect(r.status).toBe(200);
    }
    expect((await json<PredictBody>(`${base}/predict?prefix=called&partial=zo&fresh=1`)).body.predictions).toEqual([]);
    await learnAs(id, "bob", "my cat is called Zorblax", { lr: 0.1 });
    const { body } = await json<PredictBody>(`${base}/predict?prefix=called&partial=zo&fresh=1`);
    expect(body.predictions.map((p) => p.word)).toEqual(["zorblax"]);
  });

  it.each([
    ["x".repeat(LIMITS.maxPartialChars + 1), 413, "partial_too_long"],
    ["two words", 400, "invalid_parameter"],
    ["tab\there", 400, "invalid_parameter"],
  ])("refuses partial %j with %i %s, changing nothing", async (partial, status, code) => {
    const before = await modelState(id);
    const r = await json<ApiErrorBody>(`${base}/predict?partial=${encodeURIComponent(partial)}&fresh=1`);
    expect(r.status).toBe(status);
    expect(r.body.error.code).toBe(code);
    expect(await modelState(id)).toEqual(before);
  });
});

describe("written forms", () => {
  it("each suggestion carries its written form beside the token, published and fresh", async () => {
    await seedTinyModel(env.MODELS, "forms");
    for (const fresh of ["", "&fresh=1"]) {
      const { body } = await json<PredictBody>(`/models/forms/predict?prefix=the&k=50${fresh}`);
      const i = body.predictions.find((p) => p.word === "i");
      expect(i).toEqual({ word: "i", text: "I", p: expect.any(Number) });
      expect(body.predictions.filter((p) => p.word !== "i").every((p) => p.text === p.word)).toBe(true);
      const completed = await json<PredictBody>(`/models/forms/predict?partial=I&k=10${fresh}`);
      expect(completed.body.predictions.map((p) => p.text).sort()).toEqual(["I", "in", "is", "it"]);
    }
  });
});
