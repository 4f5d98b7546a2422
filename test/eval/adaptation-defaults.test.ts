import { describe, expect, it } from "vitest";
import { LEARN_BOUNDS, UPDATE_GUARDS } from "../../src/config.ts";
import { learnSentence, sentenceLoss, Workspace } from "../../src/model/lm.ts";
import { tokenize } from "../../src/model/tokenizer.ts";
import { encodeSentence, vocabFromJson } from "../../src/model/vocab.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { repoFile, repoJson } from "../helpers/repo-files.ts";

// /learn's defaults were chosen on the shipped base model with npm run adapt-bench
// (docs/adaptation.md): they must teach it new text without making it forget Brown.
const BROWN = [
  "The jury said it did find that many of the voters were not registered.",
  "He said that the city government would pay for the new school.",
  "It was the first time that the committee had met since the war.",
  "The president told the members of the house that he would not sign the bill.",
];
const MAIL = [
  "Has anyone else seen this problem with the new version?",
  "I think the list should be moved to a different server.",
  "Thanks for the patch, it works fine for me now.",
  "Let me know if you have any questions about the setup.",
];

describe("/learn defaults on the shipped base model", () => {
  it("five rounds over four e-mail sentences cut their loss by 10% and move Brown sentences' loss by under 1%", async () => {
    const vocab = vocabFromJson(await repoJson("models/base/vocab.json"));
    const { model } = decodeModel(await repoFile("models/base/weights.safetensors"));
    const ws = new Workspace(model, 66);
    const opts = {
      lr: LEARN_BOUNDS.lr.default,
      truncate: LEARN_BOUNDS.truncate.default,
      steps: LEARN_BOUNDS.steps.default,
      ...UPDATE_GUARDS,
    };
    const enc = (s: string) => encodeSentence(tokenize(s), vocab);
    const loss = (texts: string[]) => texts.reduce((sum, s) => sum + sentenceLoss(model, enc(s), ws), 0) / texts.length;
    const [brown0, mail0] = [loss(BROWN), loss(MAIL)];
    for (let round = 0; round < 5; round++) for (const s of MAIL) learnSentence(model, enc(s), opts, ws);
    expect(loss(MAIL)).toBeLessThan(0.9 * mail0);
    expect(Math.abs(loss(BROWN) - brown0)).toBeLessThan(0.01 * brown0);
  });
});
