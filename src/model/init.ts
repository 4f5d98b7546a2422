import { classOutput, type OutputLayer, type RnnLm, rnnLm } from "./model.ts";
import { fillUniform, type Rng } from "./rng.ts";

export interface ModelSpec {
  vocab: number;
  hidden: number;
  /** Class start offsets for a class-factorized output; omit for a full softmax. */
  classStart?: Int32Array;
  /** Direct n-gram connections: feature orders and hashed table size (a power of two); omit for none. */
  direct?: { order: number; size: number };
}

/** A freshly initialised model: uniform weights scaled by 1/sqrt(fan-in), as in the classic tutorial. */
export function initModel(spec: ModelSpec, rng: Rng): RnnLm {
  const { vocab, hidden } = spec;
  const U = new Float32Array(hidden * vocab);
  const W = new Float32Array(hidden * hidden);
  const V = new Float32Array(vocab * hidden);
  fillUniform(U, 1 / Math.sqrt(vocab), rng);
  fillUniform(W, 1 / Math.sqrt(hidden), rng);
  fillUniform(V, 1 / Math.sqrt(hidden), rng);
  let output: OutputLayer = { kind: "full" };
  if (spec.classStart) {
    const classes = spec.classStart.length - 1;
    const C = new Float32Array(classes * hidden);
    fillUniform(C, 1 / Math.sqrt(hidden), rng);
    output = classOutput(spec.classStart, C, vocab);
  }
  // Zero direct weights: the model starts as the plain RNN, as in the RNNLM toolkit.
  const direct = spec.direct ? { order: spec.direct.order, D: new Float32Array(spec.direct.size) } : undefined;
  return rnnLm({ vocab, hidden, U, W, V, output, direct });
}

/**
 * A deep copy, for snapshots (training, phrase recall, tests); the anchor, never written once
 * made, is shared. The copy has no spare room for learned words (withWordSlots makes it again).
 */
export function cloneModel(m: RnnLm): RnnLm {
  const output: OutputLayer =
    m.output.kind === "full"
      ? m.output
      : classOutput(m.output.classStart, m.output.C.slice(), m.vocab, m.output.wordClass);
  const direct = m.direct && { order: m.direct.order, D: m.direct.D.slice() };
  const learned = m.learned && {
    ...m.learned,
    words: [...m.learned.words],
    uses: [...m.learned.uses],
    lastUse: [...m.learned.lastUse],
    teachers: [...m.learned.teachers],
    firstBy: [...m.learned.firstBy],
  };
  const memory = m.memory?.clone();
  return rnnLm({
    vocab: m.vocab,
    hidden: m.hidden,
    U: m.U.slice(),
    W: m.W.slice(),
    V: m.V.slice(),
    output,
    direct,
    anchor: m.anchor,
    learned,
    memory,
  });
}
