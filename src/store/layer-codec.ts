/**
 * A user's data as a file (docs/personal.md): every personal layer of one user, one safetensors
 * file. The writer stores each layer's snapshot in this format too (one layer per file), and
 * GET /users/{id}/export answers it, PUT /users/{id}/import reads it.
 *
 *   {model}/delta           F32 [2^b]   the layer's hashed deltas over model's direct weights
 *   {model}/memory_ids      I32 [N]     the phrase memory's sentences, ids as learned (optional)
 *   {model}/memory_lengths  I32 [S]     their lengths (optional, with memory_ids)
 *   __metadata__: format "edge-rnnlm-user/1", layers: JSON {model: {vocab_hash, base,
 *     learned_words: {capacity, clock, words, uses, last_use}, forgotten: [words], learns, tokens,
 *     created_at, updated_at}}
 *
 * Own word j has id base + j, so memory ids run below base + words.length.
 */
import { MAX_DELTA_BITS, MIN_DELTA_BITS, type PersonalLayer } from "../model/personal.ts";
import { MEMORY_MAX_SENTENCE_IDS, MEMORY_SENTENCES, PhraseMemory } from "../model/phrase-memory.ts";
import { MAX_SLOT_WORD_CHARS } from "../model/word-slots.ts";
import { fail, readLearnedWords, readMemory, takeFloat } from "./model-codec.ts";
import { decodeSafetensors, encodeSafetensors, type Tensor } from "./safetensors.ts";

export const USER_FORMAT = "edge-rnnlm-user/1";

/** One layer with what the API reports about it. */
export interface LayerRecord {
  /** The shared model's vocabulary it was learned over. */
  vocabHash: string;
  layer: PersonalLayer;
  /** Words the user asked never to be suggested again (POST /users/{id}/forget). */
  forgotten: string[];
  learns: number;
  tokens: number;
  createdAt: string;
  updatedAt: string;
}

/** Most forgotten words a layer keeps. */
export const MAX_FORGOTTEN = 1024;

/** Largest user file: a full memory of 64-token sentences, the largest delta, every slot and forgotten word (docs/personal.md). */
export const MAX_USER_FILE_BYTES = 1 << 20;

export function encodeUserData(layers: ReadonlyMap<string, LayerRecord>): Uint8Array {
  const tensors: Record<string, Tensor> = {};
  const meta: Record<string, unknown> = {};
  for (const [model, r] of layers) {
    const { layer } = r;
    tensors[`${model}/delta`] = { dtype: "F32", shape: [layer.delta.length], data: layer.delta };
    const held = layer.memory.sentences();
    if (held.length > 0) {
      const ids = new Int32Array(held.reduce((n, s) => n + s.length, 0));
      let at = 0;
      for (const s of held) ids.set(s, (at += s.length) - s.length);
      tensors[`${model}/memory_ids`] = { dtype: "I32", shape: [ids.length], data: ids };
      tensors[`${model}/memory_lengths`] = {
        dtype: "I32",
        shape: [held.length],
        data: Int32Array.from(held, (s) => s.length),
      };
    }
    const { capacity, clock, words, uses, lastUse } = layer.learned;
    meta[model] = {
      vocab_hash: r.vocabHash,
      base: layer.learned.base,
      learned_words: { capacity, clock, words, uses, last_use: lastUse },
      forgotten: r.forgotten,
      learns: r.learns,
      tokens: r.tokens,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
    };
  }
  return encodeSafetensors(tensors, { format: USER_FORMAT, layers: JSON.stringify(meta) });
}

/** The safetensors file and its layers' metadata, checked only for their framing. */
function readUserFile(bytes: Uint8Array): {
  file: ReturnType<typeof decodeSafetensors>;
  layers: Record<string, unknown>;
} {
  if (bytes.byteLength > MAX_USER_FILE_BYTES) fail(`a user file is at most ${MAX_USER_FILE_BYTES} bytes`);
  let file: ReturnType<typeof decodeSafetensors>;
  try {
    file = decodeSafetensors(bytes, { maxHeaderBytes: 256 * 1024 });
  } catch (e) {
    fail(`not a safetensors file: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const md = file.metadata;
  if (md.format !== USER_FORMAT) fail(`metadata format must be "${USER_FORMAT}"`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(md.layers ?? "");
  } catch (e) {
    fail("metadata layers is not valid JSON", e);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    fail("metadata layers must be a JSON object");
  return { file, layers: parsed as Record<string, unknown> };
}

/** The models a user file has layers for (ModelFormatError when it is not a user file). */
export function userFileModels(bytes: Uint8Array): string[] {
  return Object.keys(readUserFile(bytes).layers);
}

/** What the shared model a layer names must match: its base vocabulary's size and hash. */
export interface SharedShape {
  base: number;
  vocabHash: string;
}

/**
 * Parses and validates a user file (ModelFormatError on anything wrong). `shared(model)` gives
 * the shape of the shared model a layer is over, or null when there is no such model.
 */
export function decodeUserData(
  bytes: Uint8Array,
  shared: (model: string) => SharedShape | null,
): Map<string, LayerRecord> {
  const { file, layers: parsed } = readUserFile(bytes);
  const out = new Map<string, LayerRecord>();
  const named = new Set<string>();
  for (const [model, value] of Object.entries(parsed)) {
    const shape = shared(model);
    if (!shape) fail(`layer ${JSON.stringify(model)}: there is no such model`);
    const o = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
    const count = (k: string) => {
      const x = o[k];
      if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0)
        fail(`layer ${model}: ${k} must be a non-negative integer`);
      return x;
    };
    const time = (k: string) => {
      const x = o[k];
      if (typeof x !== "string" || Number.isNaN(Date.parse(x))) fail(`layer ${model}: ${k} must be a date`);
      return x;
    };
    if (o.vocab_hash !== shape.vocabHash || count("base") !== shape.base) {
      fail(
        `layer ${model}: it was learned over another vocabulary than model ${model}'s (${shape.vocabHash}, ${shape.base} words)`,
      );
    }
    const forgotten = o.forgotten;
    if (
      !Array.isArray(forgotten) ||
      forgotten.length > MAX_FORGOTTEN ||
      !forgotten.every((w) => typeof w === "string" && w.length > 0 && w.length <= 64)
    ) {
      fail(`layer ${model}: forgotten must be at most ${MAX_FORGOTTEN} words`);
    }
    const wordsJson = o.learned_words;
    const words =
      typeof wordsJson === "object" && wordsJson !== null ? (wordsJson as { words?: unknown }).words : undefined;
    if (!Array.isArray(words)) fail(`layer ${model}: learned_words.words is missing`);
    const vocab = shape.base + words.length;
    const learned = readLearnedWords({ learned_words: JSON.stringify(wordsJson) }, vocab);
    if (!learned) fail(`layer ${model}: learned_words is missing`);
    const t = file.tensors;
    const size = t[`${model}/delta`]?.shape[0] ?? 0;
    if (!(size >= 2 ** MIN_DELTA_BITS && size <= 2 ** MAX_DELTA_BITS && (size & (size - 1)) === 0)) {
      fail(`layer ${model}: delta must hold 2^${MIN_DELTA_BITS} to 2^${MAX_DELTA_BITS} values, a power of two`);
    }
    const delta = takeFloat(t, `${model}/delta`, [size]).slice();
    const memory =
      readMemory({ memory_ids: t[`${model}/memory_ids`], memory_lengths: t[`${model}/memory_lengths`] }, vocab) ??
      new PhraseMemory();
    for (const name of ["delta", "memory_ids", "memory_lengths"]) named.add(`${model}/${name}`);
    out.set(model, {
      vocabHash: shape.vocabHash,
      layer: { delta, learned, memory },
      forgotten: forgotten as string[],
      learns: count("learns"),
      tokens: count("tokens"),
      createdAt: time("created_at"),
      updatedAt: time("updated_at"),
    });
  }
  for (const name of Object.keys(file.tensors)) if (!named.has(name)) fail(`unexpected tensor ${name}`);
  return out;
}

/** Bytes of the most a layer may hold: delta, a full memory of the longest sentences, every slot's word (docs/personal.md). */
export function layerCapBytes(deltaBits: number, slots: number): number {
  return (
    4 * 2 ** deltaBits + 4 * MEMORY_SENTENCES * (MEMORY_MAX_SENTENCE_IDS + 1) + slots * (MAX_SLOT_WORD_CHARS * 4 + 40)
  );
}
