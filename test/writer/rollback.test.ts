import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LIMITS, runtimeConfig } from "../../src/config.ts";
import { predictWords, textModel } from "../../src/model/text-model.ts";
import { weightsKey } from "../../src/store/kv-layout.ts";
import { type ApiErrorBody, AUTH, authed, call, json } from "../helpers/api.ts";
import { seedTinyModel, tinyVocab } from "../helpers/tiny-model.ts";
import {
  expectSameWeights,
  learnOk,
  logOf,
  publishedWeights,
  publishNow,
  replay,
  sentence,
  status,
  writer,
} from "./support.ts";

function rollback(id: string, body: unknown, type = "application/json") {
  return call(
    `/models/${id}/rollback`,
    authed({
      method: "POST",
      headers: { "content-type": type },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

async function learnAndPublish(id: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) await learnOk(id, sentence(i));
  expect(await publishNow(id)).toBe(true);
}

const sameBytes = (a: ArrayBuffer, b: ArrayBuffer) =>
  a.byteLength === b.byteLength && new Uint8Array(a).every((x, i) => x === new Uint8Array(b)[i]);

describe("POST /models/:id/rollback", () => {
  it("restores an earlier version's weights exactly, as a new version that later learns (and a restart) build on", async () => {
    const id = "rb";
    await seedTinyModel(env.MODELS, id);
    await learnAndPublish(id, 0, 3);
    const v2 = await publishedWeights(id);
    await learnAndPublish(id, 3, 6);
    const v3 = await publishedWeights(id);
    expect(sameBytes(v3.bytes, v2.bytes)).toBe(false);
    // Pending when the rollback comes: it is still published, in the version its answer named,
    // and only then superseded.
    const pending = await learnOk(id, sentence(6));
    expect(pending.model).toEqual({ id, version: 4, published: false });

    const r = await rollback(id, { version: 2 });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ restored: 2, model: { id, version: 5, published: true } });
    const v4blob = await env.MODELS.get(weightsKey(id, 4), "arrayBuffer");
    expect(v4blob).not.toBeNull();

    // KV: a new version naming version 2's immutable blob, with version 2's counters.
    const v5 = await publishedWeights(id);
    expect(v5.manifest).toMatchObject({
      version: 5,
      weightsKey: v2.manifest.weightsKey,
      learns: 3,
      tokensLearned: v2.manifest.tokensLearned,
    });
    const served = await call(`/models/${id}/model/weights`, { headers: AUTH });
    expect(sameBytes(await served.arrayBuffer(), v2.bytes)).toBe(true);
    expectSameWeights(v5.model, v2.model);

    // The writer's in-memory weights are version 2's too.
    const expected = predictWords(
      textModel(v2.model, tinyVocab(), LIMITS.maxSentenceTokens),
      ["the", "quick"],
      10,
      LIMITS.prefixWindow,
    );
    const fresh = await json<{ predictions: unknown; model: { version: number; learns: number } }>(
      `/models/${id}/predict?prefix=the+quick&k=10&fresh=1`,
    );
    expect(fresh.body.predictions).toEqual(expected.predictions);
    expect(fresh.body.model).toMatchObject({ version: 5, learns: 3 });
    const after = await status(id);
    expect(after).toMatchObject({ version: 5, publishedSeq: 7, learns: 3, versions: [1, 2, 3, 4, 5] });

    // A learn after the rollback, then a restart before it is published: the new instance
    // replays only what follows the rollback, on top of version 2's weights.
    await learnOk(id, sentence(100));
    await evictDurableObject(writer(id));
    expect(await publishNow(id)).toBe(true);
    const log = await logOf(id);
    expect(log).toHaveLength(8);
    const v6 = await publishedWeights(id);
    expect(v6.manifest).toMatchObject({ version: 6, weightsKey: weightsKey(id, 6), learns: 4 });
    expectSameWeights(v6.model, replay(v2.model, log.slice(7)));
  });

  it("answers 404 for a version no longer retained; pruning deletes a blob only when no retained version names it", async () => {
    const id = "rb-prune";
    const keep = runtimeConfig(env).keepVersions;
    await seedTinyModel(env.MODELS, id);
    for (let v = 2; v <= keep + 1; v++) await learnAndPublish(id, v, v + 1);
    const kept = Array.from({ length: keep }, (_, i) => i + 2);
    expect((await status(id)).versions).toEqual(kept);
    expect(await env.MODELS.get(weightsKey(id, 1))).toBeNull();

    for (const version of [1, 99]) {
      const r = await rollback(id, { version });
      expect(r.status).toBe(404);
      expect(((await r.json()) as ApiErrorBody).error.code).toBe("version_not_found");
    }

    // Rolling back to the oldest retained version pushes its row out of retention, but the new
    // current version names the same blob, so the blob stays.
    const r = await rollback(id, { version: 2 });
    expect(((await r.json()) as { model: { version: number } }).model.version).toBe(keep + 2);
    expect((await status(id)).versions).toEqual(kept.map((v) => v + 1));
    expect(await env.MODELS.get(weightsKey(id, 2))).not.toBeNull();
    expect((await rollback(id, { version: 2 })).status).toBe(404);
    expect((await rollback(id, { version: keep + 2 })).status).toBe(200);
  });

  it("validates the request", async () => {
    const id = "rb-bad";
    await seedTinyModel(env.MODELS, id);
    for (const body of [{}, { version: -1 }, { version: 1.5 }, { version: "1" }, [1]]) {
      const r = await rollback(id, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await rollback(id, "{", "application/json")).status).toBe(400);
    expect((await rollback(id, "1", "text/plain")).status).toBe(415);
    expect((await rollback(id, { version: 1, pad: "x".repeat(2000) })).status).toBe(413);
    expect((await call(`/models/${id}/rollback`)).status).toBe(405);
    expect((await rollback("nobody", { version: 1 })).status).toBe(503);
    expect((await rollback("no:t", { version: 1 })).status).toBe(400);
    expect((await status(id)).versions).toEqual([1]);
  });
});
