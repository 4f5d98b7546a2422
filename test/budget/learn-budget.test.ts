import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { CALIBRATION } from "../../src/budget/calibration.ts";
import { budgetSentence, ROUTING_ALLOWANCE_MS } from "../../src/budget/learn-budget.ts";
import { estimateLearnMs, learnShape } from "../../src/budget/cost-model.ts";
import { encodeSentence, vocabFromJson, vocabHash } from "../../src/model/vocab.ts";
import { firstVersionFields, publishVersion } from "../../src/store/kv-layout.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { learnJson } from "../helpers/api.ts";
import { repoFile, repoJson } from "../helpers/repo-files.ts";

const ID = "budgeted";
const LONG = Array.from(
  { length: 64 },
  (_, i) => ["the", "old", "man", "said", "that", "he", "would", "come", "back", "."][i % 10],
);

async function baseModel() {
  const vocab = vocabFromJson(await repoJson("models/base/vocab.json"));
  const bytes = await repoFile("models/base/weights.safetensors");
  return { vocab, bytes, model: decodeModel(bytes).model };
}

describe("the learn budget", () => {
  it("keeps a short sentence whole and learns the most recent words of one that does not fit", async () => {
    const { model, vocab } = await baseModel();
    const short = budgetSentence(model, vocab, ["a", "good", "day"], { truncate: 4, steps: 1 }, 10)!;
    expect(short.truncated).toBe(false);
    expect(short.tokens).toEqual(["a", "good", "day"]);
    expect(short.ids).toEqual(Array.from(encodeSentence(["a", "good", "day"], vocab)));

    const opts = { truncate: 16, steps: 5 };
    const whole = estimateLearnMs(LONG.length, opts, learnShape(model, encodeSentence(LONG, vocab)), CALIBRATION);
    expect(whole).toBeGreaterThan(10 - ROUTING_ALLOWANCE_MS); // the case under test really is over budget
    const cut = budgetSentence(model, vocab, LONG, opts, 10)!;
    expect(cut.truncated).toBe(true);
    expect(cut.tokens.length).toBeGreaterThan(0);
    expect(cut.tokens.length).toBeLessThan(LONG.length);
    expect(cut.tokens).toEqual(LONG.slice(LONG.length - cut.tokens.length));
    expect(cut.estimateMs).toBeLessThanOrEqual(10 - ROUTING_ALLOWANCE_MS);
    // One more word would not have fitted.
    const longer = LONG.slice(LONG.length - cut.tokens.length - 1);
    expect(
      estimateLearnMs(longer.length, opts, learnShape(model, encodeSentence(longer, vocab)), CALIBRATION),
    ).toBeGreaterThan(10 - ROUTING_ALLOWANCE_MS);
  });

  it("refuses when not even one word fits", async () => {
    const { model, vocab } = await baseModel();
    expect(budgetSentence(model, vocab, LONG, { truncate: 16, steps: 5 }, 1.05)).toBeNull();
  });

  describe("through /learn on the shipped model", () => {
    beforeAll(async () => {
      const { vocab, bytes } = await baseModel();
      const hash = vocabHash(vocab);
      const now = new Date().toISOString();
      await publishVersion(env.MODELS, ID, new Uint8Array(bytes), firstVersionFields(hash, now), { vocab });
    });

    it("says how the learn fitted the budget, and trains on the recent window when it had to", async () => {
      const small = await learnJson("the old man said that he would come back", {}, `/models/${ID}/learn`);
      expect(small.status).toBe(200);
      const a = (await small.json()) as {
        tokens: number;
        budget: { estimateMs: number; budgetMs: number; truncated: boolean };
      };
      expect(a.tokens).toBe(9);
      expect(a.budget.truncated).toBe(false);
      expect(a.budget.budgetMs).toBe(10);
      expect(a.budget.estimateMs).toBeGreaterThan(0);

      const big = await learnJson(LONG.join(" "), { truncate: 16, steps: 2 }, `/models/${ID}/learn`);
      expect(big.status).toBe(200);
      const b = (await big.json()) as { tokens: number; budget: { estimateMs: number; truncated: boolean } };
      expect(b.budget.truncated).toBe(true);
      expect(b.tokens).toBeLessThan(LONG.length);
      expect(b.budget.estimateMs).toBeLessThanOrEqual(10 - ROUTING_ALLOWANCE_MS);
    });
  });
});
