/**
 * An RnnLm and its metadata as one safetensors file (MODEL_FORMAT, "edge-rnnlm/2"; format 1 is
 * still read: model-format.ts, which holds the table of tensors below).
 *
 * Tensors (row-major, shapes as in src/model/model.ts):
 *   U [H, V], W [H, H], V [V, H]                 F32 or F16
 *   C [K, H] and class_start I32 [K + 1]         class-factorized output only
 *   D [2^b], direct_order metadata               optional: hashed direct n-gram weights
 *                                                (src/model/output/direct.ts)
 *   anchor_W [H, H], anchor_C [K, H]             optional: the anchor online learning pulls
 *                                                W and C toward (src/model/anchor.ts)
 *   memory_ids I32 [N], memory_lengths I32 [S]   optional: the phrase memory's S sentences
 *                                                (src/model/phrase-memory.ts), ids as learned,
 *                                                markers included, oldest first, concatenated
 *   memory_subjects I32 [S]                      optional: who taught each (src/trust/subject.ts;
 *                                                absent: anonymous, as files before subjects)
 *
 * __metadata__ (all strings, as the format requires):
 *   format "edge-rnnlm/2", output "full" | "class", hidden, vocab, classes (class output only),
 *   vocab_hash, version, created_at, updated_at, tokens_learned, learns,
 *   train (JSON object of numeric hyperparameters; omitted when empty),
 *   learned_words (JSON {capacity, clock, words, uses, last_use, teachers, first_by}: the
 *   learned-word slots, whose words are the last ids; vocab counts them, vocab_hash is the base
 *   vocabulary's; teachers and first_by are optional, absent in files before subjects).
 *
 * Both directions refuse non-finite weights, and counts (version, learns, tokens_learned, the
 * learned words' clock and uses) above MAX_COUNT (src/model/count.ts), which every increment
 * saturates at: so a file that decodes is always usable, and stays publishable through any learns.
 */

import { isCount, MAX_COUNT } from "../model/count.ts";
import type { Placement } from "../model/kernel-memory.ts";
import {
  assertModelShape,
  classOutput,
  type LearnedWords,
  type OutputLayer,
  placeWeights,
  type RnnLm,
  rnnLm,
} from "../model/model.ts";
import { MEMORY_MAX_SENTENCE_IDS, MEMORY_SENTENCES, PhraseMemory } from "../model/phrase-memory.ts";
import { ANONYMOUS, KNOWN_AFTER, MAX_SLOT_WORD_CHARS, mayTakeSlot, WORD_SLOTS } from "../model/word-slots.ts";
import {
  type Dims,
  dimsOf,
  MODEL_FORMAT,
  type Part,
  READABLE_FORMATS,
  type TensorSpec,
  tensorsFor,
} from "./model-format.ts";
import {
  decodeSafetensorsRaw,
  encodeSafetensors,
  type RawTensor,
  SafetensorsError,
  type Tensor,
  tensorOf,
} from "./safetensors.ts";

export { MODEL_FORMAT };

/** What a model file says about itself besides its weights. */
export interface ModelMeta {
  /** Publish counter of this model: a non-negative integer, one per published weights version. */
  version: number;
  /** vocabHash() of the vocabulary the word ids refer to. */
  vocabHash: string;
  /** ISO 8601 times: when the model was first trained and when its weights last changed. */
  createdAt: string;
  updatedAt: string;
  /** Tokens and sentences learned online since the base model. */
  tokensLearned: number;
  learns: number;
  /** Free-form numeric training settings (lr, bpttTruncate, seed, epochs...), stored as "train". */
  hyperparameters: Record<string, number>;
}

export type WeightDtype = "F32" | "F16";

export class ModelFormatError extends Error {
  override name = "ModelFormatError";
}

export function fail(message: string, cause?: unknown): never {
  throw new ModelFormatError(message, cause === undefined ? undefined : { cause });
}

/** Largest magnitude that still rounds to a finite half (65504 is the largest half). */
const HALF_LIMIT = 65520;

function assertFiniteWeights(name: string, a: Float32Array, limit: number): void {
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]) < limit))
      fail(`${name}[${i}] = ${a[i]} is not finite${limit < Infinity ? " as float16" : ""}`);
  }
}

function checkMeta(meta: ModelMeta): void {
  if (!isCount(meta.version)) fail(`bad version ${meta.version}`);
  if (!isCount(meta.tokensLearned)) fail(`bad tokensLearned ${meta.tokensLearned}`);
  if (!isCount(meta.learns)) fail(`bad learns ${meta.learns}`);
  if (meta.vocabHash === "") fail("empty vocabHash");
  if (Number.isNaN(Date.parse(meta.createdAt))) fail(`bad createdAt ${meta.createdAt}`);
  if (Number.isNaN(Date.parse(meta.updatedAt))) fail(`bad updatedAt ${meta.updatedAt}`);
  for (const [k, x] of Object.entries(meta.hyperparameters)) {
    if (typeof x !== "number" || !Number.isFinite(x)) fail(`hyperparameter ${k} must be a finite number`);
  }
}

/** Serialises a model; F16 halves the size at about 3 significant digits per weight. */
export function encodeModel(model: RnnLm, meta: ModelMeta, opts: { dtype?: WeightDtype } = {}): Uint8Array {
  const dtype = opts.dtype ?? "F32";
  try {
    assertModelShape(model);
  } catch (e) {
    fail(`invalid model: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  checkMeta(meta);

  const tensors: Record<string, Tensor> = {};
  const dims = dimsOf(model);
  for (const spec of tensorsFor(model.output.kind)) {
    const data = spec.read(model);
    if (data === undefined) continue;
    if (data instanceof Float32Array) {
      assertFiniteWeights(spec.name, data, dtype === "F16" ? HALF_LIMIT : Infinity);
      tensors[spec.name] = { dtype, shape: spec.shape(dims), data };
    } else {
      tensors[spec.name] = { dtype: "I32", shape: spec.shape(dims), data };
    }
  }
  const metadata: Record<string, string> = {
    format: MODEL_FORMAT,
    output: model.output.kind,
    hidden: String(model.hidden),
    vocab: String(model.vocab),
    vocab_hash: meta.vocabHash,
    version: String(meta.version),
    created_at: meta.createdAt,
    updated_at: meta.updatedAt,
    tokens_learned: String(meta.tokensLearned),
    learns: String(meta.learns),
  };
  if (model.output.kind === "class") metadata.classes = String(model.output.classes);
  if (model.direct) metadata.direct_order = String(model.direct.order);
  if (model.learned) {
    const { capacity, clock, words, uses, lastUse, teachers, firstBy } = model.learned;
    metadata.learned_words = JSON.stringify({
      capacity,
      clock,
      words,
      uses,
      last_use: lastUse,
      teachers,
      first_by: firstBy,
    });
  }
  if (Object.keys(meta.hyperparameters).length > 0) metadata.train = JSON.stringify(meta.hyperparameters);
  return encodeSafetensors(tensors, metadata);
}

// ---------------------------------------------------------------------------------------------
// Decoding

export function readCount(md: Record<string, string>, key: string, min: number): number {
  const s = md[key];
  if (s === undefined) fail(`metadata ${key} is missing`);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(s)) fail(`metadata ${key} is not a non-negative integer: ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!isCount(n) || n < min) fail(`metadata ${key} = ${s} is out of range (${min} to ${MAX_COUNT})`);
  return n;
}

export function readString(md: Record<string, string>, key: string): string {
  const s = md[key];
  if (s === undefined || s === "") fail(`metadata ${key} is missing`);
  return s;
}

function readHyperparameters(md: Record<string, string>): Record<string, number> {
  if (md.train === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(md.train);
  } catch (e) {
    fail("metadata train is not valid JSON", e);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    fail("metadata train must be a JSON object");
  const entries = Object.entries(parsed);
  for (const [k, x] of entries) {
    if (typeof x !== "number" || !Number.isFinite(x)) fail(`metadata train.${k} must be a finite number`);
  }
  // fromEntries defines properties, so a "__proto__" key stays an ordinary key.
  return Object.fromEntries(entries) as Record<string, number>;
}

function readMeta(md: Record<string, string>): ModelMeta {
  const meta: ModelMeta = {
    version: readCount(md, "version", 0),
    vocabHash: readString(md, "vocab_hash"),
    createdAt: readString(md, "created_at"),
    updatedAt: readString(md, "updated_at"),
    tokensLearned: readCount(md, "tokens_learned", 0),
    learns: readCount(md, "learns", 0),
    hyperparameters: readHyperparameters(md),
  };
  checkMeta(meta);
  return meta;
}

/** The learned-word slots of a file with `vocab` ids, from metadata learned_words (absent: none). */
export function readLearnedWords(md: Record<string, string>, vocab: number): LearnedWords | undefined {
  if (md.learned_words === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(md.learned_words);
  } catch (e) {
    fail("metadata learned_words is not valid JSON", e);
  }
  const o = (typeof parsed === "object" && parsed !== null ? parsed : {}) as Record<string, unknown>;
  const { capacity, clock, words, uses, last_use: lastUse } = o;
  const counts = (a: unknown): a is number[] => Array.isArray(a) && a.every(isCount);
  if (!isCount(capacity) || !isCount(clock) || !counts(uses) || !counts(lastUse)) {
    fail(`metadata learned_words needs capacity, clock, uses and last_use as integers from 0 to ${MAX_COUNT}`);
  }
  // The writer makes room for every slot at once, so a larger capacity would be memory a file could demand.
  if ((capacity as number) > WORD_SLOTS) fail(`metadata learned_words.capacity must be at most ${WORD_SLOTS}`);
  if (!Array.isArray(words) || !words.every((w) => typeof w === "string" && mayTakeSlot(w))) {
    fail(`metadata learned_words.words must be words of at most ${MAX_SLOT_WORD_CHARS} characters`);
  }
  if (new Set(words).size !== words.length) fail("metadata learned_words.words has a word twice");
  const n = words.length;
  if (n > (capacity as number) || uses.length !== n || lastUse.length !== n || n >= vocab)
    fail("metadata learned_words: the slots do not fit");
  // Files from before teachers were kept: each learn counted as another teacher (ANONYMOUS).
  const teachers = o.teachers ?? uses.map((u) => Math.min(u, KNOWN_AFTER));
  const firstBy = o.first_by ?? uses.map(() => ANONYMOUS);
  const int32 = (a: unknown): a is number[] => Array.isArray(a) && a.every((x) => Number.isInteger(x) && x === (x | 0));
  if (!counts(teachers) || !int32(firstBy) || teachers.length !== n || firstBy.length !== n) {
    fail("metadata learned_words.teachers and first_by need one integer per word");
  }
  return {
    base: vocab - n,
    capacity: capacity as number,
    clock: clock as number,
    words: words as string[],
    uses,
    lastUse,
    teachers,
    firstBy,
  };
}

/**
 * A phrase memory from a file's ids (markers included, concatenated), sentence lengths and who
 * taught each (absent: anonymous, as files from before subjects), ids below `vocab`.
 */
function memoryOf(ids: Int32Array, lengths: Int32Array, vocab: number, subjects?: Int32Array): PhraseMemory {
  if (lengths.length > MEMORY_SENTENCES)
    fail(`tensor memory_lengths holds ${lengths.length} sentences, at most ${MEMORY_SENTENCES}`);
  let total = 0;
  for (const n of lengths) {
    if (n < 2 || n > MEMORY_MAX_SENTENCE_IDS)
      fail(`tensor memory_lengths: a sentence of ${n} ids (want 2 to ${MEMORY_MAX_SENTENCE_IDS})`);
    total += n;
  }
  if (total !== ids.length) fail(`tensor memory_ids holds ${ids.length} ids, memory_lengths add up to ${total}`);
  for (const id of ids)
    if (id < 0 || id >= vocab) fail(`tensor memory_ids: id ${id} is outside the vocabulary of ${vocab}`);
  if (subjects && subjects.length !== lengths.length)
    fail(`tensor memory_subjects holds ${subjects.length} subjects for ${lengths.length} sentences`);
  const memory = new PhraseMemory();
  let at = 0;
  for (const [i, n] of lengths.entries()) memory.add(ids.subarray(at, (at += n)), subjects?.[i] ?? ANONYMOUS);
  return memory;
}

/** The phrase memory of a file with `vocab` ids, from tensors memory_ids and memory_lengths (absent: none). */
export function readMemory(tensors: Record<string, Tensor>, vocab: number): PhraseMemory | undefined {
  if (tensors.memory_ids === undefined && tensors.memory_lengths === undefined) return undefined;
  const lengths = takeTensor(tensors, "memory_lengths", [tensors.memory_lengths?.shape[0] ?? 0], "I32")
    .data as Int32Array;
  const ids = takeTensor(tensors, "memory_ids", [tensors.memory_ids?.shape[0] ?? 0], "I32").data as Int32Array;
  return memoryOf(ids, lengths, vocab);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function takeTensor<T extends { readonly dtype: string; readonly shape: readonly number[] }>(
  tensors: Record<string, T>,
  name: string,
  shape: number[],
  kind: "float" | "I32",
): T {
  const t = tensors[name];
  if (t === undefined) fail(`tensor ${name} is missing`);
  const okType = kind === "I32" ? t.dtype === "I32" : t.dtype === "F32" || t.dtype === "F16";
  if (!okType) fail(`tensor ${name} has dtype ${t.dtype}, want ${kind === "I32" ? "I32" : "F32 or F16"}`);
  if (!sameShape(t.shape, shape)) fail(`tensor ${name} has shape [${t.shape}], want [${shape}]`);
  return t;
}

export function takeFloat(tensors: Record<string, Tensor>, name: string, shape: number[]): Float32Array {
  const data = takeTensor(tensors, name, shape, "float").data as Float32Array;
  assertFiniteWeights(name, data, Infinity);
  return data;
}

/** A model file's tensors (as stored), each checked against the format's table (TENSORS) as it is taken. */
class FileTensors {
  private readonly specs: Map<string, TensorSpec>;
  private readonly tensors: Record<string, RawTensor>;
  private readonly dims: Dims;

  constructor(tensors: Record<string, RawTensor>, output: "full" | "class", dims: Dims) {
    this.tensors = tensors;
    this.dims = dims;
    this.specs = new Map(tensorsFor(output).map((spec) => [spec.name, spec]));
    for (const name of Object.keys(tensors))
      if (!this.specs.has(name)) fail(`unexpected tensor ${name} for ${output} output`);
  }

  /** Whether the file holds any tensor of `part` (then it must hold all of them). */
  has(part: Part): boolean {
    return [...this.specs.values()].some((spec) => spec.part === part && this.tensors[spec.name] !== undefined);
  }

  /**
   * A weight the kernels read, as the file stores it: float16 stays bits until the kernel memory
   * widens it in place (placeWeights, which also finds non-finite values); float32 is copied there.
   */
  weight(name: string): Placement {
    const raw = this.take(name, "float");
    const capacity = raw.shape.reduce((n, d) => n * d, 1);
    return { data: raw.dtype === "F16" ? { halves: raw.bytes } : (tensorOf(raw).data as Float32Array), capacity };
  }

  /** A float tensor outside the kernel memory (F16 read as F32), all finite. */
  float(name: string): Float32Array {
    const data = tensorOf(this.take(name, "float")).data as Float32Array;
    assertFiniteWeights(name, data, Infinity);
    return data;
  }

  ints(name: string): Int32Array {
    return tensorOf(this.take(name, "I32")).data as Int32Array;
  }

  private take(name: string, dtype: TensorSpec["dtype"]): RawTensor {
    const spec = this.specs.get(name);
    if (spec === undefined || spec.dtype !== dtype) fail(`tensor ${name} is missing`);
    return takeTensor(this.tensors, name, spec.shape(this.dims), dtype);
  }
}

/**
 * Parses and validates a model file. The weights are copied (F32) or widened (F16) straight from
 * `bytes` into the model's kernel memory; `bytes` is not kept. `expect` guards against pairing
 * weights with the wrong vocabulary.
 */
export function decodeModel(
  bytes: ArrayBuffer | Uint8Array,
  expect: { vocab?: number; vocabHash?: string } = {},
): { model: RnnLm; meta: ModelMeta } {
  let file: { tensors: Record<string, RawTensor>; metadata: Record<string, string> };
  try {
    file = decodeSafetensorsRaw(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) fail(`not a valid safetensors file: ${e.message}`, e);
    throw e;
  }
  const format = file.metadata.format;
  if (format === undefined || !Object.hasOwn(READABLE_FORMATS, format)) {
    fail(
      `format is ${JSON.stringify(format)}, want one of ${Object.keys(READABLE_FORMATS)
        .map((f) => JSON.stringify(f))
        .join(", ")}`,
    );
  }
  const md = READABLE_FORMATS[format](file.metadata);
  const kind = md.output;
  if (kind !== "full" && kind !== "class") fail(`unknown output layer ${JSON.stringify(kind)}`);
  const h = readCount(md, "hidden", 1);
  const v = readCount(md, "vocab", 1);
  const k = kind === "class" ? readCount(md, "classes", 1) : 0;
  const meta = readMeta(md);
  const learned = readLearnedWords(md, v);
  const base = learned?.base ?? v;
  if (expect.vocab !== undefined && expect.vocab !== base) fail(`model has vocab ${base}, want ${expect.vocab}`);
  if (expect.vocabHash !== undefined && expect.vocabHash !== meta.vocabHash) {
    fail(`model vocab_hash ${meta.vocabHash} does not match the vocabulary ${expect.vocabHash}`);
  }

  const raw = file.tensors;
  const dims: Dims = {
    hidden: h,
    vocab: v,
    classes: k,
    // The anchor covers the base classes: not the learned words' class, when there is one.
    anchorClasses: k - (v > base ? 1 : 0),
    // These sizes are the tensors' own: assertModelShape and readMemory check them below.
    directSize: raw.D?.shape[0] ?? 0,
    memoryIds: raw.memory_ids?.shape[0] ?? 0,
    memorySentences: raw.memory_lengths?.shape[0] ?? 0,
  };
  const f = new FileTensors(raw, kind, dims);
  // A copy: as a view it would keep the whole file buffer alive.
  const classStart = kind === "class" ? f.ints("class_start").slice() : undefined;
  const C = kind === "class" ? f.weight("C") : undefined;
  const hasDirect = f.has("direct") || md.direct_order !== undefined;
  const order = hasDirect ? readCount(md, "direct_order", 1) : 0;
  const D = hasDirect ? f.weight("D") : undefined;
  const weights = placeWeights(h, { U: f.weight("U"), W: f.weight("W"), V: f.weight("V"), C, D });
  for (const [name, { view, firstNonFinite: i }] of Object.entries(weights))
    if (i >= 0) fail(`${name}[${i}] = ${view[i]} is not finite`);
  // Safe before validation: wordClassOf only fills a [V] array, whatever classStart holds.
  const output: OutputLayer = classStart ? classOutput(classStart, weights.C!.view, v) : { kind: "full" };
  const model = rnnLm({
    vocab: v,
    hidden: h,
    U: weights.U.view,
    W: weights.W.view,
    V: weights.V.view,
    output,
    direct: D && { order, D: weights.D!.view },
    learned,
    memory: f.has("memory")
      ? memoryOf(
          f.ints("memory_ids"),
          f.ints("memory_lengths"),
          v,
          f.has("subjects") ? f.ints("memory_subjects") : undefined,
        )
      : undefined,
  });
  if (f.has("anchor"))
    model.anchor = { W: f.float("anchor_W"), C: kind === "class" ? f.float("anchor_C") : new Float32Array(0) };
  try {
    assertModelShape(model);
  } catch (e) {
    fail(`invalid model: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  return { model, meta };
}
