import { describe, expect, it } from "vitest";
import { countsForTopK, evaluate, type NextWordModel, topKOverAllWords, wordTokens } from "../../src/eval/metrics.ts";
import { rivalsIn } from "../helpers/rivals.ts";
import { BOS, encode, EOS, UNK, vocabFromJson } from "../../src/model/vocab.ts";

const vocab = vocabFromJson({ words: ["<s>", "</s>", "<unk>", "a", "b", "c", ","] });
const [A, B, C, COMMA] = [3, 4, 5, 6];

/** A toy bigram model: a fixed distribution after each previous id. */
class TableModel implements NextWordModel {
  readonly vocabSize = 7;
  private prev = BOS;
  private readonly rows: ReadonlyMap<number, Float64Array>;
  constructor(rows: ReadonlyMap<number, Float64Array>) {
    this.rows = rows;
  }
  startSentence(): void {
    this.prev = BOS;
  }
  advance(id: number): void {
    this.prev = id;
  }
  private row(): Float64Array {
    const row = this.rows.get(this.prev);
    if (!row) throw new Error(`no row after ${this.prev}`);
    return row;
  }
  prob(id: number): number {
    return this.row()[id];
  }
  rivals(id: number, limit: number): number {
    return rivalsIn(this.row(), id, limit);
  }
}

/** A distribution over the 7 ids from {id: p}. */
function dist(entries: [number, number][]): Float64Array {
  const p = new Float64Array(7);
  for (const [id, v] of entries) p[id] = v;
  return p;
}

const model = new TableModel(
  new Map([
    [
      BOS,
      dist([
        [A, 0.5],
        [B, 0.25],
        [UNK, 0.125],
        [EOS, 0.125],
      ]),
    ],
    [
      A,
      dist([
        [B, 0.25],
        [COMMA, 0.25],
        [A, 0.25],
        [C, 0.125],
        [EOS, 0.125],
      ]),
    ],
    [
      B,
      dist([
        [EOS, 0.5],
        [A, 0.25],
        [COMMA, 0.25],
      ]),
    ],
    [
      COMMA,
      dist([
        [A, 0.5],
        [B, 0.5],
      ]),
    ],
    [UNK, dist([[EOS, 1]])],
    [C, dist([[EOS, 1]])],
  ]),
);

describe("evaluate", () => {
  it("matches hand-computed perplexity and top-k on a toy corpus", () => {
    const sentences = [["a", "b"], ["b", ",", "a"], ["zebra"], ["a", "c"]].map((s) => encode(s, vocab));
    // Probabilities of the targets, </s> included:
    //   a b </s>: 1/2 1/4 1/2;  b , a </s>: 1/4 1/4 1/2 1/8;  <unk> </s>: 1/8 1;  a c </s>: 1/2 1/8 1
    // product 2^-19 over 12 positions.
    // Word targets and their rivals (suggestible, other, p >= own; ties count against):
    //   a|<s> 0, b|a 2 (a and , tie), b|<s> 1 (a), a|, 1 (b ties), a|<s> 0, c|a 3 (b , a).
    const r = evaluate(model, sentences, vocab);
    expect(r.tokens).toBe(12);
    expect(r.unkTargets).toBe(1);
    expect(r.wordPositions).toBe(6);
    expect(r.perplexity).toBeCloseTo(2 ** (19 / 12), 12);
    expect(r.top1).toBeCloseTo(2 / 6, 12);
    expect(r.top3).toBeCloseTo(5 / 6, 12);
    expect(r.top5).toBe(1);
  });

  it("counts a word outside the vocabulary as a miss over all words, as a client of /predict does", () => {
    const text = [["a", "b"], ["b", ",", "a"], ["zebra"], ["a", "c"]];
    const r = evaluate(
      model,
      text.map((s) => encode(s, vocab)),
      vocab,
    );
    // 7 word tokens, "zebra" among them; the hits of the toy corpus above: top-1 2, top-3 5, top-5 6.
    expect(wordTokens(text)).toBe(7);
    const all = topKOverAllWords(r, wordTokens(text));
    expect(all.top1).toBe(2 / 7);
    expect(all.top3).toBe(5 / 7);
    expect(all.top5).toBe(6 / 7);
  });

  it("refuses a model over a different vocabulary", () => {
    const small = vocabFromJson({ words: ["<s>", "</s>", "<unk>"] });
    expect(() => evaluate(model, [], small)).toThrow(/7 ids/);
  });
});

describe("rivalsIn", () => {
  const p = dist([
    [BOS, 0.3],
    [EOS, 0.3],
    [UNK, 0.3],
    [A, 0.02],
    [B, 0.02],
    [C, 0.03],
    [COMMA, 0.03],
  ]);

  it("counts other suggestible ids at least as likely, never the specials", () => {
    expect(rivalsIn(p, A, 10)).toBe(3);
    expect(rivalsIn(p, C, 10)).toBe(1);
    expect(rivalsIn(p, EOS, 10)).toBe(0);
  });

  it("may stop counting at the limit", () => {
    expect(rivalsIn(p, A, 2)).toBe(2);
  });
});

describe("countsForTopK", () => {
  it("counts words and numbers, not punctuation or markers", () => {
    expect(["the", "don't", "1,000", "東京", "é"].map(countsForTopK)).toEqual([true, true, true, true, true]);
    expect([",", "--", '"', "'", "<s>", "</s>", "<unk>"].map(countsForTopK)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});
