import { hiddenAfter, type Workspace } from "./lm.ts";
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
import { distribution } from "./output/index.ts";
import { useHistory } from "./output/index.ts";
import type { DirectScores } from "./output/direct.ts";
import { softmaxRows } from "./output/rows.ts";
import { PhraseMemory } from "./phrase-memory.ts";
import { UNK } from "./vocab.ts";

/**
 * A user's personal layer over one shared model (docs/personal.md). The shared model is read, never
 * written; the layer holds what the user's learns changed:
 *
 *   delta [2^b]  hashed deltas of the direct n-gram weights: output o of history h scores
 *                shared(o | h) + delta[(hash(h) + o) mod 2^b] (src/model/output/direct.ts), the
 *                same n-gram features the shared model has, in a table of the user's size;
 *   learned      the user's own words: ids base .. base + n - 1 after the shared base vocabulary,
 *                one class of their own; their input is <unk>'s column, their output row of V
 *                zero and their class row the rarest base class's, all fixed in the shared base,
 *                so a word's own scores are its deltas alone;
 *   memory       the phrase memory of the user's learned sentences (phrase-memory.ts).
 *
 * Learning is gradient descent on the delta only: the states do not depend on it, so a learn
 * runs the recurrence once and then the two softmaxes per position, with no BPTT. What was
 * measured against what (the network's full step, bigger and smaller tables, no own words, no
 * memory) is in docs/personal.md.
 */

/** The layer's delta table: 2^DELTA_BITS floats (chosen with npm run adapt-bench -- --personal, docs/personal.md). */
export const DELTA_BITS = 13;

/** Delta sizes a layer file may have. */
export const MIN_DELTA_BITS = 10;
export const MAX_DELTA_BITS = 16;

export interface PersonalLayer {
  /** [2^b] hashed deltas over the shared direct weights. */
  readonly delta: Float32Array;
  /** The user's own words (base = the shared base vocabulary's size). */
  readonly learned: LearnedWords;
  /** Always present (empty at first), so every view of the layer reads the one memory its learns fill. */
  readonly memory: PhraseMemory;
}

/** An empty layer over a shared model whose base vocabulary has `base` ids. */
export function emptyLayer(base: number, capacity: number, bits = DELTA_BITS): PersonalLayer {
  return {
    delta: new Float32Array(2 ** bits),
    learned: { base, capacity, words: [], uses: [], lastUse: [], teachers: [], firstBy: [], clock: 0 },
    memory: new PhraseMemory(),
  };
}

/**
 * The shared model as every personal layer over it reads it, made once per shared version (per
 * isolate or writer): its base vocabulary only (the words the shared model learned online are
 * other people's), with room for `capacity` own words: U's extra columns hold <unk>'s column,
 * V's extra rows are zero and C has one more row, the rarest base class's. Nothing writes it
 * afterwards, so any number of layers share it.
 */
export function personalBase(shared: RnnLm, capacity: number): RnnLm {
  if (!shared.direct) throw new Error("a personal layer needs a model with direct weights");
  const h = shared.hidden;
  const base = baseVocab(shared);
  const stride = base + capacity;
  const from = inputStride(shared);
  const U = new Float32Array(h * stride);
  for (let i = 0; i < h; i++) {
    const row = U.subarray(i * stride, (i + 1) * stride);
    row.set(shared.U.subarray(i * from, i * from + base));
    row.fill(shared.U[i * from + UNK], base);
  }
  let output: OutputLayer = shared.output;
  let cRoom = 0;
  if (shared.output.kind === "class") {
    const k = baseClasses(shared);
    const C = new Float32Array((k + 1) * h);
    C.set(shared.output.C.subarray(0, k * h));
    C.copyWithin(k * h, (k - 1) * h, k * h);
    output = classOutput(shared.output.classStart.slice(0, k + 1), C, base);
    cRoom = (k + 1) * h;
  }
  // rnnLm places the tensors in one kernel memory (kernel-memory.ts), V with room for a zero row
  // per own word and C with the own class's row; personalView's views reach into that room.
  const pbase = rnnLm(
    {
      vocab: base,
      hidden: h,
      U,
      W: shared.W,
      V: shared.V.subarray(0, base * h),
      output,
      direct: { order: shared.direct.order, D: shared.direct.D },
    },
    { V: stride * h, ...(cRoom > 0 && { C: cRoom }) },
  );
  if (pbase.output.kind !== "class") return pbase;
  // The base's C shows the base classes; the own class's row follows them in its region.
  const placed = pbase.output.C;
  const baseRows = new Float32Array(placed.buffer, placed.byteOffset, pbase.output.classes * h);
  return rnnLm({ ...pbase, output: classOutput(pbase.output.classStart, baseRows, base) });
}

/** Own words the base model has room for. */
export function roomOf(pbase: RnnLm): number {
  return pbase.U.length / pbase.hidden - pbase.vocab;
}

/**
 * The model a user's predictions and learns run on: personalBase's buffers, viewed over the base
 * vocabulary plus the layer's words, with the layer's deltas in the direct scores and its memory.
 * Cheap (no copy): make it again whenever the layer's word count changes.
 */
export function personalView(pbase: RnnLm, layer: PersonalLayer): RnnLm {
  const base = pbase.vocab;
  const own = layer.learned.words.length;
  if (own > roomOf(pbase)) throw new Error(`${own} own words exceed the base's room of ${roomOf(pbase)}`);
  const h = pbase.hidden;
  const vocab = base + own;
  const V = new Float32Array(pbase.V.buffer, pbase.V.byteOffset, vocab * h);
  let output: OutputLayer = pbase.output;
  const shared = pbase.output;
  if (shared.kind === "class" && own > 0) {
    const k = shared.classes;
    const classStart = Int32Array.from([...shared.classStart, vocab]);
    output = classOutput(classStart, new Float32Array(shared.C.buffer, shared.C.byteOffset, (k + 1) * h), vocab);
  }
  const direct = pbase.direct && {
    order: pbase.direct.order,
    D: pbase.direct.D,
    layer: { delta: layer.delta, sharedWords: base, sharedClasses: shared.kind === "class" ? shared.classes : 0 },
  };
  return rnnLm({ ...pbase, vocab, V, output, direct, learned: layer.learned, memory: layer.memory });
}

/** The view with every own-word slot in use: a Workspace made on it fits every view of pbase. */
export function widestView(pbase: RnnLm): RnnLm {
  const room = roomOf(pbase);
  const words = Array.from({ length: room }, (_, i) => `w${i}`);
  const layer = emptyLayer(pbase.vocab, room, 0);
  layer.learned.words.push(...words);
  return personalView(pbase, layer);
}

/** Sparse accumulator of a gradient over a layer's delta: the values and which entries are set. */
export class LayerGradient {
  readonly values: Float64Array;
  readonly touched: Int32Array;
  private readonly marked: Uint8Array;
  count = 0;

  constructor(size: number) {
    this.values = new Float64Array(size);
    this.touched = new Int32Array(size);
    this.marked = new Uint8Array(size);
  }

  add(i: number, v: number): void {
    if (this.marked[i] === 0) {
      this.marked[i] = 1;
      this.touched[this.count++] = i;
    }
    this.values[i] += v;
  }

  reset(): void {
    for (let j = 0; j < this.count; j++) {
      const i = this.touched[j];
      this.values[i] = 0;
      this.marked[i] = 0;
    }
    this.count = 0;
  }
}

/**
 * Scales of the gradient: `base` for the shared outputs' deltas, `own` for the user's words and
 * their class; the bias feature's (n = 0, no history) are further scaled by `bias`.
 */
export interface LayerRates {
  readonly base: number;
  readonly own: number;
  readonly bias: number;
}

/**
 * Gradient of the sentence's summed cross-entropy with respect to the view's delta, each entry's
 * term scaled by its output's rate, into g (reset first). Returns the mean loss.
 *
 * In the forward pass the score of output o at a position was z_o = w_o · s + Σ_n D[..] +
 * Σ_n delta[(b'_n + o) mod |delta|], so dL/d delta[(b'_n + o) mod |delta|] += p_o − [o = target],
 * for the class scores (class-factorized: over every class) and the target class's words.
 */
export function layerGradient(
  m: RnnLm,
  ids: ArrayLike<number>,
  ws: Workspace,
  g: LayerGradient,
  rates: LayerRates,
): number {
  const layer = m.direct?.layer;
  if (!layer) throw new Error("the model has no personal layer");
  const steps = ids.length - 1;
  g.reset();
  hiddenAfter(m, ids, steps, ws);
  const x = ws.out;
  let loss = 0;
  for (let t = 0; t < steps; t++) {
    const y = ids[t + 1];
    const s = ws.states[t + 1];
    useHistory(m, ids, t, x);
    if (m.output.kind === "class") {
      const { C, classes, classStart, wordClass } = m.output;
      const c = wordClass[y];
      const from = classStart[c];
      const to = classStart[c + 1];
      softmaxRows(C, 0, classes, s, x.classProbs, x.classDirect);
      softmaxRows(m.V, from, to, s, x.probs, x.wordDirect);
      loss -= Math.log(x.classProbs[c]) + Math.log(x.probs[y - from]);
      addErrors(g, x.classDirect, 0, classes, x.classProbs, c, layer.sharedClasses, rates);
      addErrors(g, x.wordDirect, from, to, x.probs, y, layer.sharedWords, rates);
    } else {
      distribution(m, s, x.probs, x);
      loss -= Math.log(x.probs[y]);
      addErrors(g, x.wordDirect, 0, m.vocab, x.probs, y, layer.sharedWords, rates);
    }
  }
  return loss / steps;
}

/** Adds rate(o) · (probs[o − from] − [o = target]) to each delta entry of outputs from .. to − 1. */
function addErrors(
  g: LayerGradient,
  x: DirectScores,
  from: number,
  to: number,
  probs: Float64Array,
  target: number,
  own: number,
  rates: LayerRates,
): void {
  const mask = x.P.length - 1;
  for (let n = 0; n < x.count; n++) {
    const base = x.layerBases[n] + from;
    const scale = n === 0 ? rates.bias : 1;
    for (let i = 0; i < to - from; i++) {
      const o = from + i;
      const e = o === target ? probs[i] - 1 : probs[i];
      g.add((base + i) & mask, scale * (o >= own ? rates.own : rates.base) * e);
    }
  }
}

export interface PersonalLearnOptions {
  /** Step on the shared outputs' deltas. */
  readonly rate: number;
  /** Step on the user's own words' deltas (and their class's). */
  readonly ownRate: number;
  /** Scale of both steps on the bias feature (no history). */
  readonly biasScale: number;
  /** The step's norm is clipped to this. */
  readonly maxStepNorm: number;
  /** Add the sentence to the layer's phrase memory. */
  readonly remember: boolean;
}

export interface PersonalLearnOutcome {
  lossBefore: number;
  /** False when the step was not finite: the layer is unchanged. */
  applied: boolean;
  stepNorm: number;
}

/**
 * One learn into the layer the view reads (personalView): a clipped gradient step on its delta,
 * then the sentence into its memory. The shared model is only read.
 */
export function learnPersonal(
  view: RnnLm,
  layer: PersonalLayer,
  ids: ArrayLike<number>,
  opts: PersonalLearnOptions,
  ws: Workspace,
  g: LayerGradient,
): PersonalLearnOutcome {
  if (view.direct?.layer?.delta !== layer.delta) throw new Error("the view does not read this layer");
  const lossBefore = layerGradient(view, ids, ws, g, { base: opts.rate, own: opts.ownRate, bias: opts.biasScale });
  let sq = 0;
  for (let j = 0; j < g.count; j++) sq += g.values[g.touched[j]] ** 2;
  const norm = Math.sqrt(sq);
  if (!Number.isFinite(norm)) return { lossBefore, applied: false, stepNorm: norm };
  const scale = norm > opts.maxStepNorm ? opts.maxStepNorm / norm : 1;
  const { delta } = layer;
  for (let j = 0; j < g.count; j++) {
    const i = g.touched[j];
    delta[i] -= scale * g.values[i];
  }
  if (opts.remember) layer.memory.add(ids);
  return { lossBefore, applied: true, stepNorm: norm * scale };
}

/** A copy of the layer that shares nothing with it. */
export function cloneLayer(layer: PersonalLayer): PersonalLayer {
  const { base, capacity, words, uses, lastUse, teachers, firstBy, clock } = layer.learned;
  return {
    delta: layer.delta.slice(),
    learned: {
      base,
      capacity,
      words: [...words],
      uses: [...uses],
      lastUse: [...lastUse],
      teachers: [...teachers],
      firstBy: [...firstBy],
      clock,
    },
    memory: layer.memory.clone(),
  };
}
