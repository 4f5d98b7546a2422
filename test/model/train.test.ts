import { describe, expect, it } from "vitest";
import { Workspace } from "../../src/model/lm.ts";
import { type RnnLm, weightsOf } from "../../src/model/model.ts";
import { seededRng } from "../../src/model/rng.ts";
import { type EpochReport, perplexity, type TrainConfig, trainModel } from "../../src/model/train.ts";
import { BOS, EOS } from "../../src/model/vocab.ts";

const VOCAB = 20;
const WORDS = VOCAB - 3;

/**
 * Sentences [<s>, w1..wn, </s>] of 3 to 6 words: w1 is random, then each word follows the
 * previous one on a cycle through the 17 words, by 1 after an odd first word and by 2 after
 * an even one. Only w1 and the length are unpredictable, so a model can get far below the
 * perplexity of about 20 that an untrained one has.
 */
function corpus(seed: number, n: number): Int32Array[] {
  const rng = seededRng(seed);
  return Array.from({ length: n }, () => {
    const length = 3 + Math.floor(rng() * 4);
    const first = 3 + Math.floor(rng() * WORDS);
    const ids = [BOS, first];
    while (ids.length <= length) ids.push(3 + ((ids[ids.length - 1] - 3 + 1 + (first % 2)) % WORDS));
    ids.push(EOS);
    return Int32Array.from(ids);
  });
}

const train = corpus(1, 80);
const valid = corpus(2, 30);
const counts = new Float64Array(VOCAB);
for (const s of train) for (const id of s.subarray(1)) counts[id]++;

function config(classes: number, overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    hidden: 16,
    classes,
    directOrder: 0,
    directSize: 0,
    truncate: 4,
    lr: 0.1,
    clipNorm: 10,
    maxStepNorm: 10,
    minImprovement: 0.003,
    maxEpochs: 40,
    seed: 3,
    ...overrides,
  };
}

function run(cfg: TrainConfig): { model: RnnLm; epochs: EpochReport[] } {
  let clock = 0;
  return trainModel(train, valid, counts, cfg, { now: () => (clock += 1000) });
}

const validPerplexity = (m: RnnLm) => perplexity(m, valid, new Workspace(m, 8));

function bytesOf(m: RnnLm): Uint8Array[] {
  const arrays = Object.values(weightsOf(m));
  return arrays.map((a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

describe.each([
  ["full", 0],
  ["class", 4],
] as const)("trainModel, %s output", (output, classes) => {
  it("lowers validation perplexity far below the initial model's and returns the best model", () => {
    // With no epochs the trainer returns the model it starts from.
    const initial = run(config(classes, { maxEpochs: 0 }));
    expect(initial.epochs).toEqual([]);
    expect(initial.model.output.kind).toBe(output);
    const before = validPerplexity(initial.model);
    expect(before).toBeGreaterThan(15);

    const { model, epochs } = run(config(classes));
    const after = validPerplexity(model);
    expect(after).toBeLessThan(before / 4);
    expect(after).toBe(epochs.filter((e) => e.kept).at(-1)!.validPerplexity);
  });

  it("rolls back an epoch that makes validation worse", () => {
    const { epochs } = run(config(classes));
    const rejected = epochs.findIndex((e) => !e.kept);
    expect(rejected).toBeGreaterThan(0);
    expect(epochs[rejected].validPerplexity).toBeGreaterThan(epochs[rejected - 1].validPerplexity);
    // The same run cut off right after the rejected epoch returns the model from before it.
    const cut = run(config(classes, { maxEpochs: rejected + 1 }));
    expect(cut.epochs).toEqual(epochs.slice(0, rejected + 1));
    expect(validPerplexity(cut.model)).toBe(epochs[rejected - 1].validPerplexity);
  });

  it("is deterministic for a seed", () => {
    const a = run(config(classes));
    const b = run(config(classes));
    expect(bytesOf(b.model)).toEqual(bytesOf(a.model));
    expect(b.epochs).toEqual(a.epochs);
    const other = run(config(classes, { seed: 4 }));
    expect(bytesOf(other.model)).not.toEqual(bytesOf(a.model));
  });

  it("halves the rate once validation stops improving and stops at the next such epoch", () => {
    const cfg = config(classes);
    const { epochs } = run(cfg);
    expect(epochs.length).toBeGreaterThan(2);
    expect(epochs.length).toBeLessThan(cfg.maxEpochs);

    // Whether each epoch improved validation log-likelihood by more than minImprovement.
    let best = validPerplexity(run(config(classes, { maxEpochs: 0 })).model);
    const improved = epochs.map((e) => {
      expect(e.kept).toBe(e.validPerplexity < best);
      const gain = e.kept ? (Math.log(best) - Math.log(e.validPerplexity)) / Math.log(best) : -Infinity;
      if (e.kept) best = e.validPerplexity;
      return gain > cfg.minImprovement;
    });

    const firstHalved = epochs.findIndex((e) => e.lr < cfg.lr);
    expect(firstHalved).toBeGreaterThan(0);
    epochs.slice(0, firstHalved).forEach((e) => expect(e.lr).toBe(cfg.lr));
    for (let i = firstHalved; i < epochs.length; i++) expect(epochs[i].lr).toBe(epochs[i - 1].lr / 2);
    // Halving began after the first epoch that failed to improve; the run ended at the second.
    expect(improved.indexOf(false)).toBe(firstHalved - 1);
    expect(improved.slice(firstHalved, -1).every(Boolean)).toBe(true);
    expect(improved.at(-1)).toBe(false);
  });

  it("with halveBelow above every gain, halves from the second epoch and stops on minImprovement", () => {
    const cfg = config(classes, { halveBelow: 10 });
    const { epochs } = run(cfg);
    expect(epochs[0].lr).toBe(cfg.lr);
    for (let i = 1; i < epochs.length; i++) expect(epochs[i].lr).toBe(epochs[i - 1].lr / 2);
    // It still trains past the first halving: stopping is decided by minImprovement alone.
    expect(epochs.length).toBeGreaterThan(2);
  });
});
