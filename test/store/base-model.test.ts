import { describe, expect, it } from "vitest";
import { hiddenAfter, Workspace } from "../../src/model/lm.ts";
import { topK } from "../../src/model/output/index.ts";
import { BOS, isSuggestible, vocabFromJson, vocabHash } from "../../src/model/vocab.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { repoFile, repoJson } from "../helpers/repo-files.ts";

interface TrainReport {
  vocab: number;
  vocabHash: string;
  output: string;
  hyperparameters: { hidden: number; classes: number; truncate: number; lr: number; seed: number };
  weightsBytes: number;
  epochs: { validPerplexity: number; kept: boolean }[];
  bestValidPerplexity: number;
}

describe("the shipped base model (models/base)", () => {
  it("loads, and its metadata matches the training report", async () => {
    const report = await repoJson<TrainReport>("models/base/train-report.json");
    const vocab = vocabFromJson(await repoJson("models/base/vocab.json"));
    const bytes = await repoFile("models/base/weights.safetensors");
    expect(bytes.byteLength).toBe(report.weightsBytes);
    expect(bytes.byteLength).toBeLessThanOrEqual(10 * 1024 * 1024);
    expect(vocab.words.length).toBe(report.vocab);
    expect(vocabHash(vocab)).toBe(report.vocabHash);
    const { model, meta } = decodeModel(bytes, { vocab: report.vocab, vocabHash: report.vocabHash });
    expect(model.hidden).toBe(report.hyperparameters.hidden);
    expect(model.output.kind).toBe(report.output);
    if (model.output.kind === "class") expect(model.output.classes).toBe(report.hyperparameters.classes);
    expect(meta.hyperparameters).toMatchObject({
      hidden: report.hyperparameters.hidden,
      truncate: report.hyperparameters.truncate,
      seed: report.hyperparameters.seed,
    });
    const kept = report.epochs.filter((e) => e.kept).map((e) => e.validPerplexity);
    expect(report.bestValidPerplexity).toBe(Math.min(...kept));
  });

  it("makes sensible suggestions: after 'of' the top word is 'the'", async () => {
    const vocab = vocabFromJson(await repoJson("models/base/vocab.json"));
    const { model } = decodeModel(await repoFile("models/base/weights.safetensors"));
    const ws = new Workspace(model, 8);
    const ids = [BOS, ...["one", "of"].map((w) => vocab.index.get(w)!)];
    const top = topK(model, hiddenAfter(model, ids, ids.length, ws), 3, isSuggestible, ws.out).entries();
    expect(vocab.words[top[0].id]).toBe("the");
  });
});
