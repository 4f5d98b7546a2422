import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { runtimeConfig } from "../../src/config.ts";
import { parseManifest, readManifest, weightsKey } from "../../src/store/kv-layout.ts";
import { type ApiErrorBody, authed, call, json } from "../helpers/api.ts";
import { seedTinyModel, tinyModel } from "../helpers/tiny-model.ts";
import {
  expectSameWeights,
  learnOk,
  logOf,
  modelInfo,
  publishedWeights,
  publishNow,
  replay,
  sentence,
  status,
} from "./support.ts";

function create(body: unknown, type = "application/json") {
  return call(
    "/models",
    authed({
      method: "POST",
      headers: { "content-type": type },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
  );
}

function rollback(id: string, version: number) {
  return call(
    `/models/${id}/rollback`,
    authed({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ version }) }),
  );
}

async function learnAndPublish(id: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await learnOk(id, sentence(i));
    expect(await publishNow(id)).toBe(true);
  }
}

const blobExists = async (key: string) => (await env.MODELS.get(key)) !== null;

describe("POST /models", () => {
  it("creates a model sharing the base's published blob (copy-on-write) until its first publish", async () => {
    await seedTinyModel(env.MODELS, "b1");
    await learnOk("b1", sentence(1)); // pending in the base: not part of what a child shares

    const r = await create({ id: "c1", from: "b1" });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe("/models/c1");
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: "c1",
      version: 1,
      base: { id: "b1", version: 1 },
      vocab: 45,
      hidden: 16,
      output: "class",
      learns: 0,
    });

    const child = await readManifest(env.MODELS, "c1");
    expect(child).toMatchObject({ version: 1, weightsKey: weightsKey("b1", 1), base: { id: "b1", version: 1 } });
    // GET /models/:id is the metadata of /models/:id/model, and matches the creation answer.
    const info = await modelInfo("c1");
    expect(info.status).toBe(200);
    expect(info.body).toEqual((await json(`/models/c1/model`)).body);
    const { base: _, ...shared } = body;
    expect(info.body).toMatchObject(shared);
    // Same weights as the base's published version, so the same predictions.
    const p = (id: string) => json<{ predictions: unknown }>(`/models/${id}/predict?prefix=a+cat`);
    expect((await p("c1")).body.predictions).toEqual((await p("b1")).body.predictions);

    // The child's learns are its own; its first publish writes its own blob.
    await learnOk("c1", sentence(2));
    expect(await publishNow("c1")).toBe(true);
    const c1 = await publishedWeights("c1");
    expect(c1.manifest).toMatchObject({
      version: 2,
      weightsKey: weightsKey("c1", 2),
      base: { id: "b1", version: 1 },
      learns: 1,
    });
    expectSameWeights(c1.model, replay(tinyModel(), await logOf("c1")));
    expect((await readManifest(env.MODELS, "b1"))?.version).toBe(1);
    expect(await logOf("b1")).toHaveLength(1);
  });

  it("from defaults to the default model; 409 if the id exists, 404 without a base, 400 for bad ids", async () => {
    expect((await create({ id: "orphan" })).status).toBe(404);
    await seedTinyModel(env.MODELS, "default");
    const r = await create({ id: "d1" });
    expect(r.status).toBe(201);
    expect(((await r.json()) as { base: unknown }).base).toEqual({ id: "default", version: 1 });

    for (const [body, status, code] of [
      [{ id: "d1" }, 409, "model_exists"],
      [{ id: "default", from: "d1" }, 409, "model_exists"], // seeded outside any writer
      [{ id: "d2", from: "missing" }, 404, "base_not_found"],
      [{ id: "d3", from: "d3" }, 404, "base_not_found"],
      [{ id: "a:b" }, 400, "invalid_model_id"],
      [{ id: "" }, 400, "invalid_model_id"],
      [{}, 400, "invalid_model_id"],
      [{ id: "d4", from: 7 }, 400, "invalid_model_id"],
      ["[]", 400, "invalid_body"],
      ["{", 400, "invalid_json"],
      [JSON.stringify({ id: "d6", pad: "x".repeat(1100) }), 413, "body_too_large"],
    ] as const) {
      const res = await create(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(((await res.json()) as ApiErrorBody).error.code).toBe(code);
    }
    expect((await create({ id: "d5" }, "text/plain")).status).toBe(415);
    const latin1 = await call(
      "/models",
      authed({
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new Uint8Array([0x7b, 0xff, 0x7d]),
      }),
    );
    expect([latin1.status, ((await latin1.json()) as ApiErrorBody).error.code]).toEqual([400, "invalid_encoding"]);
    expect((await call("/models")).status).toBe(405);
    expect((await call("/models/d1", { method: "DELETE" })).status).toBe(405);
    expect((await modelInfo("d2")).status).toBe(503);
  });

  it("keeps a shared blob while any descendant may still need it, and deletes it once none does", async () => {
    const keep = runtimeConfig(env).keepVersions;
    const shared = weightsKey("b2", 1);
    await seedTinyModel(env.MODELS, "b2");
    expect((await create({ id: "c2", from: "b2" })).status).toBe(201);
    expect((await create({ id: "g2", from: "c2" })).status).toBe(201); // a grandchild: also on b2's blob
    expect((await readManifest(env.MODELS, "g2"))?.weightsKey).toBe(shared);

    // The base moves on far past its retention: its v1 row goes, the pinned blob stays.
    await learnAndPublish("b2", keep + 1);
    expect((await status("b2")).versions).not.toContain(1);
    expect(await blobExists(shared)).toBe(true);

    // The child publishes past its retention too; the grandchild still names the blob.
    await learnAndPublish("c2", keep);
    expect((await status("c2")).versions).not.toContain(1);
    expect(await blobExists(shared)).toBe(true);
    // ...and can still roll back to its first version, which reads that blob.
    const g = await rollback("g2", 1);
    expect(g.status).toBe(200);
    expect((await publishedWeights("g2")).manifest.weightsKey).toBe(shared);

    // Once the grandchild's retained versions no longer name it, the blob is deleted.
    await learnAndPublish("g2", keep);
    expect((await status("g2")).versions.length).toBe(keep);
    expect(await blobExists(shared)).toBe(false);
    expect(await blobExists(weightsKey("b2", keep + 2))).toBe(true);
  });
});

describe("manifest base field", () => {
  const m = {
    version: 1,
    weightsKey: "model:b:weights:v3",
    vocabKey: "vocab:00ff",
    vocabHash: "00ff",
    bytes: 64,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: "2026-01-01T00:00:00.000Z",
    tokensLearned: 0,
    learns: 0,
  };

  it("is kept when valid and optional", () => {
    expect(parseManifest({ ...m, base: { id: "b", version: 3, extra: 1 } }).base).toEqual({ id: "b", version: 3 });
    expect("base" in parseManifest(m)).toBe(false);
  });

  it.each([null, "b", [], { id: "b" }, { id: "a:b", version: 1 }, { id: "b", version: -1 }, { id: "b", version: 1.5 }])(
    "is refused when %j",
    (base) => {
      expect(() => parseManifest({ ...m, base })).toThrow(/manifest.base/);
    },
  );
});
