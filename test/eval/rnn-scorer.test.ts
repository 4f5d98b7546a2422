import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/eval/metrics.ts";
import { rivalsIn } from "../helpers/rivals.ts";
import { RnnScorer } from "../../src/eval/rnn-scorer.ts";
import { initModel } from "../../src/model/init.ts";
import { hiddenAfter, sentenceLoss, Workspace } from "../../src/model/lm.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { distribution, negLogProb, outputScratch, useHistory } from "../../src/model/output/index.ts";
import { type Rng, seededRng } from "../../src/model/rng.ts";
import { BOS, EOS, SPECIALS, vocabFromJson } from "../../src/model/vocab.ts";

const VOCAB = 40;
const HIDDEN = 8;

type Variant = "full" | "class" | "full+direct" | "class+direct";

/**
 * A random model whose output weights are scaled up, so that distributions are peaked and
 * spread over many orders of magnitude (an untrained model's are nearly uniform, which would
 * make every rival count trivial). The last two words get the same output row, so they tie
 * (in the same class, the last one), and a tie counts as a rival.
 */
function randomModel(variant: Variant, seed: number): RnnLm {
  const counts = Array.from({ length: VOCAB }, (_, i) => (i === 0 ? 0 : 100 / i));
  const classStart = variant.startsWith("class") ? assignClasses(counts, 7) : undefined;
  // Order 3 over sentences of 8+ tokens: the scorer's history window really slides.
  const direct = variant.endsWith("+direct") ? { order: 3, size: 512 } : undefined;
  const rng = seededRng(seed);
  const m = initModel({ vocab: VOCAB, hidden: HIDDEN, classStart, direct }, rng);
  if (m.direct) for (let i = 0; i < m.direct.D.length; i++) m.direct.D[i] = 4 * rng() - 2;
  const sharpen = (a: Float32Array) => a.forEach((x, i) => (a[i] = 6 * x));
  sharpen(m.V);
  sharpen(m.U);
  if (m.output.kind === "class") sharpen(m.output.C);
  m.V.copyWithin((VOCAB - 2) * HIDDEN, (VOCAB - 1) * HIDDEN);
  return m;
}

/** A sentence of random word ids (no markers), <unk> included. */
function randomSentence(rng: Rng, length: number): Int32Array {
  return Int32Array.from({ length }, () => 2 + Math.floor(rng() * (VOCAB - 2)));
}

const vocab = vocabFromJson({
  words: [...SPECIALS, ...Array.from({ length: VOCAB - 3 }, (_, i) => (i % 9 === 4 ? `,${i}` : `w${i}`))],
});

describe.each(["full", "class", "full+direct", "class+direct"] as const)("RnnScorer, %s output", (output) => {
  it("gives every id the probability a fresh forward pass over the prefix gives it, summing to 1", () => {
    const rng = seededRng(11);
    for (let seed = 1; seed <= 3; seed++) {
      const m = randomModel(output, seed);
      const scorer = new RnnScorer(m);
      const ids = [BOS, ...randomSentence(rng, 8)];
      const ws = new Workspace(m, ids.length);
      const x = outputScratch(m);
      scorer.startSentence();
      for (let t = 1; t <= ids.length; t++) {
        const s = hiddenAfter(m, ids, t, ws);
        useHistory(m, ids, t - 1, x);
        let total = 0;
        for (let y = 0; y < VOCAB; y++) {
          const p = scorer.prob(y);
          expect(p).toBeGreaterThan(0);
          expect(Math.abs(p - Math.exp(-negLogProb(m, s, y, x)))).toBeLessThan(1e-12 * Math.max(1, p) + 1e-15);
          total += p;
        }
        expect(total).toBeCloseTo(1, 12);
        if (t < ids.length) scorer.advance(ids[t]);
      }
    }
  });

  it("counts rivals exactly as brute force over the whole distribution, limit cut-offs included", () => {
    const rng = seededRng(5);
    let counted = 0;
    let cutOff = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const m = randomModel(output, seed);
      const scorer = new RnnScorer(m);
      const ids = [BOS, ...randomSentence(rng, 10)];
      const ws = new Workspace(m, ids.length);
      const dist = new Float64Array(VOCAB);
      const x = outputScratch(m);
      scorer.startSentence();
      for (let t = 1; t <= ids.length; t++) {
        const s = hiddenAfter(m, ids, t, ws);
        useHistory(m, ids, t - 1, x);
        distribution(m, s, dist, x);
        // Random targets in a random order, so prob and rivals of different classes interleave.
        for (let i = 0; i < 30; i++) {
          const id = Math.floor(rng() * VOCAB);
          const limit = [1, 3, 5, VOCAB][i % 4];
          if (i % 3 === 0) scorer.prob(Math.floor(rng() * VOCAB));
          const expected = rivalsIn(dist, id, limit);
          const got = scorer.rivals(id, limit);
          // Exact below the limit; at the limit the contract allows any count >= limit.
          if (expected < limit) expect(got).toBe(expected);
          else expect(got).toBeGreaterThanOrEqual(limit);
          counted++;
          if (expected === limit && limit < VOCAB) cutOff++;
        }
        if (t < ids.length) scorer.advance(ids[t]);
      }
    }
    // The random targets reach both sides of the cut-offs.
    expect(cutOff).toBeGreaterThan(counted / 10);
    expect(cutOff).toBeLessThan(counted * 0.9);
  });

  it("evaluate() on it gives the perplexity of the language model's sentence losses", () => {
    const m = randomModel(output, 9);
    const rng = seededRng(3);
    const sentences = Array.from({ length: 12 }, () => randomSentence(rng, 1 + Math.floor(rng() * 9)));
    const ws = new Workspace(m, 16);
    let nll = 0;
    let tokens = 0;
    for (const s of sentences) {
      const ids = Int32Array.from([BOS, ...s, EOS]);
      nll += sentenceLoss(m, ids, ws) * (ids.length - 1);
      tokens += ids.length - 1;
    }
    const r = evaluate(new RnnScorer(m), sentences, vocab);
    expect(r.tokens).toBe(tokens);
    expect(r.perplexity).toBeCloseTo(Math.exp(nll / tokens), 9);
  });
});
