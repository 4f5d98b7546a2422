import { describe, expect, it } from "vitest";
import { rivalsIn } from "../helpers/rivals.ts";
import { Unigram } from "../../src/eval/unigram.ts";
import { BOS, EOS, UNK } from "../../src/model/vocab.ts";

describe("Unigram", () => {
  // Targets: a b a </s> | <unk> a </s>: a 3, b 1, <unk> 1, </s> 2, c 0; N = 7, V = 6.
  const uni = new Unigram([Int32Array.of(3, 4, 3), Int32Array.of(UNK, 3)], 6);
  const p = Float64Array.from({ length: 6 }, (_, w) => uni.prob(w));

  it("is add-one smoothed over the vocabulary", () => {
    expect([...p].map((x) => x * 13)).toEqual([1, 3, 2, 4, 2, 1].map((x) => expect.closeTo(x, 12)));
    expect(p[BOS]).toBeGreaterThan(0);
  });

  it("ignores the context and ranks as a full scan does", () => {
    uni.startSentence();
    uni.advance(3);
    expect(uni.prob(EOS)).toBe(p[EOS]);
    for (let id = 0; id < 6; id++) expect(uni.rivals(id)).toBe(rivalsIn(p, id, 6));
    expect(uni.rivals(4)).toBe(1);
  });
});
