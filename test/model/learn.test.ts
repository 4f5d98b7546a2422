import { describe, expect, it } from "vitest";
import { cloneModel, initModel } from "../../src/model/init.ts";
import {
  hiddenAfter,
  learnSentence,
  predictNext,
  sentenceGradient,
  sentenceLoss,
  Workspace,
} from "../../src/model/lm.ts";
import { type RnnLm, weightsOf } from "../../src/model/model.ts";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { distribution, useHistory } from "../../src/model/output/index.ts";
import { seededRng } from "../../src/model/rng.ts";
import { sgdStep } from "../../src/model/sgd.ts";

const OPTS = { lr: 0.05, truncate: 4, steps: 1, clipNorm: 5, maxStepNorm: 1 };
const SENTENCE = [0, 5, 9, 12, 7, 30, 1];

type Variant = "full" | "class" | "full+direct" | "class+direct";

function model(variant: Variant, seed = 7): RnnLm {
  const counts = Array.from({ length: 40 }, (_, i) => (i === 0 ? 0 : 100 / i));
  const classStart = variant.startsWith("class") ? assignClasses(counts, 6) : undefined;
  const direct = variant.endsWith("+direct") ? { order: 3, size: 256 } : undefined;
  const rng = seededRng(seed);
  const m = initModel({ vocab: 40, hidden: 12, classStart, direct }, rng);
  // Non-zero direct weights, so they shape the distribution the tests look at.
  if (m.direct) for (let i = 0; i < m.direct.D.length; i++) m.direct.D[i] = 2 * rng() - 1;
  return m;
}

function bytesOf(m: RnnLm): Uint8Array[] {
  const arrays = Object.values(weightsOf(m));
  return arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice());
}

describe.each(["full", "class", "full+direct", "class+direct"] as const)("%s output", (output) => {
  it("learning the same sentence repeatedly lowers its loss", () => {
    const m = model(output);
    const ws = new Workspace(m, 32);
    const losses = [sentenceLoss(m, SENTENCE, ws)];
    for (let i = 0; i < 30; i++) losses.push(learnSentence(m, SENTENCE, OPTS, ws).lossAfter);
    for (let i = 1; i < losses.length; i++) expect(losses[i]).toBeLessThan(losses[i - 1]);
    expect(losses.at(-1)!).toBeLessThan(losses[0] * 0.5);
  });

  it("reports lossBefore as the loss before the update", () => {
    const m = model(output);
    const ws = new Workspace(m, 32);
    const before = sentenceLoss(m, SENTENCE, ws);
    const r = learnSentence(m, SENTENCE, OPTS, ws);
    expect(r.lossBefore).toBeCloseTo(before, 12);
    expect(r.lossAfter).toBeLessThan(r.lossBefore);
    expect(r.applied).toBe(1);
  });

  it("refuses an update that would overflow float32 and leaves the weights bit-identical", () => {
    const m = model(output);
    const ws = new Workspace(m, 32);
    const before = bytesOf(m);
    const r = learnSentence(m, SENTENCE, { ...OPTS, lr: 1e40, clipNorm: Infinity, maxStepNorm: Infinity }, ws);
    expect(r.applied).toBe(0);
    expect(r.last.applied).toBe(false);
    expect(bytesOf(m)).toEqual(before);
  });

  it("refuses a non-finite gradient and leaves the weights bit-identical", () => {
    const m = model(output);
    const ws = new Workspace(m, 32);
    m.U[3 * m.vocab + 9] = Infinity; // column of token 9 in hidden row 3
    const before = bytesOf(m);
    sentenceGradient(m, SENTENCE, 4, ws);
    const r = sgdStep(m, ws.grad, OPTS);
    expect(r.applied).toBe(false);
    expect(bytesOf(m)).toEqual(before);
  });

  it("clips the gradient norm and caps the update norm", () => {
    const m = model(output);
    const ws = new Workspace(m, 32);
    const orig = cloneModel(m);
    sentenceGradient(m, SENTENCE, 4, ws);
    const r = sgdStep(m, ws.grad, { lr: 10, clipNorm: 0.5, maxStepNorm: 0.3 });
    expect(r.applied).toBe(true);
    expect(r.gradNorm).toBeGreaterThan(0.5);
    expect(r.stepNorm).toBeCloseTo(0.3, 9);
    // The step really applied has that norm.
    let sq = 0;
    for (const [a, b] of [
      [m.U, orig.U],
      [m.W, orig.W],
      [m.V, orig.V],
    ] as const)
      for (let i = 0; i < a.length; i++) sq += (a[i] - b[i]) ** 2;
    if (m.output.kind === "class" && orig.output.kind === "class") {
      for (let i = 0; i < m.output.C.length; i++) sq += (m.output.C[i] - orig.output.C[i]) ** 2;
    }
    if (m.direct && orig.direct)
      for (let i = 0; i < m.direct.D.length; i++) sq += (m.direct.D[i] - orig.direct.D[i]) ** 2;
    expect(Math.sqrt(sq)).toBeCloseTo(0.3, 4);
  });

  it("predicts the exact top k of the full distribution", () => {
    const m = model(output, 11);
    const ws = new Workspace(m, 32);
    const prefix = [0, 5, 9];
    const probs = new Float64Array(m.vocab);
    const s = hiddenAfter(m, prefix, prefix.length, ws);
    useHistory(m, prefix, prefix.length - 1, ws.out);
    distribution(m, s, probs, ws.out);
    expect(probs.reduce((a, p) => a + p, 0)).toBeCloseTo(1, 12);
    const allowed = (id: number) => id > 2;
    const expected = Array.from(probs.keys())
      .filter(allowed)
      .sort((a, b) => probs[b] - probs[a] || a - b)
      .slice(0, 7);
    const got = predictNext(m, prefix, 7, allowed, ws);
    expect(got.map((e) => e.id)).toEqual(expected);
    for (const e of got) expect(e.p).toBeCloseTo(probs[e.id], 12);
  });
});

describe("assignClasses", () => {
  it("makes contiguous, non-empty classes of roughly equal mass", () => {
    const counts = Array.from({ length: 1000 }, (_, i) => 1000 / (i + 1));
    const start = assignClasses(counts, 30);
    expect(start.length).toBe(31);
    expect(start[0]).toBe(0);
    expect(start[30]).toBe(1000);
    const total = counts.reduce((a, b) => a + b, 0);
    for (let c = 0; c < 30; c++) {
      expect(start[c + 1]).toBeGreaterThan(start[c]);
      let mass = 0;
      for (let i = start[c]; i < start[c + 1]; i++) mass += counts[i];
      // A class is at most one target share plus the single word that crossed the boundary.
      expect(mass / total).toBeLessThan(1 / 30 + counts[start[c]] / total + 1e-9);
    }
  });

  it("never makes more classes than words", () => {
    expect(Array.from(assignClasses([3, 2, 1], 10))).toEqual([0, 1, 2, 3]);
  });
});
