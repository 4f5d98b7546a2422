import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { encodeSafetensors } from "../../src/store/safetensors.ts";
import { AUTH, authed, call, callWith, json, learnJson } from "../helpers/api.ts";
import { decodeUserData, encodeUserData } from "../../src/store/layer-codec.ts";
import { readManifest } from "../../src/store/kv-layout.ts";
import { seedTinyModel, tinyVocab } from "../helpers/tiny-model.ts";

const post = (body: unknown) =>
  authed({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function predictWords(user: string, prefix: string, model: string): Promise<string[]> {
  const r = await json<{ predictions: { word: string }[] }>(
    `/models/${model}/predict?k=5&user=${user}&prefix=${encodeURIComponent(prefix)}`,
    { headers: AUTH },
  );
  expect(r.status).toBe(200);
  return r.body.predictions.map((p) => p.word);
}

describe("the personal API", () => {
  it("needs a token for personal predictions and every /users route, and LEARN_TOKEN to be set", async () => {
    await seedTinyModel(env.MODELS, "default", 100);
    for (const [path, init] of [
      ["/predict?user=ann&prefix=the", {}],
      ["/users/ann", {}],
      ["/users/ann", { method: "DELETE" }],
      ["/users/ann/export", {}],
      [
        "/users/ann/forget",
        { method: "POST", headers: { "content-type": "application/json" }, body: '{"word":"the"}' },
      ],
    ] as const) {
      expect((await call(path, init)).status, path).toBe(401);
      expect(
        (
          await call(path, {
            ...init,
            headers: { ...("headers" in init ? init.headers : {}), authorization: "Bearer wrong" },
          })
        ).status,
        path,
      ).toBe(401);
    }
    const learn = await call("/learn", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"sentence":"the cat","user":"ann"}',
    });
    expect(learn.status).toBe(401);
    const off = await callWith({ LEARN_TOKEN: undefined }, "/users/ann", { headers: AUTH });
    expect(off.status).toBe(503);
    // Shared predictions stay public.
    expect((await call("/predict?prefix=the")).status).toBe(200);
  });

  it("refuses bad user ids, options that do not apply and bad bodies with 4xx JSON errors", async () => {
    await seedTinyModel(env.MODELS, "default", 200);
    const bad = await json<{ error: { code: string } }>("/predict?user=no%20spaces&prefix=the", { headers: AUTH });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: "invalid_user_id" } } });
    expect((await json<{ error: { code: string } }>("/users/x.y", { headers: AUTH })).body.error.code).toBe(
      "invalid_user_id",
    );
    const lr = await learnJson("the cat sat", { user: "ann", lr: 0.1 });
    expect(lr.status).toBe(400);
    const userNotString = await learnJson("the cat sat", { user: 7 });
    expect(userNotString.status).toBe(400);
    expect((await call("/users/ann/forget", post({ word: "" }))).status).toBe(400);
    expect((await call("/users/ann/forget", post({ nope: 1 }))).status).toBe(400);
    const text = await call(
      "/users/ann/import",
      authed({ method: "PUT", headers: { "content-type": "text/plain" }, body: "x" }),
    );
    expect(text.status).toBe(415);
    const junk = await json<{ error: { code: string } }>(
      "/users/ann/import",
      authed({ method: "PUT", headers: { "content-type": "application/octet-stream" }, body: "not a file" }),
    );
    expect(junk).toMatchObject({ status: 422, body: { error: { code: "invalid_user_file" } } });
    const otherFormat = encodeSafetensors({}, { format: "edge-rnnlm/1" });
    expect(
      (
        await call(
          "/users/ann/import",
          authed({ method: "PUT", headers: { "content-type": "application/octet-stream" }, body: otherFormat }),
        )
      ).status,
    ).toBe(422);
  });

  it("learns with user= as text/plain too, and forget keeps a word out of the user's suggestions", async () => {
    await seedTinyModel(env.MODELS, "fg");
    for (let i = 0; i < 4; i++) {
      const r = await call(
        "/models/fg/learn?user=bea",
        authed({ method: "POST", headers: { "content-type": "text/plain" }, body: "my red zork sat on the mat" }),
      );
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ tokens: 7, user: { id: "bea", learns: i + 1 } });
    }
    expect(await predictWords("bea", "my red", "fg")).toContain("zork");
    const f = await json("/users/bea/forget", post({ word: "zork" }));
    expect(f).toEqual({ status: 200, body: { id: "bea", word: "zork", layers: 1 } });
    expect(await predictWords("bea", "my red", "fg")).not.toContain("zork");
    // The deployment's blocklist holds for personal predictions too.
    expect(await predictWords("bea", "my red zork sat on the", "fg")).toContain("mat");
    const put = await call(
      "/blocklist",
      authed({
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ words: ["mat"] }),
      }),
    );
    expect(put.status).toBe(200);
    try {
      expect(await predictWords("bea", "my red zork sat on the", "fg")).not.toContain("mat");
    } finally {
      expect((await call("/blocklist", authed({ method: "DELETE" }))).status).toBe(200);
    }
    const info = await json<{ layers: { forgottenWords: number }[] }>("/users/bea", { headers: AUTH });
    expect(info.body.layers[0].forgottenWords).toBe(1);
    // One layer a user: a learn into another model is refused, and changes nothing.
    await seedTinyModel(env.MODELS, "fg2");
    const second = await json<{ error: { code: string } }>(
      "/models/fg2/learn?user=bea",
      authed({ method: "POST", headers: { "content-type": "text/plain" }, body: "my red zork" }),
    );
    expect(second).toMatchObject({ status: 409, body: { error: { code: "layer_limit" } } });
    expect((await json<{ learns: number }>("/users/bea", { headers: AUTH })).body.learns).toBe(4);
  });

  it("exports a user's data and imports it into another user, who then predicts the same", async () => {
    await seedTinyModel(env.MODELS, "ie");
    for (let i = 0; i < 5; i++)
      expect((await learnJson("the blue quux jumps over my dog", { user: "cy" }, "/models/ie/learn")).status).toBe(200);
    const file = await call("/users/cy/export", { headers: AUTH });
    expect(file.headers.get("content-type")).toBe("application/octet-stream");
    const bytes = await file.arrayBuffer();
    const put = await json(
      "/users/dee/import",
      authed({ method: "PUT", headers: { "content-type": "application/octet-stream" }, body: bytes }),
    );
    expect(put).toEqual({ status: 200, body: { id: "dee", layers: 1 } });
    for (const prefix of ["the blue", "the blue quux jumps", "my"])
      expect([prefix, ...(await predictWords("dee", prefix, "ie"))]).toEqual([
        prefix,
        ...(await predictWords("cy", prefix, "ie")),
      ]);
    const [a, b] = await Promise.all(
      ["cy", "dee"].map((u) => json<{ learns: number; learnedWords: number }>(`/users/${u}`, { headers: AUTH })),
    );
    expect(b.body.learns).toBe(a.body.learns);
    expect(b.body.learnedWords).toBe(1);
    // A file over another vocabulary is refused (422) and leaves dee as she was.
    const manifest = (await readManifest(env.MODELS, "ie"))!;
    const records = decodeUserData(new Uint8Array(bytes), () => ({
      base: tinyVocab().words.length,
      vocabHash: manifest.vocabHash,
    }));
    records.get("ie")!.vocabHash = "0123456789abcdef";
    const refused = await json<{ error: { code: string } }>(
      "/users/dee/import",
      authed({ method: "PUT", headers: { "content-type": "application/octet-stream" }, body: encodeUserData(records) }),
    );
    expect(refused).toMatchObject({ status: 422, body: { error: { code: "invalid_user_file" } } });
    expect(await predictWords("dee", "the blue", "ie")).toEqual(await predictWords("cy", "the blue", "ie"));
  });
});
