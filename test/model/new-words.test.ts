import { describe, expect, it } from "vitest";
import { cloneModel, initModel } from "../../src/model/init.ts";
import { type LearnOptions, learnedWordsStep, learnSentence, sentenceLoss, Workspace } from "../../src/model/lm.ts";
import { assertModelShape, baseClasses, baseVocab, inputStride, type RnnLm, weightsOf } from "../../src/model/model.ts";
import { withLearnedCount, withWordSlots } from "../../src/model/new-words.ts";
import { DirectScores, setHistory } from "../../src/model/output/direct.ts";
import { fillUniform, seededRng } from "../../src/model/rng.ts";
import { UNK } from "../../src/model/vocab.ts";
import { decodeModel, encodeModel } from "../../src/store/model-codec.ts";
import { tinyModel, tinyVocab } from "../helpers/tiny-model.ts";
import { sampleMeta } from "../store/fixtures.ts";

const BASE = tinyVocab().words.length;
const OPTS = { lr: 0.05, truncate: 4, steps: 1, clipNorm: 5, maxStepNorm: 1 };

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Column `id` of U, read with the model's own stride. */
function column(m: RnnLm, id: number): number[] {
  const stride = inputStride(m);
  return Array.from({ length: m.hidden }, (_, i) => m.U[i * stride + id]);
}

function row(a: Float32Array, r: number, h: number): number[] {
  return Array.from(a.subarray(r * h, (r + 1) * h));
}

function classC(m: RnnLm): Float32Array {
  if (m.output.kind !== "class") throw new Error("want class output");
  return m.output.C;
}

/** The model with `words` as its learned words (their slots' bookkeeping filled in as admitWords would). */
function withWords(m: RnnLm, words: string[]): RnnLm {
  const out = withLearnedCount(m, words.length);
  const learned = out.learned!;
  for (const w of words) {
    learned.words.push(w);
    learned.uses.push(2);
    learned.lastUse.push(learned.clock);
    learned.teachers.push(2);
    learned.firstBy.push(0);
  }
  return out;
}

/** Fills every float of the buffer after the view `a` (the spare room of withWordSlots) with `value`. */
function fillRoom(a: Float32Array, value: number): void {
  new Float32Array(a.buffer, a.byteOffset + a.byteLength).fill(value);
}

describe("withWordSlots", () => {
  it("keeps every weight and every loss of the model it copies", () => {
    const m = tinyModel(3);
    const slots = withWordSlots(m, 4);
    expect(inputStride(slots)).toBe(BASE + 4);
    expect(slots.vocab).toBe(BASE);
    expect(slots.learned).toEqual({
      base: BASE,
      capacity: 4,
      words: [],
      uses: [],
      lastUse: [],
      teachers: [],
      firstBy: [],
      clock: 0,
    });
    for (let id = 0; id < BASE; id++) expect(column(slots, id)).toEqual(column(m, id));
    expect(bits(slots.V)).toEqual(bits(m.V));
    expect(bits(classC(slots))).toEqual(bits(classC(m)));
    const ids = [0, 5, 9, 12, 7, 30, 1];
    expect(sentenceLoss(slots, ids, new Workspace(slots, 8))).toBe(sentenceLoss(m, ids, new Workspace(m, 8)));
    assertModelShape(slots);
  });
});

describe("withLearnedCount", () => {
  it.each([1, 2])("adds %i learned words: <unk>'s input column, a zero output row, one last class", (count) => {
    const slots = withWordSlots(tinyModel(3), 4);
    const h = slots.hidden;
    const k = baseClasses(slots);
    // Garbage in the spare room, so a word that is not initialised shows it.
    const stride = inputStride(slots);
    for (let i = 0; i < h; i++) slots.U.fill(9, i * stride + BASE, (i + 1) * stride);
    fillRoom(slots.V, 7);
    fillRoom(classC(slots), 5);
    const cBefore = classC(slots).slice();

    const m = withWords(slots, ["zorp", "quux"].slice(0, count));
    expect(m.vocab).toBe(BASE + count);
    expect(baseVocab(m)).toBe(BASE);
    expect(baseClasses(m)).toBe(k);
    assertModelShape(m);
    for (let id = BASE; id < BASE + count; id++) {
      expect(column(m, id)).toEqual(column(m, UNK));
      expect(row(m.V, id, h)).toEqual(new Array(h).fill(0));
    }
    if (m.output.kind !== "class" || slots.output.kind !== "class") throw new Error("want class output");
    expect(m.output.classes).toBe(k + 1);
    expect(Array.from(m.output.classStart.subarray(0, k))).toEqual(Array.from(slots.output.classStart.subarray(0, k)));
    expect(Array.from(m.output.classStart.subarray(k))).toEqual([BASE, BASE + count]);
    expect(Array.from(m.output.wordClass.subarray(BASE))).toEqual(new Array(count).fill(k));
    expect(Array.from(m.output.wordClass.subarray(0, BASE))).toEqual(Array.from(slots.output.wordClass));
    expect(bits(m.output.C.subarray(0, k * h))).toEqual(bits(cBefore));
    expect(row(m.output.C, k, h)).toEqual(row(m.output.C, k - 1, h));
  });

  it("shares its buffers with the model it grew from, which stays a valid model of the base ids", () => {
    const slots = withWordSlots(tinyModel(3), 4);
    const m = withLearnedCount(slots, 1);
    expect(m.U).toBe(slots.U);
    expect(m.V.buffer).toBe(slots.V.buffer);
    expect(m.V.byteOffset).toBe(slots.V.byteOffset);
    expect(classC(m).buffer).toBe(classC(slots).buffer);
    expect(m.W).toBe(slots.W);
    expect(m.direct?.D).toBe(slots.direct?.D);
    const ids = [0, 5, 9, 12, 7, 30, 1];
    const before = sentenceLoss(slots, ids, new Workspace(slots, 8));
    // Writes through the grown model are the old model's weights.
    m.U[3 * inputStride(m) + 9] = 1.5;
    m.V[12 * m.hidden + 2] = -2.5;
    classC(m)[1] = 0.75;
    m.W[4] = 0.5;
    expect(slots.U[3 * inputStride(slots) + 9]).toBe(1.5);
    expect(slots.V[12 * slots.hidden + 2]).toBe(-2.5);
    expect(classC(slots)[1]).toBe(0.75);
    expect(sentenceLoss(slots, ids, new Workspace(slots, 8))).not.toBe(before);
    expect(slots.vocab).toBe(BASE);
    expect(slots.V.length).toBe(BASE * slots.hidden);
    expect(slots.output.kind === "class" && slots.output.classes).toBe(baseClasses(m));
    assertModelShape(slots);
  });

  it("grows in place: a second word is a new view of the same buffers and keeps the first word's weights", () => {
    const slots = withWordSlots(tinyModel(3), 4);
    const one = withLearnedCount(slots, 1);
    const h = one.hidden;
    const k = baseClasses(one);
    one.U[2 * inputStride(one) + BASE] = 3.25;
    one.V[BASE * h + 1] = 4.5;
    classC(one)[k * h] = -6;
    const two = withLearnedCount(one, 2);
    expect(two.U).toBe(one.U);
    expect(two.V.buffer).toBe(one.V.buffer);
    expect(two.V.byteOffset).toBe(one.V.byteOffset);
    expect(classC(two).buffer).toBe(classC(one).buffer);
    // The first learned word is not started afresh, nor the learned class's row recopied.
    expect(two.U[2 * inputStride(two) + BASE]).toBe(3.25);
    expect(two.V[BASE * h + 1]).toBe(4.5);
    expect(classC(two)[k * h]).toBe(-6);
    expect(column(two, BASE + 1)).toEqual(column(two, UNK));
    expect(row(two.V, BASE + 1, h)).toEqual(new Array(h).fill(0));
  });

  it("refuses more words than the slots hold, and a model without slots", () => {
    const slots = withWordSlots(tinyModel(3), 3);
    expect(() => withLearnedCount(slots, 4)).toThrow(/no slot for 4/);
    expect(() => withLearnedCount(tinyModel(3), 1)).toThrow(/no slot/);
    expect(withLearnedCount(slots, 3).vocab).toBe(BASE + 3);
  });

  it("never takes a decoded file's bytes after V for room", () => {
    const rng = seededRng(4);
    const trained = withWords(withWordSlots(tinyModel(3), 4), ["zorp", "quux"]);
    fillUniform(trained.direct!.D, 0.5, rng);
    fillUniform(trained.V.subarray(BASE * trained.hidden), 0.5, rng);
    const bytes = encodeModel(trained, sampleMeta());
    const { model: decoded } = decodeModel(bytes);
    const file = new Uint8Array(decoded.V.buffer);
    // V is a view into the model's kernel memory, with C right after it (regions are 16-byte aligned).
    expect(classC(decoded).buffer).toBe(decoded.V.buffer);
    const vEnd = decoded.V.byteOffset + decoded.V.byteLength;
    expect(classC(decoded).byteOffset - vEnd).toBeGreaterThanOrEqual(0);
    expect(classC(decoded).byteOffset - vEnd).toBeLessThan(16);
    const fileBefore = file.slice();
    const weightsBefore = Object.fromEntries(Object.entries(weightsOf(decoded)).map(([k, a]) => [k, bits(a)]));

    const grown = withLearnedCount(decoded, 3);
    expect(Array.from(file)).toEqual(Array.from(fileBefore));
    for (const [k, a] of Object.entries(weightsOf(decoded))) expect(bits(a), k).toEqual(weightsBefore[k]);
    assertModelShape(decoded);
    assertModelShape({
      ...grown,
      learned: {
        ...grown.learned!,
        words: ["zorp", "quux", "new"],
        uses: [2, 2, 1],
        lastUse: [0, 0, 0],
        teachers: [2, 2, 1],
        firstBy: [0, 0, 0],
      },
    });
    const h = grown.hidden;
    expect(grown.vocab).toBe(BASE + 3);
    for (let id = 0; id < BASE + 2; id++) {
      expect(column(grown, id)).toEqual(column(decoded, id));
      expect(row(grown.V, id, h)).toEqual(row(decoded.V, id, h));
    }
    expect(column(grown, BASE + 2)).toEqual(column(grown, UNK));
    expect(row(grown.V, BASE + 2, h)).toEqual(new Array(h).fill(0));
    expect(bits(classC(grown))).toEqual(bits(classC(decoded)));
  });

  it("never takes a decoded file's bytes after V or C for room, even when U has room", () => {
    const trained = withWords(withWordSlots(tinyModel(3), 4), ["zorp", "quux"]);
    fillUniform(trained.direct!.D, 0.5, seededRng(4));
    const { model: decoded } = decodeModel(encodeModel(trained, sampleMeta()));
    // U with room for every slot, while V and C stay views into the file (C and D follow them).
    const h = decoded.hidden;
    const U = new Float32Array(h * (BASE + 4));
    for (let i = 0; i < h; i++) U.set(decoded.U.subarray(i * decoded.vocab, (i + 1) * decoded.vocab), i * (BASE + 4));
    const roomyU: RnnLm = { ...decoded, U };
    const file = new Uint8Array(decoded.V.buffer);
    const fileBefore = file.slice();

    const grown = withLearnedCount(roomyU, 4);
    expect(Array.from(file)).toEqual(Array.from(fileBefore));
    expect(grown.V.buffer).not.toBe(decoded.V.buffer);
    expect(classC(grown).buffer).not.toBe(classC(decoded).buffer);
    for (let id = BASE + 2; id < BASE + 4; id++) {
      expect(column(grown, id)).toEqual(column(grown, UNK));
      expect(row(grown.V, id, h)).toEqual(new Array(h).fill(0));
    }
    expect(bits(grown.V.subarray(0, decoded.V.length))).toEqual(bits(decoded.V));
  });
});

// ---------------------------------------------------------------------------------------------
// learnedWordsStep

/** A table large enough that the features one sentence reads do not collide. */
const BIG_DIRECT = { order: 3, size: 1 << 20 };

function learnedModel(output: "class" | "full", direct = BIG_DIRECT, seed = 5): RnnLm {
  const rng = seededRng(seed);
  const base = output === "class" ? tinyModel(seed, 8, direct) : initModel({ vocab: BASE, hidden: 8, direct }, rng);
  const m = withWords(withWordSlots(base, 4), ["zorp", "quux"]);
  // Non-zero learned rows and direct weights, so no distribution is uniform.
  fillUniform(m.V.subarray(BASE * m.hidden), 0.5, rng);
  fillUniform(m.direct!.D, 0.1, rng);
  return m;
}

/** The D entries learnedWordsStep may move: the learned outputs' features of order >= 1 in the sentence's contexts. */
function learnedFeatures(m: RnnLm, ids: number[]): Set<number> {
  const direct = m.direct!;
  const mask = direct.D.length - 1;
  const words = new DirectScores(direct.order);
  const classes = new DirectScores(direct.order);
  const out = new Set<number>();
  for (let t = 0; t + 1 < ids.length; t++) {
    setHistory(direct, ids, t, words, classes);
    const learnedTarget = ids[t + 1] >= BASE;
    for (let n = 1; n < words.count; n++) {
      if (m.output.kind === "class") out.add((classes.bases[n] + m.output.classes - 1) & mask);
      if (m.output.kind === "full" || learnedTarget)
        for (let o = BASE; o < m.vocab; o++) out.add((words.bases[n] + o) & mask);
    }
  }
  return out;
}

/** d/dD[i] of the sentence's summed ln P, by central differences on the model's own loss. */
function numericDerivative(m: RnnLm, ids: number[], i: number, ws: Workspace): number {
  const D = m.direct!.D;
  const orig = D[i];
  const steps = ids.length - 1;
  const logLik = (delta: number): [number, number] => {
    D[i] = orig + delta;
    const moved = D[i] - orig;
    const l = -steps * sentenceLoss(m, ids, ws);
    D[i] = orig;
    return [l, moved];
  };
  const [plus, up] = logLik(1e-3);
  const [minus, down] = logLik(-1e-3);
  return (plus - minus) / (up - down);
}

const RATE = 1e-4;

/** Applies learnedWordsStep to a clone; checks what moved, and that each move is RATE times the gradient. */
function checkStep(m: RnnLm, ids: number[]): { changed: number[]; before: Float32Array; after: Float32Array } {
  const stepped = cloneModel(m);
  learnedWordsStep(stepped, ids, BASE, RATE, new Workspace(stepped, 16));
  for (const k of ["U", "W", "V", "C"] as const) {
    const a = weightsOf(m)[k];
    if (a) expect(bits(weightsOf(stepped)[k]), k).toEqual(bits(a));
  }
  const before = m.direct!.D;
  const after = stepped.direct!.D;
  const changed: number[] = [];
  for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) changed.push(i);
  expect(new Set(changed)).toEqual(learnedFeatures(m, ids));

  const probe = cloneModel(m);
  const ws = new Workspace(probe, 16);
  for (const i of changed) {
    const step = (after[i] - before[i]) / RATE;
    const numeric = numericDerivative(probe, ids, i, ws);
    // Float32 rounding of D[i] + step costs ~1e-4 absolute; the rest is second order in RATE.
    expect(Math.abs(step - numeric), `D[${i}]: ${step} vs ${numeric}`).toBeLessThan(2e-4 + 1e-3 * Math.abs(numeric));
  }
  return { changed, before, after };
}

describe.each(["class", "full"] as const)("learnedWordsStep, %s output", (output) => {
  it("is a gradient ascent step on ln P in the learned outputs' context features of D", () => {
    const m = learnedModel(output);
    const ids = [0, 5, BASE, 9, BASE + 1, 12, BASE, 7, 1];
    const { changed } = checkStep(m, ids);
    // 8 positions, of 2 context orders but 1 at <s>: 15 contexts, 14 distinct ("zorp" is read twice).
    // The learned class's feature in each; both learned words' where one is the target (3 positions).
    expect(changed.length).toBe(output === "class" ? 14 + 3 * 2 * 2 : 14 * 2);
  });

  it("with only base words as targets, pushes the learned outputs down and leaves every V row alone", () => {
    const m = learnedModel(output);
    const ids = [0, 5, 9, 12, 7, 30, 1];
    const { changed, before, after } = checkStep(m, ids);
    // 6 positions: 11 contexts of order 1 or 2.
    expect(changed.length).toBe(output === "class" ? 11 : 11 * 2);
    for (const i of changed) expect(after[i]).toBeLessThan(before[i]);
  });

  it("moves nothing in a model without direct weights", () => {
    const m = withWords(
      withWordSlots(
        output === "class" ? tinyModel(5, 8, null) : initModel({ vocab: BASE, hidden: 8 }, seededRng(5)),
        4,
      ),
      ["zorp"],
    );
    const stepped = cloneModel(m);
    learnedWordsStep(stepped, [0, 5, BASE, 9, 1], BASE, 0.5, new Workspace(stepped, 8));
    for (const [k, a] of Object.entries(weightsOf(m))) expect(bits(weightsOf(stepped)[k]), k).toEqual(bits(a));
  });
});

// ---------------------------------------------------------------------------------------------
// learnSentence's newWordRate

function allBits(m: RnnLm): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, a] of Object.entries(weightsOf(m))) out[k] = bits(a);
  return out;
}

function learned(m: RnnLm, ids: number[], opts: LearnOptions): RnnLm {
  const c = cloneModel(m);
  learnSentence(c, ids, opts, new Workspace(c, 16));
  return c;
}

describe.each(["class", "full"] as const)("learnSentence with a newWordRate, %s output", (output) => {
  const ids = [0, 5, BASE, 9, BASE + 1, 12, 1];
  // Collisions do not matter here: a small table keeps the clones cheap.
  const model = () => learnedModel(output, { order: 3, size: 4096 });

  it("follows the SGD step with learnedWordsStep at that rate", () => {
    const m = model();
    const withRate = learned(m, ids, { ...OPTS, newWordRate: 0.3 });
    const expected = learned(m, ids, OPTS);
    learnedWordsStep(expected, ids, BASE, 0.3, new Workspace(expected, 16));
    expect(allBits(withRate)).toEqual(allBits(expected));
    expect(allBits(withRate).D).not.toEqual(allBits(learned(m, ids, OPTS)).D);
  });

  it.each([0, -0.5, NaN, Infinity, undefined])("takes no fast step at rate %s", (rate) => {
    const m = model();
    const got = learned(m, ids, { ...OPTS, newWordRate: rate });
    expect(allBits(got)).toEqual(allBits(learned(m, ids, OPTS)));
    for (const a of Object.values(weightsOf(got))) expect(a.every(Number.isFinite)).toBe(true);
  });

  it("takes no fast step in a model without learned words", () => {
    const rng = seededRng(6);
    const base =
      output === "class"
        ? tinyModel(6, 8)
        : initModel({ vocab: BASE, hidden: 8, direct: { order: 3, size: 1024 } }, rng);
    fillUniform(base.direct!.D, 0.1, rng);
    for (const m of [base, withWordSlots(base, 4)]) {
      const plain = [0, 5, 9, 12, 7, 1];
      expect(allBits(learned(m, plain, { ...OPTS, newWordRate: 0.5 }))).toEqual(allBits(learned(m, plain, OPTS)));
    }
  });

  it("takes no fast step when the SGD step was refused", () => {
    const m = model();
    const got = cloneModel(m);
    const r = learnSentence(
      got,
      ids,
      { ...OPTS, lr: 1e40, clipNorm: Infinity, maxStepNorm: Infinity, newWordRate: 0.5 },
      new Workspace(got, 16),
    );
    expect(r.applied).toBe(0);
    expect(allBits(got)).toEqual(allBits(m));
  });

  it("learns in a U with room for more words exactly as in a compact U", () => {
    const m = model();
    expect(inputStride(m)).toBeGreaterThan(m.vocab);
    const compact: RnnLm = { ...cloneModel(m), U: new Float32Array(m.hidden * m.vocab) };
    for (let i = 0; i < m.hidden; i++)
      for (let v = 0; v < m.vocab; v++) compact.U[i * m.vocab + v] = m.U[i * inputStride(m) + v];
    const opts = { ...OPTS, steps: 3, newWordRate: 0.5 };
    const a = learned(m, ids, opts);
    const b = learned(compact, ids, opts);
    for (let v = 0; v < m.vocab; v++) expect(column(a, v), `U column ${v}`).toEqual(column(b, v));
    const { U: _ua, ...restA } = allBits(a);
    const { U: _ub, ...restB } = allBits(b);
    expect(restA).toEqual(restB);
    expect(allBits(a).V).not.toEqual(allBits(m).V);
  });
});
