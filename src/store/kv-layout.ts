/**
 * Where models live in Workers KV (see docs/kv-layout.md for the reasoning):
 *
 *   model:{id}:manifest        small JSON naming the current version (mutable, read uncached)
 *   model:{id}:weights:v{N}    safetensors bytes of version N (immutable, read with a long cacheTtl)
 *   vocab:{hash}               vocabulary JSON {"words": [...]}, shared by every model using it (immutable)
 *
 * Write order: vocabulary, then weights, then manifest, so a reader that sees a manifest can
 * always fetch what it names. Versions only ever increase and a weights key is never rewritten.
 */

import { isCount } from "../model/count.ts";
import { vocabFromJson, vocabHash, vocabToJson, type Vocab } from "../model/vocab.ts";

export const DEFAULT_MODEL_ID = "default";

/** Long edge cache for keys whose value never changes (KV's minimum is 30 s). */
export const IMMUTABLE_CACHE_TTL_S = 86_400;

/** The state a model's readers need, stored at model:{id}:manifest. */
export interface Manifest {
  /** Current published version; strictly increases with every publish. */
  version: number;
  /** KV key of the weights (usually model:{id}:weights:v{version}; may name another model's blob). */
  weightsKey: string;
  /** KV key of the vocabulary, always vocab:{vocabHash}. */
  vocabKey: string;
  vocabHash: string;
  /** Byte length of the weights value, checked on read to catch truncated or mismatched blobs. */
  bytes: number;
  /** ISO 8601 times: model creation and this version's publication. */
  createdAt: string;
  updatedAt: string;
  /** Online learning counters up to this version. */
  tokensLearned: number;
  learns: number;
  /** Set on a model created from another (POST /models): that model and its version at creation. */
  base?: VersionRef;
  /** Moving average of the learn loss (per token, before each learn) when this version was published. */
  learnLossAvg?: number;
}

/** One published version of one model. */
export interface VersionRef {
  id: string;
  version: number;
}

/** What a publisher supplies; keys and size are derived. */
export type ManifestFields = Omit<Manifest, "weightsKey" | "vocabKey" | "bytes">;

/** The manifest fields of a model's first version, as a seed or a freshly trained model has them: nothing learned yet. */
export function firstVersionFields(vocabHash: string, at: string = new Date().toISOString()): ManifestFields {
  return { version: 1, vocabHash, createdAt: at, updatedAt: at, tokensLearned: 0, learns: 0 };
}

export class KvLayoutError extends Error {
  override name = "KvLayoutError";
}

function fail(message: string, cause?: unknown): never {
  throw new KvLayoutError(message, cause === undefined ? undefined : { cause });
}

/** Model ids are 1-64 of [A-Za-z0-9_-]: no ":" so one id's key prefix never matches another's. */
export const MODEL_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** MODEL_ID in words, for error messages and the API description. */
export const MODEL_ID_RULE = "1-64 characters of A-Z a-z 0-9 _ -";

const WEIGHTS_KEY = new RegExp(`^model:${MODEL_ID.source.slice(1, -1)}:weights:v(0|[1-9][0-9]*)$`);

export function isValidModelId(id: string): boolean {
  return MODEL_ID.test(id);
}

function checkId(id: string): void {
  if (!isValidModelId(id)) fail(`invalid model id ${JSON.stringify(id)}`);
}

export function manifestKey(id: string): string {
  checkId(id);
  return `model:${id}:manifest`;
}

/** Every weights key of a model starts with this; a key without it is borrowed from another model. */
export function weightsPrefix(id: string): string {
  checkId(id);
  return `model:${id}:weights:v`;
}

export function weightsKey(id: string, version: number): string {
  if (!Number.isSafeInteger(version) || version < 0) fail(`invalid version ${version}`);
  return weightsPrefix(id) + version;
}

export function vocabKey(hash: string): string {
  if (!/^[0-9a-f]{1,128}$/.test(hash)) fail(`invalid vocabulary hash ${JSON.stringify(hash)}`);
  return `vocab:${hash}`;
}

// ---------------------------------------------------------------------------------------------
// Manifest

function isTime(x: unknown): x is string {
  return typeof x === "string" && !Number.isNaN(Date.parse(x));
}

/** Validates a manifest read back from KV; unknown extra fields are dropped. */
export function parseManifest(json: unknown): Manifest {
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("manifest must be a JSON object");
  const m = json as Record<string, unknown>;
  if (!isCount(m.version)) fail("manifest.version must be an integer from 0 to 2^48");
  if (typeof m.weightsKey !== "string" || !WEIGHTS_KEY.test(m.weightsKey)) {
    fail("manifest.weightsKey must be a model weights key");
  }
  if (typeof m.vocabHash !== "string") fail("manifest.vocabHash must be a string");
  if (m.vocabKey !== vocabKey(m.vocabHash)) fail("manifest.vocabKey must be vocab:{vocabHash}");
  if (!isCount(m.bytes) || m.bytes < 8) fail("manifest.bytes must be an integer >= 8");
  if (!isTime(m.createdAt)) fail("manifest.createdAt must be a date");
  if (!isTime(m.updatedAt)) fail("manifest.updatedAt must be a date");
  if (!isCount(m.tokensLearned)) fail("manifest.tokensLearned must be an integer from 0 to 2^48");
  if (!isCount(m.learns)) fail("manifest.learns must be an integer from 0 to 2^48");
  const base = m.base === undefined ? undefined : parseVersionRef(m.base);
  const avg = m.learnLossAvg;
  if (avg !== undefined && !(typeof avg === "number" && Number.isFinite(avg) && avg >= 0)) {
    fail("manifest.learnLossAvg must be a finite number >= 0");
  }
  return {
    version: m.version,
    weightsKey: m.weightsKey,
    vocabKey: m.vocabKey,
    vocabHash: m.vocabHash,
    bytes: m.bytes,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    tokensLearned: m.tokensLearned,
    learns: m.learns,
    ...(base && { base }),
    ...(typeof avg === "number" && { learnLossAvg: avg }),
  };
}

function parseVersionRef(json: unknown): VersionRef {
  const r = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  if (typeof r.id !== "string" || !isValidModelId(r.id) || !isCount(r.version)) {
    fail("manifest.base must be {id: a model id, version: a non-negative integer}");
  }
  return { id: r.id, version: r.version };
}

/**
 * The current manifest, or null when the model does not exist. Read without cacheTtl: the
 * manifest is the one mutable key, so a long edge cache would hide new versions for longer.
 * Throws KvLayoutError when the stored value is not a valid manifest.
 */
export async function readManifest(kv: KVNamespace, id: string): Promise<Manifest | null> {
  const text = await kv.get(manifestKey(id), "text");
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(`manifest of model ${id} is not valid JSON`, e);
  }
  try {
    return parseManifest(json);
  } catch (e) {
    fail(`manifest of model ${id} is invalid: ${(e as Error).message}`, e);
  }
}

/** Points a model at a weights blob that already exists (publish, copy-on-write creation). */
/** The manifest, or null when it is absent or unreadable (a publish may replace a corrupt one). */
export async function readManifestOrNull(kv: KVNamespace, id: string): Promise<Manifest | null> {
  return readManifest(kv, id).catch((e: unknown) => (e instanceof KvLayoutError ? null : Promise.reject(e)));
}

export async function writeManifest(kv: KVNamespace, id: string, manifest: Manifest): Promise<void> {
  await kv.put(manifestKey(id), JSON.stringify(parseManifest(manifest)));
}

// ---------------------------------------------------------------------------------------------
// Immutable values

/** The weights a manifest (or a writer's version row) names; throws KvLayoutError if missing or not the recorded size. */
export async function readWeights(
  kv: KVNamespace,
  manifest: Pick<Manifest, "weightsKey" | "bytes">,
): Promise<ArrayBuffer> {
  const bytes = await kv.get(manifest.weightsKey, { type: "arrayBuffer", cacheTtl: IMMUTABLE_CACHE_TTL_S });
  if (bytes === null) fail(`weights ${manifest.weightsKey} named by the manifest are missing`);
  if (bytes.byteLength !== manifest.bytes) {
    fail(`weights ${manifest.weightsKey} have ${bytes.byteLength} bytes, manifest says ${manifest.bytes}`);
  }
  return bytes;
}

/** The vocabulary stored under its hash; throws KvLayoutError if missing, invalid or not matching the hash. */
export async function readVocab(kv: KVNamespace, hash: string): Promise<Vocab> {
  const key = vocabKey(hash);
  const text = await kv.get(key, { type: "text", cacheTtl: IMMUTABLE_CACHE_TTL_S });
  if (text === null) fail(`vocabulary ${key} is missing`);
  let vocab: Vocab;
  try {
    vocab = vocabFromJson(JSON.parse(text));
  } catch (e) {
    fail(`vocabulary ${key} is invalid: ${(e as Error).message}`, e);
  }
  if (vocabHash(vocab) !== hash) fail(`vocabulary ${key} does not hash to its key`);
  return vocab;
}

/** Stores a vocabulary under its hash unless it is already there (KV writes are the scarce resource). */
export async function putVocab(kv: KVNamespace, vocab: Vocab): Promise<string> {
  const hash = vocabHash(vocab);
  const key = vocabKey(hash);
  if ((await kv.get(key, "text")) === null) await kv.put(key, JSON.stringify(vocabToJson(vocab)));
  return hash;
}

/**
 * Publishes a new version: the vocabulary (if given and new), then the immutable weights, then
 * the manifest. Refuses a version that does not exceed the current one, so a weights key is
 * never overwritten (readers cache them for a day). A corrupt current manifest is replaced.
 */
export async function publishVersion(
  kv: KVNamespace,
  id: string,
  bytes: Uint8Array,
  fields: ManifestFields,
  opts: { vocab?: Vocab } = {},
): Promise<Manifest> {
  const manifest = parseManifest({
    ...fields,
    weightsKey: weightsKey(id, fields.version),
    vocabKey: vocabKey(fields.vocabHash),
    bytes: bytes.byteLength,
  });
  if (opts.vocab && vocabHash(opts.vocab) !== fields.vocabHash) fail("the vocabulary does not match fields.vocabHash");
  const current = await readManifestOrNull(kv, id);
  if (current && manifest.version <= current.version) {
    fail(`version ${manifest.version} of model ${id} must exceed the current version ${current.version}`);
  }
  if (opts.vocab) await putVocab(kv, opts.vocab);
  await kv.put(manifest.weightsKey, bytes);
  await kv.put(manifestKey(id), JSON.stringify(manifest));
  return manifest;
}
