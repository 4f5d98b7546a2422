import { describe, expect, it } from "vitest";
import { vocabHash, vocabToJson } from "../../src/model/vocab.ts";
import {
  isValidModelId,
  KvLayoutError,
  manifestKey,
  parseManifest,
  publishVersion,
  putVocab,
  readManifest,
  readVocab,
  readWeights,
  vocabKey,
  weightsKey,
  writeManifest,
  type ManifestFields,
} from "../../src/store/kv-layout.ts";
import { kv, recordingKv, testVocab } from "./fixtures.ts";

let nextId = 0;
/** A fresh model id per test, so tests never see each other's keys. */
const freshId = () => `kvtest${nextId++}`;

const vocab = testVocab(12);
const hash = vocabHash(vocab);

function fields(version: number, overrides: Partial<ManifestFields> = {}): ManifestFields {
  return {
    version,
    vocabHash: hash,
    createdAt: "2026-01-01T00:00:00.000Z",
    updatedAt: `2026-01-01T00:00:${String(version % 60).padStart(2, "0")}.000Z`,
    tokensLearned: version * 10,
    learns: version,
    ...overrides,
  };
}

/** Stand-in weights: any bytes will do for the layout (the codec is tested elsewhere). */
function blob(version: number, length = 64): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (i * 7 + version) % 256);
}

async function expectLayoutError(p: Promise<unknown>, message: RegExp): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(KvLayoutError);
  await expect(p).rejects.toThrow(message);
}

describe("keys", () => {
  it("follow the documented layout", () => {
    expect(manifestKey("default")).toBe("model:default:manifest");
    expect(weightsKey("user_7", 12)).toBe("model:user_7:weights:v12");
    expect(vocabKey("00ff")).toBe("vocab:00ff");
  });

  it("reject ids that could collide with other keys", () => {
    for (const id of ["", "a:b", "a b", "x".repeat(65), "é"]) {
      expect(isValidModelId(id)).toBe(false);
      expect(() => manifestKey(id)).toThrow(KvLayoutError);
    }
    expect(isValidModelId("A-z_09")).toBe(true);
    expect(() => weightsKey("a", -1)).toThrow(/invalid version/);
    expect(() => vocabKey("../x")).toThrow(/invalid vocabulary hash/);
  });
});

describe("publish and read", () => {
  it("writes vocabulary, then weights, then manifest, and reads them back", async () => {
    const id = freshId();
    const rec = recordingKv(kv);
    const m = await publishVersion(rec.kv, id, blob(1), fields(1), { vocab });
    expect(rec.log.filter((o) => o.op === "put").map((o) => o.key)).toEqual([
      `vocab:${hash}`,
      `model:${id}:weights:v1`,
      `model:${id}:manifest`,
    ]);
    expect(m).toEqual({ ...fields(1), weightsKey: `model:${id}:weights:v1`, vocabKey: `vocab:${hash}`, bytes: 64 });
    expect(await readManifest(kv, id)).toEqual(m);
    expect(Array.from(new Uint8Array(await readWeights(kv, m)))).toEqual(Array.from(blob(1)));
    expect((await readVocab(kv, hash)).words).toEqual(vocab.words);
    // The manifest is small JSON; the weights are stored as raw bytes.
    expect(JSON.parse((await kv.get(manifestKey(id), "text"))!)).toEqual(m);
  });

  it("stores exactly the bytes of a Uint8Array window", async () => {
    const id = freshId();
    const big = blob(0, 100);
    const m = await publishVersion(kv, id, big.subarray(10, 50), fields(1));
    expect(m.bytes).toBe(40);
    expect(Array.from(new Uint8Array(await readWeights(kv, m)))).toEqual(Array.from(big.subarray(10, 50)));
  });

  it("refuses a version that does not increase, leaving the stored weights untouched", async () => {
    const id = freshId();
    await publishVersion(kv, id, blob(1), fields(1));
    await publishVersion(kv, id, blob(2), fields(2));
    await expectLayoutError(
      publishVersion(kv, id, blob(9), fields(2)),
      /version 2 .* must exceed the current version 2/,
    );
    await expectLayoutError(publishVersion(kv, id, blob(9), fields(1)), /must exceed/);
    const m = (await readManifest(kv, id))!;
    expect(m.version).toBe(2);
    expect(Array.from(new Uint8Array(await readWeights(kv, m)))).toEqual(Array.from(blob(2)));
  });

  it("replaces a corrupt manifest on publish", async () => {
    const id = freshId();
    await kv.put(manifestKey(id), "{not json");
    await publishVersion(kv, id, blob(1), fields(1));
    expect((await readManifest(kv, id))?.version).toBe(1);
  });

  it("refuses a vocabulary that does not match the manifest's hash", async () => {
    await expectLayoutError(
      publishVersion(kv, freshId(), blob(1), fields(1), { vocab: testVocab(5) }),
      /does not match fields.vocabHash/,
    );
  });

  it("writes a vocabulary only once", async () => {
    const v = testVocab(9, "once");
    const rec = recordingKv(kv);
    expect(await putVocab(rec.kv, v)).toBe(vocabHash(v));
    await putVocab(rec.kv, v);
    expect(rec.log.filter((o) => o.op === "put")).toHaveLength(1);
  });

  it("reads the immutable keys with a cacheTtl and the manifest without", async () => {
    const id = freshId();
    const m = await publishVersion(kv, id, blob(1), fields(1), { vocab });
    const calls: Array<[string, unknown]> = [];
    const spy = {
      get: (key: string, arg: unknown) => (calls.push([key, arg]), kv.get(key, arg as "text")),
    } as unknown as KVNamespace;
    await readManifest(spy, id);
    await readWeights(spy, m);
    await readVocab(spy, hash);
    expect(calls[0][1]).toBe("text");
    expect(calls[1][1]).toMatchObject({ type: "arrayBuffer", cacheTtl: 86400 });
    expect(calls[2][1]).toMatchObject({ type: "text", cacheTtl: 86400 });
  });
});

describe("validation of what KV returns", () => {
  it("a missing manifest is null", async () => {
    expect(await readManifest(kv, freshId())).toBeNull();
  });

  const valid = {
    version: 1,
    weightsKey: "model:x:weights:v1",
    vocabKey: `vocab:${hash}`,
    vocabHash: hash,
    bytes: 64,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    tokensLearned: 0,
    learns: 0,
  };
  const garbage: Array<[string, string, RegExp]> = [
    ["not JSON", "{oops", /not valid JSON/],
    ["an array", "[]", /must be a JSON object/],
    ["null", "null", /must be a JSON object/],
    ["a string version", JSON.stringify({ ...valid, version: "1" }), /version/],
    ["a fractional version", JSON.stringify({ ...valid, version: 1.5 }), /version/],
    ["a foreign weights key", JSON.stringify({ ...valid, weightsKey: "vocab:abc" }), /weightsKey/],
    ["a vocab key not matching the hash", JSON.stringify({ ...valid, vocabKey: "vocab:00" }), /vocabKey/],
    ["a non-hex hash", JSON.stringify({ ...valid, vocabHash: "ZZ", vocabKey: "vocab:ZZ" }), /vocabulary hash/],
    ["a tiny size", JSON.stringify({ ...valid, bytes: 3 }), /bytes/],
    ["a bad date", JSON.stringify({ ...valid, updatedAt: "later" }), /updatedAt/],
    ["negative counters", JSON.stringify({ ...valid, learns: -1 }), /learns/],
    ["missing counters", JSON.stringify({ ...valid, tokensLearned: undefined }), /tokensLearned/],
  ];
  for (const [name, value, message] of garbage) {
    it(`rejects a manifest with ${name}`, async () => {
      const id = freshId();
      await kv.put(manifestKey(id), value);
      await expectLayoutError(readManifest(kv, id), message);
    });
  }

  it("accepts the valid manifest those cases start from, dropping unknown fields", async () => {
    const id = freshId();
    await kv.put(manifestKey(id), JSON.stringify({ ...valid, future: true }));
    expect(await readManifest(kv, id)).toEqual(valid);
  });

  it("keeps a valid learnLossAvg and rejects a negative or non-numeric one", () => {
    expect(parseManifest({ ...valid, learnLossAvg: 4.25 })).toEqual({ ...valid, learnLossAvg: 4.25 });
    for (const bad of [-1, "4", null])
      expect(() => parseManifest({ ...valid, learnLossAvg: bad })).toThrow(/learnLossAvg/);
  });

  it("rejects missing or truncated weights", async () => {
    const id = freshId();
    const m = await publishVersion(kv, id, blob(1), fields(1));
    await expectLayoutError(
      readWeights(kv, { ...m, weightsKey: weightsKey(id, 99) }),
      /v99 named by the manifest are missing/,
    );
    await expectLayoutError(readWeights(kv, { ...m, bytes: 65 }), /have 64 bytes, manifest says 65/);
  });

  it("rejects a missing, malformed or mislabelled vocabulary", async () => {
    await expectLayoutError(readVocab(kv, "abcdef01"), /vocab:abcdef01 is missing/);
    await kv.put("vocab:abcdef02", "{");
    await expectLayoutError(readVocab(kv, "abcdef02"), /vocab:abcdef02 is invalid/);
    await kv.put("vocab:abcdef03", JSON.stringify({ words: ["a", "b"] }));
    await expectLayoutError(readVocab(kv, "abcdef03"), /vocab:abcdef03 is invalid: vocabulary must start with/);
    await kv.put("vocab:abcdef04", JSON.stringify(vocabToJson(vocab)));
    await expectLayoutError(readVocab(kv, "abcdef04"), /does not hash to its key/);
  });

  it("writeManifest refuses an invalid manifest", async () => {
    const id = freshId();
    const m = await publishVersion(kv, id, blob(1), fields(1));
    await expectLayoutError(writeManifest(kv, id, { ...m, bytes: -1 }), /bytes/);
    expect(await readManifest(kv, id)).toEqual(m);
  });
});
