import { describe, expect, it } from "vitest";
import { LEARN_BOUNDS, LIMITS } from "../../src/config.ts";
import { cloneModel } from "../../src/model/init.ts";
import { sentenceLoss } from "../../src/model/lm.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { withWordSlots } from "../../src/model/new-words.ts";
import { learnWords, predictWords, type TextModel, textModel } from "../../src/model/text-model.ts";
import { tokenize } from "../../src/model/tokenizer.ts";
import { encodeSentence, type Vocab, vocabFromJson } from "../../src/model/vocab.ts";
import { WORD_SLOTS } from "../../src/model/word-slots.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { LearnPolicy } from "../../src/trust/shared-learn.ts";
import { repoFile, repoJson } from "../helpers/repo-files.ts";

// Held out: Brown sentences no attack contains (scripts/poison-bench.ts scores 500 of the valid split).
const BROWN = [
  "The jury said it did find that many of the voters were not registered.",
  "He said that the city government would pay for the new school.",
  "It was the first time that the committee had met since the war.",
  "The president told the members of the house that he would not sign the bill.",
  "She went to the store to buy some bread and milk for the children.",
];

const DEFAULTS = {
  lr: LEARN_BOUNDS.lr.default,
  truncate: LEARN_BOUNDS.truncate.default,
  steps: LEARN_BOUNDS.steps.default,
};

async function shipped(): Promise<{ model: RnnLm; vocab: Vocab }> {
  const vocab = vocabFromJson(await repoJson("models/base/vocab.json"));
  const { model } = decodeModel(await repoFile("models/base/weights.safetensors"));
  return { model: withWordSlots(model, WORD_SLOTS), vocab };
}

/** Learns each sentence in turn through the writer's policy; returns the model after. */
function attack(start: TextModel, sentences: readonly string[], damping: boolean): TextModel {
  const policy = new LearnPolicy({ damping });
  let tm = start;
  for (const s of sentences) {
    const tokens = tokenize(s);
    const options = policy.options(tokens, DEFAULTS, "attacker");
    tm = learnWords(tm, tokens, options).tm;
    policy.applied(tokens, options);
  }
  return tm;
}

const meanLoss = (tm: TextModel) =>
  BROWN.reduce((sum, s) => sum + sentenceLoss(tm.model, encodeSentence(tokenize(s), tm.vocab), tm.ws), 0) /
  BROWN.length;
const top3 = (tm: TextModel, prefix: string) =>
  predictWords(tm, tokenize(prefix), 3, LIMITS.prefixWindow).predictions.map((p) => p.word);

describe("a shared model under a template attack (the issue's 50 default learns)", () => {
  it("with damping keeps held-out Brown loss within 0.5% and 'the' free of the template; without, it does not", async () => {
    const { model, vocab } = await shipped();
    const template = Array.from({ length: 50 }, (_, i) => `sentence number ${i} is about the weather in the city`);
    const fresh = () => textModel(cloneModel(model), vocab, LIMITS.maxSentenceTokens);
    const before = meanLoss(fresh());

    const damped = attack(fresh(), template, true);
    expect(Math.abs(meanLoss(damped) - before)).toBeLessThan(0.005 * before);
    expect(top3(damped, "the")).not.toContain("number");

    const undamped = attack(fresh(), template, false);
    expect(meanLoss(undamped) - before).toBeGreaterThan(0.02 * before);
    expect(top3(undamped, "the")).toContain("number");
  });
});
