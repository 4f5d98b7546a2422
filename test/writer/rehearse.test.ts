import { describe, expect, it } from "vitest";
import { LEARN_BOUNDS, UPDATE_GUARDS } from "../../src/config.ts";
import { cloneModel } from "../../src/model/init.ts";
import { rehearse, Workspace } from "../../src/model/lm.ts";
import { learnWords, type TextModel, textModel } from "../../src/model/text-model.ts";
import { encodeModel } from "../../src/store/model-codec.ts";
import { learningModel } from "../../src/writer/replay.ts";
import { tinyModel, tinyVocab } from "../helpers/tiny-model.ts";
import { sampleMeta } from "../store/fixtures.ts";

const OPTIONS = {
  lr: LEARN_BOUNDS.lr.default,
  truncate: LEARN_BOUNDS.truncate.default,
  steps: LEARN_BOUNDS.steps.default,
  ...UPDATE_GUARDS,
};

/** A writer's model that has learned with /learn's options: anchor, phrase memory and a learned word. */
function learned(): TextModel {
  let tm = learningModel(tinyModel(), tinyVocab());
  for (let i = 0; i < 3; i++) tm = learnWords(tm, "the quick zorblax jumps over the lazy dog".split(" "), OPTIONS).tm;
  expect(tm.model.anchor).toBeDefined();
  expect(tm.model.memory?.sentences().length).toBe(3);
  expect(tm.model.learned?.words).toEqual(["zorblax"]);
  return tm;
}

const fileOf = (tm: TextModel) => encodeModel(tm.model, sampleMeta());

describe("rehearse", () => {
  it("leaves the model's weights, anchor, phrase memory and learned words bit-identical", () => {
    const tm = learned();
    // -0 weights too (an imported float16 file may hold them): a step of 0 · g would turn them +0.
    for (const w of [tm.model.U, tm.model.W, tm.model.V]) for (let i = 0; i < w.length; i += 3) w[i] = -0;
    const before = fileOf(tm);
    rehearse(tm.model, tm.ws);
    expect(fileOf(tm)).toEqual(before);
  });

  it("leaves nothing in the workspace that changes the next learn", () => {
    const tm = learned();
    const twin: TextModel = textModel(cloneModel(tm.model), tinyVocab(), tm.ws.maxSteps - 2);
    rehearse(tm.model, tm.ws);
    const sentence = "a small red fox sat on my mat".split(" ");
    const a = learnWords(tm, sentence, OPTIONS);
    const b = learnWords({ ...twin, ws: new Workspace(twin.model, tm.ws.maxSteps) }, sentence, OPTIONS);
    expect(a.outcome).toEqual(b.outcome);
    expect(fileOf(a.tm)).toEqual(fileOf(b.tm));
  });
});
