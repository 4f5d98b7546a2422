import { describe, expect, it } from "vitest";
import { naiveBptt, naiveForward, naiveLearn, naivePredict } from "../../bench/naive.ts";
import { cloneModel, initModel } from "../../src/model/init.ts";
import { learnSentence, predictNext, sentenceGradient, Workspace } from "../../src/model/lm.ts";
import { seededRng } from "../../src/model/rng.ts";

/** The baseline is only a fair yardstick if it computes what src/model computes. */
describe("naive baseline", () => {
  const SENTENCE = [0, 5, 9, 12, 7, 30, 9, 1];
  // More rows than the packed gradient first makes room for (256), so it grows as it would in use.
  const model = () => initModel({ vocab: 300, hidden: 12 }, seededRng(3));

  it.each([1, 4, 20])("has the gradient of src/model's full softmax at truncation %i", (truncate) => {
    const m = model();
    const ws = new Workspace(m, 16);
    sentenceGradient(m, SENTENCE, truncate, ws);
    const x = SENTENCE.slice(0, -1);
    const g = naiveBptt(m, naiveForward(m, x), x, SENTENCE.slice(1), truncate);
    for (let i = 0; i < g.dW.length; i++) expect(g.dW[i]).toBeCloseTo(ws.grad.dW[i], 12);
    for (let i = 0; i < g.dV.length; i++) expect(g.dV[i]).toBeCloseTo(ws.grad.dV[i], 12);
    const dU = new Float64Array(g.dU.length);
    for (let slot = 0; slot < ws.grad.uColumns; slot++) {
      for (let h = 0; h < m.hidden; h++) dU[h * m.vocab + ws.grad.uColumn[slot]] = ws.grad.dU[slot * m.hidden + h];
    }
    for (let i = 0; i < dU.length; i++) expect(g.dU[i]).toBeCloseTo(dU[i], 12);
  });

  it("learns and predicts like src/model (no clipping in play)", () => {
    const a = model();
    const b = cloneModel(a);
    const opts = { lr: 0.05, truncate: 4, steps: 1, clipNorm: Infinity, maxStepNorm: Infinity };
    const ours = learnSentence(a, SENTENCE, opts, new Workspace(a, 16));
    const naive = naiveLearn(b, SENTENCE, opts.lr, opts.truncate);
    expect(naive.lossBefore).toBeCloseTo(ours.lossBefore, 10);
    expect(naive.lossAfter).toBeCloseTo(ours.lossAfter, 6);
    const prefix = [0, 5, 9];
    const top = predictNext(a, prefix, 5, () => true, new Workspace(a, 16)).map((e) => e.id);
    expect(naivePredict(b, prefix, 5)).toEqual(top);
  });
});
