import { describe, expect, it } from "vitest";
import { seededRng } from "../../src/model/rng.ts";
import { DEFAULT_MAX_TOKENS, tokenize } from "../../src/model/tokenizer.ts";
import { repoFile } from "../helpers/repo-files.ts";

describe("tokenize", () => {
  it("lowercases and splits words from punctuation", () => {
    expect(tokenize("The Fulton County Grand Jury said Friday.")).toEqual([
      "the",
      "fulton",
      "county",
      "grand",
      "jury",
      "said",
      "friday",
      ".",
    ]);
    expect(tokenize("Hello,world!")).toEqual(["hello", ",", "world", "!"]);
  });

  it("keeps contractions, possessives and hyphenated words as Brown writes them", () => {
    expect(tokenize("Don't! It's Atlanta's O'Neill, a hard-fought rock'n'roll win")).toEqual([
      "don't",
      "!",
      "it's",
      "atlanta's",
      "o'neill",
      ",",
      "a",
      "hard-fought",
      "rock'n'roll",
      "win",
    ]);
    expect(tokenize("don’t")).toEqual(["don't"]);
    expect(tokenize("donʼt")).toEqual(["don't"]);
  });

  it("splits leading and trailing apostrophes and dangling hyphens", () => {
    expect(tokenize("the taxpayers' money")).toEqual(["the", "taxpayers", "'", "money"]);
    expect(tokenize("'em")).toEqual(["'", "em"]);
    expect(tokenize("pre- and post-war")).toEqual(["pre", "-", "and", "post-war"]);
    expect(tokenize("-5")).toEqual(["-", "5"]);
  });

  it("keeps . and , between digits inside numbers only", () => {
    expect(tokenize("1,000 people paid $3.50 in 1961.")).toEqual([
      "1,000",
      "people",
      "paid",
      "$",
      "3.50",
      "in",
      "1961",
      ".",
    ]);
    expect(tokenize("u.s. end.next a,b 1,")).toEqual(["u", ".", "s", ".", "end", ".", "next", "a", ",", "b", "1", ","]);
  });

  it('normalises every quote form to the single token "', () => {
    expect(tokenize("``Yes'' “no” \"maybe\"")).toEqual(['"', "yes", '"', '"', "no", '"', '"', "maybe", '"']);
    expect(tokenize("'''")).toEqual(['"', "'"]);
    expect(tokenize('""')).toEqual(['"', '"']);
  });

  it("makes a run of the same punctuation one token", () => {
    expect(tokenize("wait -- what... no!!?")).toEqual(["wait", "--", "what", "...", "no", "!!", "?"]);
    expect(tokenize("a—b – c")).toEqual(["a", "--", "b", "-", "c"]);
    expect(tokenize("1990–1995")).toEqual(["1990-1995"]);
  });

  it("applies NFKC, keeps non-Latin letters and drops format characters", () => {
    expect(tokenize("ＡＢＣ ﬁne Cafe\u0301 naïve")).toEqual(["abc", "fine", "café", "naïve"]);
    expect(tokenize("Москва 東京 İstanbul")).toEqual(["москва", "東京", "i\u0307stanbul"]);
    expect(tokenize("co\u00ADoperate zero\u200Bwidth")).toEqual(["cooperate", "zerowidth"]);
    expect(tokenize("😀😀 x ❤️")).toEqual(["😀😀", "x", "❤️"]);
  });

  it("drops unpaired surrogates instead of throwing", () => {
    expect(tokenize("a\uD800b \uDC00c")).toEqual(["ab", "c"]);
    expect(tokenize("\uD83D")).toEqual([]);
  });

  it("is empty for empty or blank input", () => {
    expect(tokenize("")).toEqual([]);
    expect(tokenize(" \t\n\u00A0\u3000\u0007")).toEqual([]);
  });

  it("stops after maxTokens (1000 by default)", () => {
    expect(tokenize("a b c d", 2)).toEqual(["a", "b"]);
    expect(tokenize("a b c d", 0)).toEqual([]);
    expect(tokenize("x ".repeat(5000))).toHaveLength(DEFAULT_MAX_TOKENS);
    expect(tokenize("x ".repeat(5000), Infinity)).toHaveLength(5000);
  });

  it("handles long pathological input in linear time", () => {
    const start = performance.now();
    expect(tokenize("a-".repeat(200_000))).toEqual(["a-".repeat(200_000).slice(0, -1), "-"]);
    expect(tokenize("!".repeat(400_000))).toEqual(["!".repeat(400_000)]);
    expect(tokenize("1.".repeat(200_000))).toHaveLength(2);
    expect(tokenize("\u0301".repeat(400_000))).toHaveLength(1);
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it("never throws on random strings and gives well-formed, stable tokens", () => {
    const rng = seededRng(2003);
    const pool = "aZ9 '-.,`\"“”’—!?\u0301\u00AD\uD800\uDC00é東😀\t";
    for (let n = 0; n < 400; n++) {
      const len = Math.floor(rng() * 60);
      let s = "";
      for (let i = 0; i < len; i++) {
        s += rng() < 0.3 ? String.fromCharCode(Math.floor(rng() * 0x10000)) : pool[Math.floor(rng() * pool.length)];
      }
      const max = 1 + Math.floor(rng() * 20);
      const tokens = tokenize(s, max);
      expect(tokens.length).toBeLessThanOrEqual(max);
      for (const t of tokens) {
        expect(t).not.toBe("");
        expect(t).not.toMatch(/\s/u);
      }
      // Re-tokenizing tokens joined by spaces gives them back: the Brown parser relies on it.
      expect(tokenize(tokens.join(" "), Infinity)).toEqual(tokens);
    }
  });
});

describe("tokenize on Korean (test/fixtures/corpus-ko.txt, the own-corpus fixture)", () => {
  /** The fixture's own spelling: words between spaces, each of . , ? after a word a token of its own; Latin letters lower case. */
  const spaced = (line: string) =>
    line
      .toLowerCase()
      .replace(/([.,?])/g, " $1")
      .split(" ")
      .filter((t) => t !== "");

  it("reads every line as its space-separated words, Hangul syllables kept whole", async () => {
    const lines = new TextDecoder()
      .decode(await repoFile("test/fixtures/corpus-ko.txt"))
      .split("\n")
      .filter((l) => l !== "");
    expect(lines.length).toBeGreaterThanOrEqual(400);
    for (const line of lines) expect(tokenize(line, Infinity)).toEqual(spaced(line));
    // Particles stay on their word, as Korean spacing writes them, also after Latin letters.
    expect(tokenize("나는 카페에서 커피를 마셨다.")).toEqual(["나는", "카페에서", "커피를", "마셨다", "."]);
    expect(tokenize("친구는 Seoul에서 KTX를 탔다.")).toEqual(["친구는", "seoul에서", "ktx를", "탔다", "."]);
  });

  it("composes Hangul typed as separate jamo (NFD) into the same tokens, and folds full-width forms", async () => {
    const lines = new TextDecoder()
      .decode(await repoFile("test/fixtures/corpus-ko.txt"))
      .split("\n")
      .filter((l) => l !== "");
    for (const line of lines.slice(0, 50)) {
      const decomposed = line.normalize("NFD");
      expect(decomposed).not.toBe(line);
      expect(tokenize(decomposed, Infinity)).toEqual(tokenize(line, Infinity));
    }
    // Full-width punctuation and digits (common in CJK input) become their ASCII tokens.
    expect(tokenize("선생님은 ３시에 회의를 했다．")).toEqual(["선생님은", "3시에", "회의를", "했다", "."]);
  });
});
