import { capacityOf } from "./kernel-memory.ts";
import {
  baseClasses,
  baseVocab,
  classOutput,
  inputStride,
  type LearnedWords,
  type OutputLayer,
  type RnnLm,
  rnnLm,
} from "./model.ts";
import { UNK } from "./vocab.ts";

/**
 * Learned words in the numerics (docs/adaptation.md): ids base .. base + n - 1 follow the base
 * vocabulary. Each has its own input column of U, started as <unk>'s (the model first reads the
 * word as it read it before it had a slot), and its own output row of V, started at zero; with a
 * class-factorized output they form one class of their own, the last, whose row of C starts as
 * the rarest base class's. The buffers get room for every slot once, so a new word is a new view
 * of them, not a copy of the model.
 */

/**
 * Floats from a's start to the end of its region in the model's kernel memory: a tensor's room
 * is what rnnLm placed it with (withWordSlots below asks for it), never the bytes of the next
 * tensor.
 */
const room = capacityOf;

function hasRoom(m: RnnLm, words: number): boolean {
  const h = m.hidden;
  const total = baseVocab(m) + words;
  const cRoom = m.output.kind === "class" ? room(m.output.C) >= (baseClasses(m) + (words > 0 ? 1 : 0)) * h : true;
  return inputStride(m) >= total && room(m.V) >= total * h && cRoom;
}

/**
 * m with slots for up to `capacity` learned words: U, V and C are copied once into buffers with
 * room for all of them. A model that has slots already keeps them (and their words).
 */
export function withWordSlots(m: RnnLm, capacity: number): RnnLm {
  const learned: LearnedWords = m.learned ?? {
    base: m.vocab,
    capacity,
    words: [],
    uses: [],
    lastUse: [],
    teachers: [],
    firstBy: [],
    clock: 0,
  };
  const withSlots = rnnLm({ ...m, learned });
  if (hasRoom(withSlots, learned.capacity)) return withSlots;
  const h = m.hidden;
  const stride = learned.base + learned.capacity;
  const oldStride = inputStride(m);
  const U = new Float32Array(h * stride);
  for (let i = 0; i < h; i++) U.set(m.U.subarray(i * oldStride, i * oldStride + m.vocab), i * stride);
  return rnnLm({ ...withSlots, U }, { V: stride * h, C: (baseClasses(withSlots) + 1) * h });
}

/**
 * The model whose learned words are the first `count` slots: ids added since m are initialised
 * (see above). Shares every buffer and the slot bookkeeping (m.learned, which admitWords updates
 * in place) with m, so m is superseded: use the returned model from then on.
 */
export function withLearnedCount(model: RnnLm, count: number): RnnLm {
  const learned = model.learned;
  if (!learned || count > learned.capacity) throw new Error(`no slot for ${count} learned words`);
  const m = hasRoom(model, count) ? model : withWordSlots(model, learned.capacity);
  const { base } = learned;
  const h = m.hidden;
  const vocab = base + count;
  const V = new Float32Array(m.V.buffer, m.V.byteOffset, vocab * h);
  let output: OutputLayer = m.output;
  if (m.output.kind === "class") {
    const k = baseClasses(m);
    const classes = k + (count > 0 ? 1 : 0);
    const classStart = Int32Array.from([...m.output.classStart.subarray(0, k + 1), ...(count > 0 ? [vocab] : [])]);
    const C = new Float32Array(m.output.C.buffer, m.output.C.byteOffset, classes * h);
    // The learned class's first word: its row starts as the rarest base class's.
    if (count > 0 && m.vocab === base) C.copyWithin(k * h, (k - 1) * h, k * h);
    output = classOutput(classStart, C, vocab);
  }
  const grownModel = rnnLm({ ...m, vocab, V, output });
  for (let id = m.vocab; id < vocab; id++) resetLearnedWord(grownModel, id);
  return grownModel;
}

/**
 * Starts learned word `id`'s parameters afresh (a new word, or a slot given to another word); the
 * phrase memory remembers the old word as <unk>, so the new one inherits none of its phrases.
 */
export function resetLearnedWord(m: RnnLm, id: number): void {
  const h = m.hidden;
  const stride = inputStride(m);
  for (let i = 0; i < h; i++) m.U[i * stride + id] = m.U[i * stride + UNK];
  m.V.fill(0, id * h, (id + 1) * h);
  m.memory?.forget(id);
}
