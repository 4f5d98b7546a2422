import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LIMITS } from "../../src/config.ts";
import { personalBase } from "../../src/model/personal.ts";
import { asTextModel, personalText } from "../../src/model/personal-text.ts";
import { predictWords } from "../../src/model/text-model.ts";
import { tokenize } from "../../src/model/tokenizer.ts";
import { writtenForm } from "../../src/model/vocab.ts";
import { WORD_SLOTS } from "../../src/model/word-slots.ts";
import { decodeUserData } from "../../src/store/layer-codec.ts";
import { readManifest } from "../../src/store/kv-layout.ts";
import { CHECKPOINT_LEARNS, type UserStore } from "../../src/writer/user-store.ts";
import { AUTH, authed, call, json, learnJson } from "../helpers/api.ts";
import { seedTinyModel, tinyModel, tinyVocab } from "../helpers/tiny-model.ts";
import { learnOk, publishedWeights, publishNow, sentence, sleep } from "./support.ts";

const store = (user: string): DurableObjectStub<UserStore> => env.USERS.get(env.USERS.idFromName(user));

const PREFIXES = ["the quick", "a cat sat on", "i", "my new", "zork the"];

/** The personal predictions' response bodies, as bytes a client gets. */
async function personalAnswers(model: string, user: string): Promise<string[]> {
  return Promise.all(
    PREFIXES.map(async (p) =>
      (
        await call(`/models/${model}/predict?k=5&user=${user}&prefix=${encodeURIComponent(p)}`, { headers: AUTH })
      ).text(),
    ),
  );
}

async function userLearn(model: string, user: string, text: string): Promise<void> {
  const r = await learnJson(text, { user }, `/models/${model}/learn`);
  expect(r.status, await r.clone().text()).toBe(200);
}

/** The personal sentences of the tests: with two words outside the tiny vocabulary. */
const personal = (i: number) => `${sentence(i)} zork frobnicate the ${["red", "blue", "green"][i % 3]} fox`;

/** Predictions of `user`'s exported layer over the model `model` publishes now, computed here. */
async function expectedPredictions(model: string, user: string, prefix: string) {
  const exported = await call(`/users/${user}/export`, { headers: AUTH });
  const shared = await publishedWeights(model);
  const shape = { base: shared.model.vocab, vocabHash: shared.manifest.vocabHash };
  const record = decodeUserData(new Uint8Array(await exported.arrayBuffer()), () => shape).get(model)!;
  const pt = personalText(personalBase(shared.model, WORD_SLOTS), tinyVocab(), record.layer, LIMITS.maxSentenceTokens);
  return predictWords(asTextModel(pt), tokenize(prefix, 1000), 5, LIMITS.prefixWindow).predictions;
}

describe("personal layers", () => {
  it("keep users apart: 1,000 learns by A leave B's predictions byte-identical", async () => {
    const model = "iso";
    await seedTinyModel(env.MODELS, model);
    for (let i = 0; i < 5; i++) await userLearn(model, "bob", personal(i + 100));
    const before = await personalAnswers(model, "bob");
    const shared = await Promise.all(
      PREFIXES.map(async (p) => (await call(`/models/${model}/predict?k=5&prefix=${encodeURIComponent(p)}`)).text()),
    );
    const alice = store("alice");
    for (let i = 0; i < 1000; i++) {
      const r = await alice.learn("alice", model, tokenize(personal(i), 64));
      expect(r.ok).toBe(true);
    }
    expect(await personalAnswers(model, "bob")).toEqual(before);
    // Alice's did change, and the shared model's did not.
    expect(await personalAnswers(model, "alice")).not.toEqual(before);
    expect(
      await Promise.all(
        PREFIXES.map(async (p) => (await call(`/models/${model}/predict?k=5&prefix=${encodeURIComponent(p)}`)).text()),
      ),
    ).toEqual(shared);
    const info = await json<{ learns: number; learnedWords: number }>("/users/alice", { headers: AUTH });
    expect(info.body).toMatchObject({ learns: 1000, learnedWords: 2 });
  }, 120_000);

  it("serve a user's learns at once (read-your-writes) and their own words", async () => {
    const model = "ryw";
    await seedTinyModel(env.MODELS, model);
    const ask = async () =>
      (
        await json<{ predictions: { word: string }[] }>(`/models/${model}/predict?k=3&user=carol&prefix=the+red+zork`, {
          headers: AUTH,
        })
      ).body.predictions.map((p) => p.word);
    for (let i = 0; i < 3; i++) await userLearn(model, "carol", "the red zork frobnicate blue");
    expect(await ask()).toContain("frobnicate");
    // Suggestions carry their written forms, as the shared model's do ("i" is written "I").
    await userLearn(model, "carol", "zork and i sat");
    const r = await json<{ predictions: { word: string; text: string }[] }>(
      `/models/${model}/predict?k=50&user=carol&prefix=zork+and`,
      { headers: AUTH },
    );
    const i = r.body.predictions.find((p) => p.word === "i");
    expect(i?.text).toBe("I");
    for (const p of r.body.predictions) expect(p.text).toBe(writtenForm(tinyVocab(), p.word));
  });

  it("lose no acknowledged learn across a restart of the user's store", async () => {
    const model = "durable";
    await seedTinyModel(env.MODELS, model);
    // Past one snapshot, with a log tail after it.
    const n = CHECKPOINT_LEARNS + 7;
    for (let i = 0; i < n; i++) await userLearn(model, "dave", personal(i));
    const before = await personalAnswers(model, "dave");
    const rows = await runInDurableObject(
      store("dave"),
      (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM user_log").one().n,
    );
    expect(rows, "a log tail to replay").toBe(7);
    await evictDurableObject(store("dave"));
    expect(await personalAnswers(model, "dave")).toEqual(before);
    expect((await json<{ learns: number }>("/users/dave", { headers: AUTH })).body.learns).toBe(n);
  });

  it("erase everything on DELETE: no KV key, no Durable Object row; predictions are the shared model's", async () => {
    const model = "erase";
    await seedTinyModel(env.MODELS, model);
    for (let i = 0; i < CHECKPOINT_LEARNS + 3; i++) await userLearn(model, "erin", personal(i));
    await call(
      "/users/erin/forget",
      authed({
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ word: "fox" }),
      }),
    );
    expect(await personalAnswers(model, "erin")).not.toEqual(await sharedAnswers(model));
    const r = await json<{ erased: boolean }>("/users/erin", authed({ method: "DELETE" }));
    expect(r).toEqual({ status: 200, body: { id: "erin", erased: true } });

    const keys: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await env.MODELS.list({ cursor });
      keys.push(...page.keys.map((k) => k.name));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.filter((k) => k.includes("erin"))).toEqual([]);
    const rows = await runInDurableObject(store("erin"), (_, state) => {
      const sql = state.storage.sql;
      const tables = sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
        )
        .toArray();
      return tables.map(({ name }) => [name, sql.exec<{ n: number }>(`SELECT count(*) AS n FROM "${name}"`).one().n]);
    });
    expect(rows.filter(([, n]) => n !== 0)).toEqual([]);
    const answers = await personalAnswers(model, "erin");
    const shared = await sharedAnswers(model);
    expect(answers.map(predictionsOf)).toEqual(shared.map(predictionsOf));
    expect((await json("/users/erin", { headers: AUTH })).body).toMatchObject({ learns: 0, bytes: 0, layers: [] });
  });

  it("keep a layer over every new shared version: publish, rollback and import", async () => {
    const model = "moves";
    await seedTinyModel(env.MODELS, model);
    for (let i = 0; i < 6; i++) await userLearn(model, "fay", personal(i));
    const prefix = "zork the";
    const personalNow = async () =>
      (
        await json<{ predictions: unknown; model: { version: number } }>(
          `/models/${model}/predict?k=5&user=fay&prefix=zork+the`,
          { headers: AUTH },
        )
      ).body;

    // Publish: the shared model learns and publishes version 2.
    for (let i = 0; i < 5; i++) await learnOk(model, sentence(i));
    expect(await publishNow(model)).toBe(true);
    await sleep(1100); // the isolate trusts a manifest for 1 s
    let now = await personalNow();
    expect(now.model.version).toBe(2);
    expect(now.predictions).toEqual(await expectedPredictions(model, "fay", prefix));

    // Rollback to version 1: version 3 holds version 1's weights.
    const back = await call(
      `/models/${model}/rollback`,
      authed({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ version: 1 }) }),
    );
    expect(back.status).toBe(200);
    await sleep(1100);
    now = await personalNow();
    expect(now.model.version).toBe(3);
    expect(now.predictions).toEqual(await expectedPredictions(model, "fay", prefix));

    // Import: other weights of the same architecture become version 4.
    await seedTinyModel(env.MODELS, "moves-other", 1, tinyModel(7));
    const other = await call("/models/moves-other/model/weights");
    const put = await call(
      `/models/${model}/model/weights`,
      authed({
        method: "PUT",
        headers: { "content-type": "application/octet-stream" },
        body: await other.arrayBuffer(),
      }),
    );
    expect(put.status).toBe(200);
    await sleep(1100);
    now = await personalNow();
    expect(now.model.version).toBe(4);
    expect(now.predictions).toEqual(await expectedPredictions(model, "fay", prefix));
    expect((await readManifest(env.MODELS, model))?.version).toBe(4);
    // The layer itself did not change: still the user's 6 learns.
    expect((await json<{ learns: number }>("/users/fay", { headers: AUTH })).body.learns).toBe(6);
  }, 30_000);
});

async function sharedAnswers(model: string): Promise<string[]> {
  return Promise.all(
    PREFIXES.map(async (p) => (await call(`/models/${model}/predict?k=5&prefix=${encodeURIComponent(p)}`)).text()),
  );
}

const predictionsOf = (text: string) => (JSON.parse(text) as { predictions: unknown }).predictions;
