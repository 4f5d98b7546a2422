import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/config.ts";
import { predictWords, textModel } from "../../src/model/text-model.ts";
import { json } from "../helpers/api.ts";
import { seedTinyModel, tinyModel, tinyVocab } from "../helpers/tiny-model.ts";
import { learnOk, logOf, publishNow, replay, sleep } from "./support.ts";

interface PredictBody {
  predictions: { word: string; p: number }[];
  model: { id: string; version: number; learns?: number; fresh?: boolean };
}

describe("read paths", () => {
  it("fresh=1 sees a learn at once; /predict sees it once a version holding it is published", async () => {
    const id = "visible";
    await seedTinyModel(env.MODELS, id);
    const q = `/models/${id}/predict?prefix=the+quick+brown+fox&k=20`;
    const before = await json<PredictBody>(q);
    expect(before.body.model.version).toBe(1);

    const text = "the quick brown fox jumps over the lazy dog";
    const replies = [];
    for (let i = 0; i < 3; i++) replies.push(await learnOk(id, text));
    expect(replies.map((r) => r.model)).toEqual(replies.map(() => ({ id, version: 2, published: false })));

    // The writer's weights: exactly the log replayed, visible at once with fresh=1.
    const expected = predictWords(
      textModel(replay(tinyModel(), await logOf(id)), tinyVocab(), LIMITS.maxSentenceTokens),
      ["the", "quick", "brown", "fox"],
      20,
      LIMITS.prefixWindow,
    );
    const fresh = await json<PredictBody>(`${q}&fresh=1`);
    expect(fresh.body.predictions).toEqual(expected.predictions);
    expect(fresh.body.predictions).not.toEqual(before.body.predictions);
    expect(fresh.body.model).toEqual({ id, version: 1, learns: 3, fresh: true });

    // KV readers still serve version 1 until the publish...
    expect((await json<PredictBody>(q)).body).toEqual(before.body);
    expect(await publishNow(id)).toBe(true);
    await sleep(1100); // the isolate cache trusts a manifest read for 1 s
    // ...then version 2, bit-identical to what the writer held.
    const after = await json<PredictBody>(q);
    expect(after.body.model).toEqual({ id, version: 2 });
    expect(after.body.predictions).toEqual(fresh.body.predictions);
  });
});
