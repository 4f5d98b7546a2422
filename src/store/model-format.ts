/**
 * The model file format in one place: its version, the formats still read, and the table of its
 * tensors. encodeModel writes the table's tensors, decodeModel checks a file's against it (names,
 * dtypes, shapes), and the import size limit adds up the largest file it allows.
 */

import { MAX_COUNT } from "../model/count.ts";
import { baseClasses, baseVocab, inputStride, type RnnLm } from "../model/model.ts";
import { MEMORY_MAX_SENTENCE_IDS, MEMORY_SENTENCES } from "../model/phrase-memory.ts";

/**
 * The format written. 2: every count (version, learns, tokens_learned, the learned words' clock
 * and uses) is at most MAX_COUNT. 1: counts up to 2^53 - 1 (or 2^53, see below), read with each
 * clamped to MAX_COUNT.
 */
export const MODEL_FORMAT = "edge-rnnlm/2";

/** Counts a format-1 file may hold beyond MAX_COUNT, as the current format reads them. */
function clampV1Counts(md: Record<string, string>): Record<string, string> {
  // Integers past 2^53 - 1 included: a format-1 publish could write 2^53 (a clock of 2^53 - 1, one
  // learn later), which made the model unloadable; read clamped, such a model loads again.
  const clamp = (x: unknown) => (typeof x === "number" && Number.isInteger(x) && x > MAX_COUNT ? MAX_COUNT : x);
  const out = { ...md };
  for (const key of ["version", "learns", "tokens_learned"]) {
    if (/^[0-9]{1,16}$/.test(out[key] ?? "")) out[key] = String(clamp(Number(out[key])));
  }
  if (out.learned_words !== undefined) {
    try {
      const lw = JSON.parse(out.learned_words) as Record<string, unknown>;
      const clampAll = (a: unknown) => (Array.isArray(a) ? a.map(clamp) : a);
      out.learned_words = JSON.stringify({
        ...lw,
        clock: clamp(lw.clock),
        uses: clampAll(lw.uses),
        last_use: clampAll(lw.last_use),
      });
    } catch {
      // Not JSON: the reader refuses it as it is.
    }
  }
  return out;
}

/** Each format decodeModel reads, with how its metadata reads as the current format's. */
export const READABLE_FORMATS: Readonly<Record<string, (md: Record<string, string>) => Record<string, string>>> = {
  "edge-rnnlm/1": clampV1Counts,
  [MODEL_FORMAT]: (md) => md,
};

/** The sizes a file's tensor shapes are made of. */
export interface Dims {
  hidden: number;
  /** Ids, learned words included. */
  vocab: number;
  /** Classes of a class-factorized output, the learned words' class included (0: full softmax). */
  classes: number;
  /** Classes the anchor covers: those of the base vocabulary. */
  anchorClasses: number;
  directSize: number;
  /** The phrase memory's ids (markers included) and sentences. */
  memoryIds: number;
  memorySentences: number;
}

/**
 * Parts of a model a file may carry: core always, the others whole or not at all (direct n-gram
 * weights, the anchor of online learning, the phrase memory, who taught its sentences: a part of
 * its own, so files from before subjects were kept still read).
 */
export type Part = "core" | "direct" | "anchor" | "memory" | "subjects";

export interface TensorSpec {
  readonly name: string;
  /** "float": F32 or F16, the writer's choice; "I32": integers. */
  readonly dtype: "float" | "I32";
  readonly part: Part;
  /** Only in a file of a class-factorized model. */
  readonly classOnly: boolean;
  readonly shape: (d: Dims) => number[];
  /** Its values in `m`, or undefined when m lacks its part. */
  readonly read: (m: RnnLm) => Float32Array | Int32Array | undefined;
}

/** U's first `vocab` columns: U itself, or a compact copy when it has room for learned words. */
function inputColumns(m: RnnLm): Float32Array {
  const { hidden: h, vocab: v } = m;
  const stride = inputStride(m);
  if (stride === v) return m.U;
  const out = new Float32Array(h * v);
  for (let i = 0; i < h; i++) out.set(m.U.subarray(i * stride, i * stride + v), i * v);
  return out;
}

/** The phrase memory's sentences (oldest first), undefined when it holds none. */
function remembered(m: RnnLm): readonly Int32Array[] | undefined {
  const s = m.memory?.sentences() ?? [];
  return s.length > 0 ? s : undefined;
}

function concat(parts: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(parts.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/** Every tensor of the format, in the order a file holds them (shapes as in src/model/model.ts). */
export const TENSORS: readonly TensorSpec[] = [
  { name: "U", dtype: "float", part: "core", classOnly: false, shape: (d) => [d.hidden, d.vocab], read: inputColumns },
  { name: "W", dtype: "float", part: "core", classOnly: false, shape: (d) => [d.hidden, d.hidden], read: (m) => m.W },
  { name: "V", dtype: "float", part: "core", classOnly: false, shape: (d) => [d.vocab, d.hidden], read: (m) => m.V },
  {
    name: "C",
    dtype: "float",
    part: "core",
    classOnly: true,
    shape: (d) => [d.classes, d.hidden],
    read: (m) => (m.output.kind === "class" ? m.output.C : undefined),
  },
  {
    name: "D",
    dtype: "float",
    part: "direct",
    classOnly: false,
    shape: (d) => [d.directSize],
    read: (m) => m.direct?.D,
  },
  {
    name: "anchor_W",
    dtype: "float",
    part: "anchor",
    classOnly: false,
    shape: (d) => [d.hidden, d.hidden],
    read: (m) => m.anchor?.W,
  },
  {
    name: "anchor_C",
    dtype: "float",
    part: "anchor",
    classOnly: true,
    shape: (d) => [d.anchorClasses, d.hidden],
    read: (m) => m.anchor?.C,
  },
  {
    name: "class_start",
    dtype: "I32",
    part: "core",
    classOnly: true,
    shape: (d) => [d.classes + 1],
    read: (m) => (m.output.kind === "class" ? m.output.classStart : undefined),
  },
  {
    name: "memory_ids",
    dtype: "I32",
    part: "memory",
    classOnly: false,
    shape: (d) => [d.memoryIds],
    read: (m) => {
      const s = remembered(m);
      return s && concat(s);
    },
  },
  {
    name: "memory_lengths",
    dtype: "I32",
    part: "memory",
    classOnly: false,
    shape: (d) => [d.memorySentences],
    read: (m) => {
      const s = remembered(m);
      return s && Int32Array.from(s, (x) => x.length);
    },
  },
  {
    name: "memory_subjects",
    dtype: "I32",
    part: "subjects",
    classOnly: false,
    shape: (d) => [d.memorySentences],
    read: (m) => remembered(m) && Int32Array.from(m.memory?.subjects() ?? []),
  },
];

/** The tensors a file of this output layer may hold. */
export function tensorsFor(output: "full" | "class"): TensorSpec[] {
  return TENSORS.filter((t) => !t.classOnly || output === "class");
}

/** The dims of `m`'s own file. */
export function dimsOf(m: RnnLm): Dims {
  const s = remembered(m) ?? [];
  return {
    hidden: m.hidden,
    vocab: m.vocab,
    classes: m.output.kind === "class" ? m.output.classes : 0,
    anchorClasses: baseClasses(m),
    directSize: m.direct?.D.length ?? 0,
    memoryIds: s.reduce((n, x) => n + x.length, 0),
    memorySentences: s.length,
  };
}

/**
 * Bytes of the tensors of the largest file `m`'s architecture allows: `learnedWords` learned
 * words (each in U and V, and their class in C), a full phrase memory, every part present; every
 * value 4 bytes (F32 or I32).
 */
export function largestTensorBytes(m: RnnLm, learnedWords: number): number {
  const k = baseClasses(m);
  const dims: Dims = {
    hidden: m.hidden,
    vocab: baseVocab(m) + learnedWords,
    classes: m.output.kind === "class" ? k + 1 : 0,
    anchorClasses: k,
    directSize: m.direct?.D.length ?? 0,
    memoryIds: MEMORY_SENTENCES * MEMORY_MAX_SENTENCE_IDS,
    memorySentences: MEMORY_SENTENCES,
  };
  return tensorsFor(m.output.kind).reduce((n, t) => n + 4 * t.shape(dims).reduce((a, b) => a * b, 1), 0);
}
