import { describe, expect, it } from "vitest";
import { tokenize, writtenTokens } from "../../src/model/tokenizer.ts";
import { FormCounts } from "../../src/model/written-forms.ts";

const add = (counts: FormCounts, text: string) => counts.addSentence(tokenize(text), writtenTokens(text));

describe("FormCounts", () => {
  it("takes each word's most frequent form, not counting a sentence's first word", () => {
    const counts = new FormCounts();
    add(counts, "The man saw Washington and I said so .");
    add(counts, '" However , I went to Washington , the city .');
    add(counts, "However the washington post agreed .");
    const forms = counts.forms(["the", "washington", "i", "however", "man", "post"]);
    // "The" and both "However"s open their sentences (after a quote in one): they do not count.
    expect(Object.fromEntries(forms)).toEqual({ washington: "Washington", i: "I" });
  });

  it("keeps the lower case on a tie, and writtenTokens splits as tokenize does", () => {
    const counts = new FormCounts();
    add(counts, "so Apple and apple and APPLE .");
    expect(counts.forms(["apple"]).size).toBe(0);
    const text = "Don't stop, O'Neill: 1,000 U.S. tanks—“Go”";
    expect(writtenTokens(text).map((t) => t.toLowerCase())).toEqual(tokenize(text));
  });
});
