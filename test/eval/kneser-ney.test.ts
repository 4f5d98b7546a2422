import { describe, expect, it } from "vitest";
import { discounts, KneserNey } from "../../src/eval/kneser-ney.ts";
import { rivalsIn } from "../helpers/rivals.ts";
import { seededRng } from "../../src/model/rng.ts";
import { EOS, UNK } from "../../src/model/vocab.ts";

const [A, B, C] = [3, 4, 5];

/** The distribution over all ids in the model's current state. */
function distribution(kn: KneserNey): Float64Array {
  return Float64Array.from({ length: kn.vocabSize }, (_, w) => kn.prob(w));
}

/** Puts the model in the state after reading the given ids. */
function after(kn: KneserNey, ids: number[]): KneserNey {
  kn.startSentence();
  for (const id of ids) kn.advance(id);
  return kn;
}

describe("discounts", () => {
  it("follows Chen & Goodman's estimates from count-of-counts", () => {
    // n1 = 10, n2 = 5, n3 = 3, n4 = 2: Y = 1/2, D1 = 1/2, D2 = 2 - 0.9, D3+ = 3 - 4/3.
    const counts = [...Array(10).fill(1), ...Array(5).fill(2), ...Array(3).fill(3), 4, 4, 7, 0];
    const d = discounts(counts);
    expect(d[1]).toBeCloseTo(0.5, 12);
    expect(d[2]).toBeCloseTo(1.1, 12);
    expect(d[3]).toBeCloseTo(5 / 3, 12);
  });

  it("falls back to 0.5, 1, 1.5 when the estimates are undefined", () => {
    expect(discounts([1, 1, 2])).toEqual([0, 0.5, 1, 1.5]);
  });
});

describe("KneserNey on a tiny corpus", () => {
  // <s> <s> a b </s> | <s> <s> a c </s> | <s> <s> b </s>, vocabulary of 6 ids.
  // Every level is too small for the estimates, so D = 0.5, 1, 1.5 throughout.
  // Continuation counts n(.w): a 1, b 2, c 1, </s> 2 (total 6, g1 = 3/6), so
  // P1 = a 1/6, b 1/4, c 1/6, </s> 1/4, <s> and <unk> 1/12.
  const kn = new KneserNey([Int32Array.of(A, B), Int32Array.of(A, C), Int32Array.of(B)], 6);

  it("gives the hand-computed probabilities", () => {
    after(kn, []);
    expect(kn.prob(A)).toBeCloseTo(1 / 2, 12); // (2 - 1)/3 + 1/2 * P2(a|<s>) = 1/3 + 1/2 * 1/3
    expect(kn.prob(B)).toBeCloseTo(1 / 6 + 0.1875, 12); // (1 - .5)/3 + 1/2 * (1/4 + 1/2 * 1/4)
    expect(kn.prob(C)).toBeCloseTo(1 / 24, 12); // 1/2 * 1/2 * P1(c)
    after(kn, [A]);
    expect(kn.prob(B)).toBeCloseTo(0.4375, 12); // 1/4 + 1/2 * (1/4 + 1/2 * 1/4)
    expect(kn.prob(C)).toBeCloseTo(5 / 12, 12); // 1/4 + 1/2 * (1/4 + 1/2 * 1/6)
    expect(kn.prob(EOS)).toBeCloseTo(1 / 16, 12); // 1/2 * 1/2 * 1/4
    after(kn, [A, B]);
    expect(kn.prob(EOS)).toBeCloseTo(0.8125, 12); // 1/2 + 1/2 * (1/2 + 1/2 * 1/4)
    after(kn, [C, A]); // unseen trigram context: the bigram level alone
    expect(kn.prob(B)).toBeCloseTo(0.375, 12);
    after(kn, [UNK]); // unseen bigram context: the unigram level alone
    expect(kn.prob(B)).toBeCloseTo(1 / 4, 12);
    expect(kn.prob(UNK)).toBeCloseTo(1 / 12, 12);
  });

  it("sums to 1 over the vocabulary in seen and unseen contexts", () => {
    for (const ctx of [[], [A], [A, B], [B], [C, A], [UNK], [UNK, UNK], [A, C, B]]) {
      const p = distribution(after(kn, ctx));
      expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
      for (const x of p) expect(x).toBeGreaterThan(0);
    }
  });
});

describe("KneserNey on a random corpus", () => {
  const V = 60;
  const rng = seededRng(1998);
  // Zipf-like words with some local structure, so every level has real count-of-counts.
  const word = () => 3 + Math.min(V - 4, Math.floor(1 / (rng() + 0.02)) + Math.floor(rng() * 3));
  const sentences = Array.from({ length: 400 }, () => {
    const s = Int32Array.from({ length: 1 + Math.floor(rng() * 12) }, word);
    for (let i = 1; i < s.length; i++) if (rng() < 0.3) s[i] = Math.min(V - 1, s[i - 1] + 1);
    return s;
  });
  const kn = new KneserNey(sentences, V);
  const contexts = [[], [3], [3, 4], [4, 5, 6], [V - 1], [V - 1, V - 2], [UNK, 3], [40, 41]];

  it("sums to 1 over the vocabulary in every context", () => {
    for (const ctx of contexts) {
      expect(distribution(after(kn, ctx)).reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
    }
  });

  it("counts rivals exactly as a scan of the whole distribution does", () => {
    for (const ctx of contexts) {
      const p = distribution(after(kn, ctx));
      for (let id = 0; id < V; id++) {
        expect(kn.rivals(id, V)).toBe(rivalsIn(p, id, V));
        expect(Math.min(kn.rivals(id, 5), 5)).toBe(Math.min(rivalsIn(p, id, 5), 5));
      }
    }
  });
});
