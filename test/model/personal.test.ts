import { describe, expect, it } from "vitest";
import { initModel } from "../../src/model/init.ts";
import { predictNext, sentenceLoss, Workspace } from "../../src/model/lm.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { distribution, outputScratch, useHistory } from "../../src/model/output/index.ts";
import {
  emptyLayer,
  LayerGradient,
  layerGradient,
  learnPersonal,
  type PersonalLayer,
  personalBase,
  personalView,
  widestView,
} from "../../src/model/personal.ts";
import { mixed } from "../../src/model/phrase-memory.ts";
import { seededRng } from "../../src/model/rng.ts";
import { hiddenAfter } from "../../src/model/lm.ts";

const VOCAB = 12;
const HIDDEN = 5;
const ROOM = 4;
const OPTS = { rate: 0.3, ownRate: 0.5, biasScale: 1, maxStepNorm: 2, remember: true };

function shared(kind: "class" | "full", seed = 1): RnnLm {
  const rng = seededRng(seed);
  const classStart = kind === "class" ? assignClasses([0, 9, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1], 3) : undefined;
  const m = initModel({ vocab: VOCAB, hidden: HIDDEN, classStart, direct: { order: 3, size: 64 } }, rng);
  for (let i = 0; i < m.W.length; i++) m.W[i] *= 3;
  for (let i = 0; i < m.U.length; i++) m.U[i] *= 4;
  for (let i = 0; i < m.direct!.D.length; i++) m.direct!.D[i] = rng() - 0.5;
  return m;
}

/** A layer with two own words (ids 12, 13), random deltas in a 32-entry table (features collide). */
function layerFor(pbase: RnnLm, seed = 2): PersonalLayer {
  const layer = emptyLayer(pbase.vocab, ROOM, 5);
  const rng = seededRng(seed);
  for (let i = 0; i < layer.delta.length; i++) layer.delta[i] = rng() - 0.5;
  layer.learned.words.push("zork", "quux");
  layer.learned.uses.push(2, 2);
  layer.learned.lastUse.push(1, 1);
  return layer;
}

const SENTENCE = [0, 4, 12, 3, 13, 12, 5, 1];

function arrays(m: RnnLm): Float32Array[] {
  return [m.U, m.W, m.V, ...(m.output.kind === "class" ? [m.output.C] : []), m.direct!.D].map((a) => a.slice());
}

describe.each(["class", "full"] as const)("personal layer over a %s output", (kind) => {
  it("has the gradient of the sentence loss in its deltas (central differences)", () => {
    const pbase = personalBase(shared(kind), ROOM);
    const layer = layerFor(pbase);
    const view = personalView(pbase, layer);
    const ws = new Workspace(widestView(pbase), 16);
    const g = new LayerGradient(layer.delta.length);
    const loss = layerGradient(view, SENTENCE, ws, g, { base: 1, own: 1, bias: 1 });
    const steps = SENTENCE.length - 1;
    expect(loss).toBeCloseTo(sentenceLoss(view, SENTENCE, ws), 10);
    let checked = 0;
    for (let i = 0; i < layer.delta.length; i++) {
      const v = layer.delta[i];
      layer.delta[i] = v + 1e-3;
      const up = layer.delta[i];
      const lu = sentenceLoss(view, SENTENCE, ws) * steps;
      layer.delta[i] = v - 1e-3;
      const down = layer.delta[i];
      const ld = sentenceLoss(view, SENTENCE, ws) * steps;
      layer.delta[i] = v;
      const numeric = (lu - ld) / (up - down);
      expect(g.values[i], `delta[${i}]`).toBeCloseTo(numeric, 5);
      if (Math.abs(numeric) > 1e-3) checked++;
    }
    expect(checked, "most entries carry gradient").toBeGreaterThan(20);
  });

  it("with an empty layer predicts exactly as the shared model", () => {
    const m = shared(kind);
    const pbase = personalBase(m, ROOM);
    const view = personalView(pbase, emptyLayer(pbase.vocab, ROOM, 5));
    const prefix = [0, 4, 7, 3];
    const a = predictNext(m, prefix, 5, () => true, new Workspace(m, 8));
    const b = predictNext(view, prefix, 5, () => true, new Workspace(widestView(pbase), 8));
    expect(b).toEqual(a);
  });

  it("gives the exact top k of the personal distribution (layer, own words and memory)", () => {
    const pbase = personalBase(shared(kind), ROOM);
    const layer = layerFor(pbase);
    const ws = new Workspace(widestView(pbase), 16);
    const g = new LayerGradient(layer.delta.length);
    for (let i = 0; i < 3; i++) learnPersonal(personalView(pbase, layer), layer, SENTENCE, OPTS, ws, g);
    const view = personalView(pbase, layer);
    const prefix = SENTENCE.slice(0, 4);
    const s = hiddenAfter(view, prefix, prefix.length, ws);
    const x = outputScratch(view);
    useHistory(view, prefix, prefix.length - 1, x);
    const probs = new Float64Array(view.vocab);
    distribution(view, s, probs, x);
    const r = layer.memory.recollect(prefix, prefix.length);
    expect(r, "the memory recalls the learned continuation").not.toBeNull();
    const expected = Array.from(probs, (p, id) => ({ id, p: mixed(p, id, r) }))
      .sort((a, b) => b.p - a.p || a.id - b.id)
      .slice(0, 4);
    const top = predictNext(view, prefix, 4, () => true, ws);
    expect(top.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    for (const [i, e] of top.entries()) expect(e.p).toBeCloseTo(expected[i].p, 12);
  });

  it("learns into its layer only: the shared model and another user's layer are untouched", () => {
    const m = shared(kind);
    const before = arrays(m);
    const pbase = personalBase(m, ROOM);
    const baseBefore = arrays(pbase);
    const a = layerFor(pbase, 3);
    const b = layerFor(pbase, 4);
    const ws = new Workspace(widestView(pbase), 16);
    const prefix = [0, 4, 12];
    const bBefore = predictNext(personalView(pbase, b), prefix, 5, () => true, ws);
    const g = new LayerGradient(a.delta.length);
    const deltaBefore = a.delta.slice();
    for (let i = 0; i < 20; i++)
      expect(learnPersonal(personalView(pbase, a), a, SENTENCE, OPTS, ws, g).applied).toBe(true);
    expect(a.delta).not.toEqual(deltaBefore);
    expect(arrays(m)).toEqual(before);
    expect(arrays(pbase)).toEqual(baseBefore);
    expect(predictNext(personalView(pbase, b), prefix, 5, () => true, ws)).toEqual(bBefore);
    // And it learned: the sentence's next word after its prefix is now the first suggestion.
    expect(predictNext(personalView(pbase, a), SENTENCE.slice(0, 3), 1, () => true, ws)[0].id).toBe(SENTENCE[3]);
  });

  it("refuses a non-finite step and leaves the layer as it was", () => {
    const pbase = personalBase(shared(kind), ROOM);
    const layer = layerFor(pbase);
    const ws = new Workspace(widestView(pbase), 16);
    const g = new LayerGradient(layer.delta.length);
    const before = layer.delta.slice();
    const r = learnPersonal(
      personalView(pbase, layer),
      layer,
      SENTENCE,
      { ...OPTS, rate: Infinity, ownRate: Infinity },
      ws,
      g,
    );
    expect(r.applied).toBe(false);
    expect(layer.delta).toEqual(before);
    expect(layer.memory.sentences()).toEqual([]);
  });
});

describe("a user's own words", () => {
  it("read only the layer's deltas, not the shared direct weights: with an empty layer they are equally likely", () => {
    const pbase = personalBase(shared("class"), ROOM);
    const layer = emptyLayer(pbase.vocab, ROOM, 5);
    layer.learned.words.push("zork", "quux", "frob");
    layer.learned.uses.push(2, 2, 2);
    layer.learned.lastUse.push(1, 1, 1);
    const view = personalView(pbase, layer);
    const ws = new Workspace(widestView(pbase), 16);
    const prefix = [0, 4, 7, 3];
    const s = hiddenAfter(view, prefix, prefix.length, ws);
    const x = outputScratch(view);
    useHistory(view, prefix, prefix.length - 1, x);
    const probs = new Float64Array(view.vocab);
    distribution(view, s, probs, x);
    expect(probs[12]).toBeGreaterThan(0);
    expect(probs[13]).toBe(probs[12]);
    expect(probs[14]).toBe(probs[12]);
  });
});
