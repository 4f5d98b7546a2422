import { describe, expect, it } from "vitest";
import { anchorOf, pullTowardAnchor } from "../../src/model/anchor.ts";
import { cloneModel, initModel } from "../../src/model/init.ts";
import { learnSentence, Workspace } from "../../src/model/lm.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { seededRng } from "../../src/model/rng.ts";

const SENTENCE = [0, 5, 9, 12, 7, 30, 1];
const OPTS = { lr: 0.05, truncate: 4, steps: 1, clipNorm: 5, maxStepNorm: 1 };

function model(output: "full" | "class"): RnnLm {
  const counts = Array.from({ length: 40 }, (_, i) => (i === 0 ? 0 : 100 / i));
  return initModel(
    { vocab: 40, hidden: 12, classStart: output === "class" ? assignClasses(counts, 6) : undefined },
    seededRng(3),
  );
}

const classC = (m: RnnLm) => (m.output.kind === "class" ? m.output.C : new Float32Array(0));
const distance = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - b[i]) ** 2, 0));

describe.each(["full", "class"] as const)("anchor, %s output", (output) => {
  it("is made on first use from the current W and C, and is then kept", () => {
    const m = model(output);
    const a = anchorOf(m);
    expect(a.W).toEqual(m.W);
    expect(a.W).not.toBe(m.W);
    expect(a.C).toEqual(classC(m));
    m.W.fill(0);
    expect(anchorOf(m)).toBe(a);
    expect(a.W.some((x) => x !== 0)).toBe(true);
  });

  it("pulls W and C exactly `strength` of the way back and leaves U and V alone", () => {
    const m = model(output);
    anchorOf(m);
    const moved = cloneModel(m);
    moved.W.forEach((_, i) => (moved.W[i] += 1));
    classC(moved).forEach((_, i) => (classC(moved)[i] -= 2));
    moved.U[0] += 3;
    const [u, v] = [moved.U.slice(), moved.V.slice()];
    pullTowardAnchor(moved, anchorOf(moved), 0.25);
    moved.W.forEach((x, i) => expect(x).toBeCloseTo(m.W[i] + 0.75, 6));
    classC(moved).forEach((x, i) => expect(x).toBeCloseTo(classC(m)[i] - 1.5, 6));
    expect(moved.U).toEqual(u);
    expect(moved.V).toEqual(v);
  });

  it("keeps W near the weights before the first anchored learn while the sentence is still learned", () => {
    const free = model(output);
    const anchored = model(output);
    const start = free.W.slice();
    const ws = new Workspace(free, 16);
    let lastLoss = Infinity;
    for (let i = 0; i < 40; i++) {
      learnSentence(free, SENTENCE, OPTS, ws);
      lastLoss = learnSentence(anchored, SENTENCE, { ...OPTS, anchor: 0.2 }, ws).lossAfter;
    }
    expect(anchored.anchor!.W).toEqual(start);
    expect(free.anchor).toBeUndefined();
    expect(distance(anchored.W, start)).toBeLessThan(0.5 * distance(free.W, start));
    expect(lastLoss).toBeLessThan(learnSentence(model(output), SENTENCE, OPTS, ws).lossBefore * 0.7);
  });

  it("an anchor of 0 or none learns exactly as plain SGD", () => {
    const [a, b] = [model(output), model(output)];
    const ws = new Workspace(a, 16);
    for (let i = 0; i < 5; i++) {
      learnSentence(a, SENTENCE, OPTS, ws);
      learnSentence(b, SENTENCE, { ...OPTS, anchor: 0 }, ws);
    }
    expect(b.W).toEqual(a.W);
    expect(b.V).toEqual(a.V);
  });
});
