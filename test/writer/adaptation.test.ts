/**
 * What online learning keeps besides the weights (#8), through the API. New words: words first
 * seen through /learn take vocabulary slots (src/model/word-slots.ts), are learned as themselves
 * from their second learn, and travel with the model (published versions, writer restarts, export
 * and import) as the model file's learned_words metadata. The phrase memory
 * (src/model/phrase-memory.ts): a sentence learned 3 times is recalled word by word, and the
 * memory travels as the file's memory tensors.
 */
import { env } from "cloudflare:workers";
import { abortAllDurableObjects, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RnnLm } from "../../src/model/model.ts";
import { UNK, vocabFromJson, vocabHash, type Vocab } from "../../src/model/vocab.ts";
import { KNOWN_AFTER, WORD_SLOTS } from "../../src/model/word-slots.ts";
import { publishVersion } from "../../src/store/kv-layout.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/store/safetensors.ts";
import { type ApiErrorBody, AUTH, authed, call, json, learnJson } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { repoFile, repoJson } from "../helpers/repo-files.ts";
import { seedTinyModel, tinyModel, tinyVocab, WORDS } from "../helpers/tiny-model.ts";
import {
  expectPublishedIsReplay,
  learnAs,
  logOf,
  modelInfo,
  publishedWeights,
  publishNow,
  sleep,
  status,
  writer,
} from "./support.ts";

interface PredictBody {
  prefix: string[];
  predictions: { word: string; p: number }[];
  model: { id: string; version: number; learns?: number; fresh?: boolean };
}

interface LearnBody {
  tokens: number;
  budget: { truncated: boolean };
  model: { id: string; version: number; published: boolean };
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** The shipped base model (models/base), read once per test file. */
let shipped: Promise<{ bytes: ArrayBuffer; vocab: Vocab }> | undefined;
function shippedModel(): Promise<{ bytes: ArrayBuffer; vocab: Vocab }> {
  shipped ??= Promise.all([repoFile("models/base/weights.safetensors"), repoJson("models/base/vocab.json")]).then(
    ([bytes, json]) => ({
      bytes,
      vocab: vocabFromJson(json),
    }),
  );
  return shipped;
}

/** Publishes the shipped base model to KV as model `id`, version 1, as `npm run seed` would. */
async function seedBaseModel(id: string): Promise<{ model: RnnLm; vocab: Vocab }> {
  const { bytes, vocab } = await shippedModel();
  const hash = vocabHash(vocab);
  const { model, meta } = decodeModel(bytes.slice(0), { vocab: vocab.words.length, vocabHash: hash });
  const now = new Date().toISOString();
  const fields = {
    version: 1,
    vocabHash: hash,
    createdAt: meta.createdAt,
    updatedAt: now,
    tokensLearned: 0,
    learns: 0,
  };
  await publishVersion(env.MODELS, id, new Uint8Array(bytes.slice(0)), fields, { vocab });
  return { model, vocab };
}

async function learnOk(id: string, text: string): Promise<LearnBody> {
  const r = await learnJson(text, {}, `/models/${id}/learn`);
  expect(r.status, `learn ${JSON.stringify(text)}`).toBe(200);
  const body = (await r.json()) as LearnBody;
  expect(body.budget.truncated, `learn ${JSON.stringify(text)} was truncated by the CPU budget`).toBe(false);
  return body;
}

async function predict(id: string, prefix: string, k: number, fresh: boolean): Promise<PredictBody> {
  const q = `/models/${id}/predict?prefix=${encodeURIComponent(prefix)}&k=${k}${fresh ? "&fresh=1" : ""}`;
  const r = await json<PredictBody>(q);
  expect(r.status, q).toBe(200);
  return r.body;
}

const words = (p: PredictBody) => p.predictions.map((x) => x.word);

/** The stored file, as the admin exports it (anyone else gets it without the learned text: test/trust/privacy.test.ts). */
async function exportWeights(id: string): Promise<ArrayBuffer> {
  const r = await call(`/models/${id}/model/weights`, { headers: AUTH });
  expect(r.status).toBe(200);
  return r.arrayBuffer();
}

function importWeights(id: string, body: BodyInit): Promise<Response> {
  return call(
    `/models/${id}/model/weights`,
    authed({ method: "PUT", headers: { "content-type": "application/octet-stream" }, body }),
  );
}

/** The learned-word slots a model file stores (its learned_words metadata, decoded). */
function learnedOf(bytes: ArrayBuffer | Uint8Array) {
  const { model } = decodeModel(bytes.slice(0));
  expect(model.learned, "the file has learned_words").toBeDefined();
  return model.learned!;
}

/** `n` distinct tokens that are not words of the tiny vocabulary, each able to take a slot. */
const fresh = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}x${i}`);

const TINY_VOCAB = tinyVocab().words.length;

// ---------------------------------------------------------------------------------------------

describe("new words on the shipped base model", () => {
  it("the issue's test: after 'my dog is called zorblax' is learned 3 times, zorblax is a top-3 suggestion after 'my dog is called'", async () => {
    const id = "nw-zorblax";
    const { vocab } = await seedBaseModel(id);
    expect(vocab.index.has("zorblax")).toBe(false);
    const base = vocab.words.length;

    // Before: zorblax is <unk> to the model, and not suggested.
    const echo = await predict(id, "my dog is called zorblax", 3, true);
    expect(echo.prefix).toEqual(["my", "dog", "is", "called", "<unk>"]);
    const before = await predict(id, "my dog is called", 3, true);
    expect(before.predictions).toHaveLength(3);
    expect(words(before)).not.toContain("zorblax");
    expect(words(await predict(id, "my dog is called", 3, false))).not.toContain("zorblax");

    // Taught by two subjects (a word one subject taught is never suggested: test/trust/privacy.test.ts).
    const r = await learnOk(id, "my dog is called zorblax");
    expect(r).toMatchObject({ tokens: 5, model: { id, version: 2, published: false } });
    await learnAs(id, "bob", "my dog is called zorblax");
    await learnAs(id, "carol", "my dog is called zorblax");

    const after = await predict(id, "my dog is called", 3, true);
    expect(after.model).toMatchObject({ id, version: 1, learns: 3, fresh: true });
    expect(words(after)).toContain("zorblax");
    expect((await predict(id, "my dog is called zorblax", 3, true)).prefix).toEqual([
      "my",
      "dog",
      "is",
      "called",
      "zorblax",
    ]);

    // zorblax took the first slot at its first learn, but was learned as <unk> until a second subject taught it (KNOWN_AFTER).
    expect(KNOWN_AFTER).toBe(2);
    const log = await logOf(id);
    expect(log.map((e) => e.ids.at(-2))).toEqual([UNK, base, base]);
    expect(log.map((e) => e.ids.slice(0, -2))).toEqual(
      log.map(() => [0, ...["my", "dog", "is", "called"].map((w) => vocab.index.get(w))]),
    );
  });

  it("survives publishing and a writer restart; /model counts it; the exported file's learned_words hold it", async () => {
    const id = "nw-publish";
    const { model: seeded, vocab } = await seedBaseModel(id);
    const base = vocab.words.length;
    await learnOk(id, "my dog is called zorblax");
    await learnAs(id, "bob", "my dog is called zorblax");
    await learnOk(id, "my dog is called zorblax");
    expect(await publishNow(id)).toBe(true);

    // The stateless read path (KV, no writer) suggests the learned word from version 2.
    const stateless = await predict(id, "my dog is called", 3, false);
    expect(stateless.model).toEqual({ id, version: 2 });
    expect(words(stateless)).toContain("zorblax");
    expect(stateless.predictions).toEqual((await predict(id, "my dog is called", 3, true)).predictions);

    // Pending learns on top of version 2: zorblax again, and a word seen once (a slot, still <unk>).
    await learnOk(id, "my cat is called quux");
    await learnOk(id, "my dog is called zorblax");
    const probes = ["my dog is called", "my cat is called quux and", "zorblax is"];
    const beforeRestart = await Promise.all(probes.map((p) => predict(id, p, 50, true)));
    expect(beforeRestart[1].prefix).toEqual(["my", "cat", "is", "called", "quux", "and"]);

    // A new instance: version 2 (learned_words from its file) plus the replayed log tail.
    await evictDurableObject(writer(id));
    const afterRestart = await Promise.all(probes.map((p) => predict(id, p, 50, true)));
    expect(afterRestart).toEqual(beforeRestart);
    expect(await status(id)).toMatchObject({ version: 2, learns: 5, lastSeq: 5, publishedSeq: 3 });

    expect(await publishNow(id)).toBe(true);
    await sleep(1100); // the isolate cache trusts a manifest read for 1 s
    const info = await json<Record<string, unknown>>(`/models/${id}/model`);
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({ version: 3, vocab: base, learnedWords: 2, learns: 5 });
    expect((await modelInfo(id)).body).toMatchObject({ learnedWords: 2 });

    const exported = await exportWeights(id);
    const learned = learnedOf(exported);
    expect(learned).toMatchObject({
      base,
      capacity: WORD_SLOTS,
      clock: 5,
      words: ["zorblax", "quux"],
      uses: [4, 1],
      lastUse: [5, 4],
    });
    const { metadata } = decodeSafetensors(new Uint8Array(exported.slice(0)));
    expect(JSON.parse(metadata.learned_words)).toMatchObject({ words: ["zorblax", "quux"] });
    expect(decodeModel(exported.slice(0)).model.vocab).toBe(base + 2);

    // And the published version is the writer's replay of the whole log, byte for byte.
    await expectPublishedIsReplay(id, seeded, vocab);
  });
});

describe("new words and the base vocabulary", () => {
  it("only new words take slots: base words, numbers and punctuation never count, and base words keep their ids", async () => {
    const id = "nw-count";
    await seedTinyModel(env.MODELS, id);
    const text = "the quick zorblax fox frobnitz the zorblax , 42 .";
    await learnOk(id, text);
    await learnAs(id, "bob", text);
    expect(await publishNow(id)).toBe(true);

    const info = await json<Record<string, unknown>>(`/models/${id}/model`);
    expect(info.body).toMatchObject({ vocab: TINY_VOCAB, learnedWords: 2 });
    const published = (await publishedWeights(id)).model;
    expect(published.vocab).toBe(TINY_VOCAB + 2);
    expect(published.learned).toMatchObject({
      base: TINY_VOCAB,
      words: ["zorblax", "frobnitz"],
      uses: [2, 2],
      clock: 2,
    });

    // The second learn: base words by their base ids, the new words by their slots.
    const v = tinyVocab();
    const log = await logOf(id);
    const id2 = (w: string) => ({ zorblax: TINY_VOCAB, frobnitz: TINY_VOCAB + 1 })[w] ?? v.index.get(w) ?? UNK;
    expect(log[1].ids).toEqual([0, ...text.split(" ").map(id2), 1]);
    expect(log[0].ids).toEqual([0, ...text.split(" ").map((w) => v.index.get(w) ?? UNK), 1]);

    // Every base word can still be suggested, besides the two learned ones.
    const all = await predict(id, "the quick", 50, true);
    expect(all.prefix).toEqual(["the", "quick"]);
    expect(new Set(words(all))).toEqual(new Set([...WORDS, "zorblax", "frobnitz"]));

    // More learns: learnedWords grows by the distinct new words only.
    await learnOk(id, "the dog and the cat sat on my mat with blorp , blorp and zorblax");
    expect(await publishNow(id)).toBe(true);
    await sleep(1100);
    expect((await json<Record<string, unknown>>(`/models/${id}/model`)).body).toMatchObject({
      vocab: TINY_VOCAB,
      learnedWords: 3,
    });
    expect((await publishedWeights(id)).model.learned?.words).toEqual(["zorblax", "frobnitz", "blorp"]);
    await expectPublishedIsReplay(id, tinyModel(), tinyVocab());
  });

  it("when the 1,024 slots are full, the least recently used learned word gives its slot up; base words are never evicted", async () => {
    const id = "nw-evict";
    await seedTinyModel(env.MODELS, id);
    // clock 1, 2: zorblax and frobnitz take slots 0 and 1.
    await learnOk(id, "the zorblax and the frobnitz");
    await learnOk(id, "the zorblax and the frobnitz");
    // clock 3..19: 1,022 more new words fill the slots (base words among them take none).
    const filler = fresh("fill", WORD_SLOTS - 2);
    for (let i = 0; i < filler.length; i += 61)
      await learnOk(id, ["the", "a", ...filler.slice(i, i + 61), "dog"].join(" "));
    expect(await publishNow(id)).toBe(true);
    let learned = (await publishedWeights(id)).model.learned!;
    expect(learned.words).toHaveLength(WORD_SLOTS);
    expect(learned.words.slice(0, 2)).toEqual(["zorblax", "frobnitz"]);
    expect(learned.words.filter((w) => WORDS.includes(w))).toEqual([]);

    // clock 20: zorblax is used again; clock 21: a new word takes the least recently used slot, frobnitz's.
    await learnOk(id, "my zorblax");
    await learnOk(id, "the newcomer");
    const echo = await predict(id, "zorblax frobnitz newcomer the dog", 5, true);
    expect(echo.prefix).toEqual(["zorblax", "<unk>", "newcomer", "the", "dog"]);
    // clock 22: two more new words take the next least recently used slots, the first filler words'.
    await learnOk(id, "the dog sat on another1 and another2");
    expect(await publishNow(id)).toBe(true);
    await sleep(1100);
    expect((await json<Record<string, unknown>>(`/models/${id}/model`)).body).toMatchObject({
      vocab: TINY_VOCAB,
      learnedWords: WORD_SLOTS,
    });
    learned = (await publishedWeights(id)).model.learned!;
    expect(learned.words).toHaveLength(WORD_SLOTS);
    expect(learned.words.slice(0, 4)).toEqual(["zorblax", "newcomer", "another1", "another2"]);
    expect(learned.words.slice(4)).toEqual(filler.slice(2));
    expect(learned.clock).toBe(22);
    expect(learned.words.filter((w) => WORDS.includes(w))).toEqual([]);

    // Base words kept their ids and are still read and suggested as themselves.
    const p = await predict(id, "the dog", 50, true);
    expect(p.prefix).toEqual(["the", "dog"]);
    const v = tinyVocab();
    const log = await logOf(id);
    expect(log.at(-1)!.ids.slice(0, 3)).toEqual([0, v.index.get("the"), v.index.get("dog")]);

    // The writer's replay of the whole log (admissions and evictions) is what was published.
    await expectPublishedIsReplay(id, tinyModel(), tinyVocab());
    // And so is a restarted writer's model.
    const beforeRestart = await predict(id, "the newcomer and another2", 50, true);
    await evictDurableObject(writer(id));
    expect(await predict(id, "the newcomer and another2", 50, true)).toEqual(beforeRestart);
  });
});

describe("export and import with learned words", () => {
  it("PUT of an exported file keeps its learned words; the model built on it learns on", async () => {
    const id = "nw-import";
    await seedTinyModel(env.MODELS, id);
    await learnOk(id, "the cat is my zorblax");
    await learnOk(id, "the cat is my zorblax");
    expect(await publishNow(id)).toBe(true);
    const exported = await exportWeights(id);
    expect(learnedOf(exported).words).toEqual(["zorblax"]);
    const atExport = await predict(id, "the cat is my zorblax and", 50, true);
    expect(atExport.prefix).toEqual(["the", "cat", "is", "my", "zorblax", "and"]);

    // Pending learns with another new word, superseded by the import.
    await learnOk(id, "a dog is my frobnitz");
    await learnOk(id, "a dog is my frobnitz");
    expect((await predict(id, "frobnitz", 3, true)).prefix).toEqual(["frobnitz"]);

    const r = await importWeights(id, exported);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ model: { id, published: true }, learns: 2 });
    const imported = await predict(id, "the cat is my zorblax and", 50, true);
    expect(imported.predictions).toEqual(atExport.predictions);
    expect(imported.prefix).toEqual(atExport.prefix);
    expect((await predict(id, "frobnitz", 3, true)).prefix).toEqual(["<unk>"]);
    expect(learnedOf((await publishedWeights(id)).bytes).words).toEqual(["zorblax"]);
    await sleep(1100);
    expect((await json<Record<string, unknown>>(`/models/${id}/model`)).body).toMatchObject({ learnedWords: 1 });

    // A restart keeps the imported slots; a later new word takes the next slot.
    await abortAllDurableObjects();
    expect((await predict(id, "the cat is my zorblax and", 50, true)).predictions).toEqual(atExport.predictions);
    await learnOk(id, "my blorp");
    expect(await publishNow(id)).toBe(true);
    expect((await publishedWeights(id)).model.learned).toMatchObject({
      base: TINY_VOCAB,
      words: ["zorblax", "blorp"],
      clock: 3,
    });

    // The writer's model info of a copy (POST /models) counts the learned words too.
    const created = await call(
      "/models",
      authed({
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ id: "nw-import-copy", from: id }),
      }),
    );
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: "nw-import-copy", vocab: TINY_VOCAB, learnedWords: 2 });
  });

  it("refuses a file whose learned_words hold a base-vocabulary word or ask for more than WORD_SLOTS slots, and keeps the model", async () => {
    const id = "nw-import-refused";
    await seedTinyModel(env.MODELS, id);
    await learnOk(id, "the cat is my zorblax");
    await learnOk(id, "the cat is my zorblax");
    expect(await publishNow(id)).toBe(true);
    const exported = new Uint8Array(await exportWeights(id));
    await learnOk(id, "the cat is my zorblax"); // a pending learn, which the refused import must not publish

    type Slots = { words: string[]; capacity: number };
    const edits: [string, (slots: Slots) => void, string | undefined][] = [
      ...["dog", "the"].map((w): [string, (slots: Slots) => void, string] => [
        w,
        (slots) => (slots.words[0] = w),
        JSON.stringify(w),
      ]),
      ["?", (slots) => (slots.words[0] = "?"), undefined],
      // A file may not make the writer reserve memory for a million slots.
      ["capacity", (slots) => (slots.capacity = 1_000_000), `at most ${WORD_SLOTS}`],
    ];
    for (const [word, edit, mention] of edits) {
      const { tensors, metadata } = decodeSafetensors(exported.slice());
      const slots = JSON.parse(metadata.learned_words) as Slots;
      edit(slots);
      const bad = encodeSafetensors(tensors, { ...metadata, learned_words: JSON.stringify(slots) });

      const before = await modelState(id);
      const r = await importWeights(id, bad);
      expect(r.status, word).toBeGreaterThanOrEqual(400);
      expect(r.status, word).toBeLessThan(500);
      expect(r.headers.get("content-type")).toContain("application/json");
      const body = (await r.json()) as ApiErrorBody;
      expect(body.error.code).toBe("invalid_weights");
      if (mention) expect(body.error.message).toContain(mention);
      expect(await modelState(id)).toEqual(before);
    }
    expect(await status(id)).toMatchObject({ version: 2, lastSeq: 3, publishedSeq: 2 });
    expect((await predict(id, "my zorblax", 3, true)).prefix).toEqual(["my", "zorblax"]);
  });
});

describe("replay", () => {
  it("the writer's replay (src/writer/replay.ts) of its log reproduces the published weights byte for byte", async () => {
    const id = "nw-replay";
    await seedTinyModel(env.MODELS, id);
    const learns: [string, Record<string, unknown>][] = [
      ["the quick zorblax jumps over the lazy dog", {}],
      ["my zorblax is a very good zorblax", { lr: 0.1, truncate: 2 }],
      ["we sat on the mat with frobnitz and zorblax", { steps: 2 }],
      ["frobnitz ? yes , frobnitz !", { lr: 0.05, truncate: 0 }],
      ["the old quux and the new quux", {}],
      ["it was a big day for zorblax", { steps: 2, lr: 0.1 }],
    ];
    for (const [text, opts] of learns) {
      const r = await learnJson(text, opts, `/models/${id}/learn`);
      expect(r.status, text).toBe(200);
    }
    expect(await publishNow(id)).toBe(true);
    const log = await logOf(id);
    expect(log).toHaveLength(learns.length);
    expect(log.every((e) => e.newWordRate !== undefined && e.newWordRate > 0)).toBe(true);
    // Several new words, each learned as itself from its second learn.
    expect((await publishedWeights(id)).model.learned).toMatchObject({
      words: ["zorblax", "frobnitz", "yes", "quux"],
      uses: [4, 2, 1, 1],
    });
    await expectPublishedIsReplay(id, tinyModel(), tinyVocab());

    // A version published, then more learns: a second publish is the replay of the whole log too.
    await learnOk(id, "yes , quux is new");
    await learnOk(id, "the cat saw yes and the zorblax");
    expect(await publishNow(id)).toBe(true);
    await expectPublishedIsReplay(id, tinyModel(), tinyVocab());
  });
});

describe("phrase memory", () => {
  it("the issue's recall: after a sentence is learned 3 times, each of its words from the fourth on is a top-3 suggestion after its prefix; published, restarted and exported alike", async () => {
    const id = "pm-recall";
    const { model: seeded, vocab } = await seedBaseModel(id);
    const tokens = "please send the quarterly figures to the board before friday and call me".split(" ");
    const positions = tokens.length - 3;
    const recalled = async (fresh: boolean) => {
      let hits = 0;
      for (let t = 3; t < tokens.length; t++)
        if (words(await predict(id, tokens.slice(0, t).join(" "), 3, fresh)).includes(tokens[t])) hits++;
      return hits;
    };
    expect(await recalled(true)).toBeLessThan(positions / 2);
    // Taught by two subjects: the memory recalls what MEMORY_QUORUM of them taught.
    await learnOk(id, tokens.join(" "));
    await learnAs(id, "bob", tokens.join(" "));
    await learnOk(id, tokens.join(" "));
    expect(await recalled(true)).toBe(positions);

    // The published version (read from KV by the stateless path) holds the memory too.
    expect(await publishNow(id)).toBe(true);
    await sleep(1100); // the isolate cache trusts a manifest read for 1 s
    expect(await recalled(false)).toBe(positions);
    await evictDurableObject(writer(id));
    expect(await recalled(true)).toBe(positions);

    const { model } = decodeModel((await exportWeights(id)).slice(0));
    expect(model.memory?.sentences()).toHaveLength(3);
    await expectPublishedIsReplay(id, seeded, vocab);
  }, 30_000);

  it("a refused import keeps the memory; an imported file's memory replaces it", async () => {
    const id = "pm-import";
    await seedTinyModel(env.MODELS, id);
    const sentence = "the cat sat on my mat with the dog";
    for (let i = 0; i < 2; i++) await learnOk(id, sentence);
    expect(await publishNow(id)).toBe(true);
    const exported = new Uint8Array(await exportWeights(id));
    const held = decodeModel(exported.slice()).model.memory?.sentences();
    expect(held).toHaveLength(2);

    const { tensors, metadata } = decodeSafetensors(exported.slice());
    const before = await modelState(id);
    const outside = {
      dtype: "I32" as const,
      shape: tensors.memory_ids.shape,
      data: new Int32Array(tensors.memory_ids.shape[0]).fill(1_000_000),
    };
    const bad = await importWeights(id, encodeSafetensors({ ...tensors, memory_ids: outside }, metadata));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ApiErrorBody).error.code).toBe("invalid_weights");
    expect(await modelState(id)).toEqual(before);

    const { memory_ids: _ids, memory_lengths: _lengths, ...withoutMemory } = tensors;
    expect((await importWeights(id, encodeSafetensors(withoutMemory, metadata))).status).toBe(200);
    await sleep(1100);
    const top = await predict(id, "the cat sat on", 3, false);
    expect(top.model.version).toBeGreaterThan(2);
    expect(decodeModel((await exportWeights(id)).slice(0)).model.memory).toBeUndefined();
  });
});
