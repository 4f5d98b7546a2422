import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LEARN_BOUNDS } from "../../src/config.ts";
import { seedTinyModel, tinyModel, tinyVocab } from "../helpers/tiny-model.ts";
import { expectPublishedIsReplay, learnOk, logOf, publishNow, writer } from "../writer/support.ts";

const lr = LEARN_BOUNDS.lr.default;

describe("the writer damps repeated learns", () => {
  it("logs each copy's damped rate, damps alike after a restart, and its published weights are the log's replay", async () => {
    const id = "damping";
    await seedTinyModel(env.MODELS, id);
    for (let i = 0; i < 3; i++) await learnOk(id, "the cat sat on the mat");
    await learnOk(id, "a dog ran to the house");
    await evictDurableObject(writer(id));
    await learnOk(id, "the cat sat on the mat");
    const log = await logOf(id);
    expect(log.map((e) => e.lr)).toEqual([lr, lr / 4, lr / 9, lr, lr / 16]);
    expect(await publishNow(id)).toBe(true);
    await expectPublishedIsReplay(id, tinyModel(), tinyVocab());
  });
});
