/**
 * The Elman RNN language model as plain typed arrays.
 *
 * Layout (all row-major, float32):
 *   U [H x S]  input weights:   U[h * S + v]; the input for word v is column v. The stride
 *              S = U.length / H is the vocabulary's size, or more in a model with room for
 *              learned words (src/model/new-words.ts).
 *   W [H x H]  recurrent:       W[i * H + j]
 *   V [V x H]  output weights:  V[v * H + h]; the score of word v is row v · s.
 *   C [K x H]  class weights (class-factorized output only): C[k * H + h].
 *
 *   D [2^b]    direct n-gram weights (optional): hashed, see src/model/output/direct.ts.
 *
 * Beside the weights, counts: the phrase memory of recently learned sentences
 * (src/model/phrase-memory.ts), which predictions mix with the network's output.
 *
 * Class-factorized output: word ids are ordered so that every class is a
 * contiguous id range, class k holding ids classStart[k] .. classStart[k + 1] - 1.
 */

import { capacityOf, memoryHolding, type Placed, type Placement, placeTensors } from "./kernel-memory.ts";
import type { PhraseMemory } from "./phrase-memory.ts";

export interface FullOutput {
  readonly kind: "full";
}

export interface ClassOutput {
  readonly kind: "class";
  /** Number of classes K. */
  readonly classes: number;
  /** [K + 1] first id of each class; classStart[K] === vocab. */
  readonly classStart: Int32Array;
  /** [V] class of each word id (derived from classStart). */
  readonly wordClass: Int32Array;
  /** [K x H] class score weights. */
  readonly C: Float32Array;
}

export type OutputLayer = FullOutput | ClassOutput;

/** Hashed direct n-gram connections from the history to every output score (src/model/output/direct.ts). */
export interface DirectLayer {
  /** Feature orders: n-grams of 0 (a bias) up to order - 1 previous words. */
  readonly order: number;
  /** The hashed weights; the length is a power of two. */
  readonly D: Float32Array;
  /** A user's personal layer over these shared weights (src/model/personal.ts); absent: none. */
  readonly layer?: DirectDelta;
}

/**
 * Hashed deltas over a shared model's direct weights (src/model/personal.ts): output o of a
 * history also gets delta[(base'(h) + o) mod |delta|], base' being base(h)'s hash masked to the
 * delta's size. Outputs from sharedWords (words) and sharedClasses (classes) on are the user's
 * own: they read the delta only.
 */
export interface DirectDelta {
  /** Power-of-two length. */
  readonly delta: Float32Array;
  readonly sharedWords: number;
  readonly sharedClasses: number;
}

/**
 * Vocabulary slots for words first seen through online learning (src/model/word-slots.ts):
 * slot j is word id base + j. Numbers, not just strings: the slots are part of the model's state.
 */
export interface LearnedWords {
  /** Size of the base vocabulary: the first learned word's id. */
  readonly base: number;
  /** Most slots the model may use. */
  readonly capacity: number;
  /** The word of each used slot. */
  readonly words: string[];
  /** Per used slot: how many learns contained the word, and the learn clock at the latest. */
  readonly uses: number[];
  readonly lastUse: number[];
  /**
   * Per used slot: how many distinct subjects taught the word, up to KNOWN_AFTER, and the first of
   * them (a subject's hash, src/trust/subject.ts): a word one person taught is never learned as
   * itself, so a shared model cannot suggest it (word-slots.ts).
   */
  readonly teachers: number[];
  readonly firstBy: number[];
  /** Learns that went through the slots (the LRU clock). */
  clock: number;
}

/** Base values of W and C that online learning pulls back toward (src/model/anchor.ts). */
export interface Anchor {
  readonly W: Float32Array;
  /** Empty for a full softmax. */
  readonly C: Float32Array;
}

export interface RnnLm {
  readonly vocab: number;
  readonly hidden: number;
  readonly U: Float32Array;
  readonly W: Float32Array;
  readonly V: Float32Array;
  readonly output: OutputLayer;
  readonly direct?: DirectLayer;
  /** Set by the first anchored learn, or loaded with a model file that stores one. */
  anchor?: Anchor;
  /** Present once the model may learn new words; vocab = base + words.length. */
  learned?: LearnedWords;
  /** The recently learned sentences' phrases (src/model/phrase-memory.ts), made by the first learn that remembers. */
  memory?: PhraseMemory;
}

/**
 * Every RnnLm is built here, with its fields always present and always in this order, and every
 * class output by classOutput: V8 then gives all models one hidden class (and class outputs
 * another), so the code the JIT optimized on warmUp's tiny models (lm.ts) stays optimized on the
 * real model rather than deoptimizing in its first requests ("wrong map").
 *
 * The weights the kernels read (U, W, V, C, D) must share one kernel memory (kernel-memory.ts):
 * unless they already do, they are copied into a new one, V and C each with room for `room`
 * floats when asked (learned words, new-words.ts), every other tensor with the room its region
 * already had. So a model built from another's views of its memory shares that memory, and any
 * other model owns a copy.
 */
export function rnnLm(m: RnnLm, room: { V?: number; C?: number } = {}): RnnLm {
  const C = m.output.kind === "class" ? m.output.C : undefined;
  const D = m.direct?.D;
  const tensors = [m.U, m.W, m.V, ...(C ? [C] : []), ...(D ? [D] : [])];
  const home = memoryHolding(m.U);
  if (home && room.V === undefined && room.C === undefined && tensors.every((t) => memoryHolding(t) === home))
    return fields(m, m.U, m.W, m.V, m.output, m.direct);
  const keep = (a: Float32Array, asked?: number): Placement => ({ data: a, capacity: asked ?? capacityOf(a) });
  const placed = placeWeights(m.hidden, {
    U: keep(m.U),
    W: keep(m.W),
    V: keep(m.V, room.V),
    ...(C && { C: keep(C, room.C) }),
    ...(D && { D: keep(D) }),
  });
  const output =
    m.output.kind === "class"
      ? classOutput(m.output.classStart, placed.C!.view, m.vocab, m.output.wordClass)
      : m.output;
  const direct = m.direct && { order: m.direct.order, D: placed.D!.view };
  return fields(m, placed.U.view, placed.W.view, placed.V.view, output, direct);
}

/** The weights the kernels read, by tensor name; C and D when the model has them. */
export interface KernelWeights<T> {
  U: T;
  W: T;
  V: T;
  C?: T;
  D?: T;
}

/**
 * The weights copied (or, for float16, widened) into a new kernel memory, each in a region of
 * its capacity, with the first value of each that is not finite; the scratch is sized for the
 * longest run of rows a kernel scores (V or C, or W).
 */
export function placeWeights(hidden: number, w: KernelWeights<Placement>): KernelWeights<Placed> {
  const names = (["U", "W", "V", "C", "D"] as const).filter((k) => w[k] !== undefined);
  const maxRows = Math.ceil(Math.max(hidden, w.V.capacity / hidden, (w.C?.capacity ?? 0) / hidden));
  const views = placeTensors(
    hidden,
    maxRows,
    names.map((k) => w[k]!),
  );
  return Object.fromEntries(names.map((k, i) => [k, views[i]])) as unknown as KernelWeights<Placed>;
}

function fields(
  m: RnnLm,
  U: Float32Array,
  W: Float32Array,
  V: Float32Array,
  output: OutputLayer,
  direct: DirectLayer | undefined,
): RnnLm {
  return {
    vocab: m.vocab,
    hidden: m.hidden,
    U,
    W,
    V,
    output,
    direct,
    anchor: m.anchor,
    learned: m.learned,
    memory: m.memory,
  };
}

/**
 * About how many bytes a loaded model holds, for sizing caches: its weight arrays and its phrase
 * memory's.
 */
export function footprintBytes(m: RnnLm): number {
  const arrays = [
    m.U,
    m.W,
    m.V,
    m.output.kind === "class" ? m.output.C : undefined,
    m.direct?.D,
    m.anchor?.W,
    m.anchor?.C,
  ];
  let bytes = 0;
  for (const a of arrays) bytes += a?.byteLength ?? 0;
  return bytes + (m.memory?.footprintBytes() ?? 0);
}

/** A class output over `vocab` ids whose classes start at classStart (classStart[K] = vocab). */
export function classOutput(
  classStart: Int32Array,
  C: Float32Array,
  vocab: number,
  wordClass = wordClassOf(classStart, vocab),
): ClassOutput {
  return { kind: "class", classes: classStart.length - 1, classStart, wordClass, C };
}

/** Columns of U: the vocabulary's size, or more when U has room for learned words. */
export function inputStride(m: RnnLm): number {
  return m.U.length / m.hidden;
}

/** Longest n-gram history the direct layer hashes is MAX_DIRECT_ORDER - 1 words. */
export const MAX_DIRECT_ORDER = 6;

/** Every trained weight array by its tensor name (U, W, V, and C and D when the model has them). */
export function weightsOf(m: RnnLm): Record<string, Float32Array> {
  return {
    U: m.U,
    W: m.W,
    V: m.V,
    ...(m.output.kind === "class" && { C: m.output.C }),
    ...(m.direct && { D: m.direct.D }),
  };
}

/** A model's shape as the API reports it; two models with equal shapes can swap weights. */
export interface Architecture {
  /** The base vocabulary's size (learned words not counted). */
  vocab: number;
  hidden: number;
  output: "full" | "class";
  /** 0 for a full softmax. */
  classes: number;
  /** Direct n-gram weights: feature orders and table size, both 0 without them. */
  directOrder: number;
  directSize: number;
  /** Words learned online after the base vocabulary (src/model/word-slots.ts). */
  learnedWords: number;
}

/** Ids before the learned words: the whole vocabulary when there are none. */
export function baseVocab(m: RnnLm): number {
  return m.learned?.base ?? m.vocab;
}

/** Classes of the base vocabulary: all but the learned words' class, when it exists. */
export function baseClasses(m: RnnLm): number {
  if (m.output.kind !== "class") return 0;
  return m.output.classes - (m.vocab > baseVocab(m) ? 1 : 0);
}

export function architectureOf(m: RnnLm): Architecture {
  return {
    vocab: baseVocab(m),
    hidden: m.hidden,
    output: m.output.kind,
    classes: baseClasses(m),
    directOrder: m.direct?.order ?? 0,
    directSize: m.direct?.D.length ?? 0,
    learnedWords: m.vocab - baseVocab(m),
  };
}

/** Derives the word -> class table from class start offsets. */
export function wordClassOf(classStart: Int32Array, vocab: number): Int32Array {
  const wordClass = new Int32Array(vocab);
  for (let k = 0; k + 1 < classStart.length; k++) {
    wordClass.fill(k, classStart[k], classStart[k + 1]);
  }
  return wordClass;
}

/** Checks the invariants every loaded or built model must satisfy. */
export function assertModelShape(m: RnnLm): void {
  const { vocab: n, hidden: h } = m;
  if (!(n > 0 && h > 0)) throw new Error(`bad dims vocab=${n} hidden=${h}`);
  if (!(m.U.length % h === 0 && m.U.length >= h * n))
    throw new Error(`U has ${m.U.length} values, want ${h} x ${n} or more columns`);
  if (m.W.length !== h * h) throw new Error(`W has ${m.W.length} values, want ${h * h}`);
  if (m.V.length !== n * h) throw new Error(`V has ${m.V.length} values, want ${n * h}`);
  if (m.output.kind === "class") {
    const { classes: k, classStart, C } = m.output;
    if (classStart.length !== k + 1 || classStart[0] !== 0 || classStart[k] !== n) {
      throw new Error("classStart must run from 0 to vocab with K + 1 entries");
    }
    for (let i = 0; i < k; i++) {
      if (classStart[i + 1] <= classStart[i]) throw new Error(`class ${i} is empty`);
    }
    if (C.length !== k * h) throw new Error(`C has ${C.length} values, want ${k * h}`);
  }
  if (m.direct) {
    const { order, D } = m.direct;
    if (!(Number.isInteger(order) && order >= 1 && order <= MAX_DIRECT_ORDER))
      throw new Error(`direct order must be 1..${MAX_DIRECT_ORDER}, got ${order}`);
    if (!(D.length > 0 && (D.length & (D.length - 1)) === 0))
      throw new Error(`D has ${D.length} values, want a power of two`);
  }
  if (m.anchor) {
    // The anchor covers the base classes: a learned words' class has none.
    if (m.anchor.W.length !== h * h || m.anchor.C.length !== baseClasses(m) * h)
      throw new Error("the anchor's shapes do not match W and C");
  }
  if (m.learned) {
    const { base, capacity, words, uses, lastUse, teachers, firstBy } = m.learned;
    if (base + words.length !== n)
      throw new Error(`vocab ${n} is not the base ${base} plus ${words.length} learned words`);
    const perSlot = [uses, lastUse, teachers, firstBy];
    if (words.length > capacity || perSlot.some((a) => a.length !== words.length))
      throw new Error("bad learned-word slots");
    if (n > base && m.output.kind === "class" && m.output.classStart[m.output.classes - 1] !== base) {
      throw new Error("the learned words must be the last class");
    }
  }
}
