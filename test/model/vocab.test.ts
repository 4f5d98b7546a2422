import { describe, expect, it } from "vitest";
import {
  BOS,
  buildVocab,
  countWords,
  encode,
  encodeSentence,
  EOS,
  isSuggestible,
  UNK,
  vocabFromJson,
  vocabHash,
  vocabToJson,
  writtenForm,
} from "../../src/model/vocab.ts";

const SENTENCES = [
  ["the", "cat", "sat", "."],
  ["the", "dog", "sat", "."],
  ["a", "cat", "ran", "."],
];

describe("buildVocab", () => {
  it("orders the specials, then words by descending count, ties alphabetical", () => {
    const { vocab, counts } = buildVocab(countWords(SENTENCES));
    expect(vocab.words).toEqual(["<s>", "</s>", "<unk>", ".", "cat", "sat", "the", "a", "dog", "ran"]);
    expect([...counts]).toEqual([0, 3, 0, 3, 2, 2, 2, 1, 1, 1]);
    vocab.words.forEach((w, i) => expect(vocab.index.get(w)).toBe(i));
  });

  it("cuts by maxSize (specials included) and minCount, counting dropped words as <unk>", () => {
    const bySize = buildVocab(countWords(SENTENCES), { maxSize: 6 });
    expect(bySize.vocab.words).toEqual(["<s>", "</s>", "<unk>", ".", "cat", "sat"]);
    expect(bySize.counts[UNK]).toBe(2 + 1 + 1 + 1);
    const byCount = buildVocab(countWords(SENTENCES), { minCount: 2 });
    expect(byCount.vocab.words).toEqual(["<s>", "</s>", "<unk>", ".", "cat", "sat", "the"]);
    expect(byCount.counts[UNK]).toBe(3);
    expect(byCount.counts[EOS]).toBe(3);
  });
});

describe("vocabulary JSON", () => {
  const { vocab } = buildVocab(countWords(SENTENCES));

  it("round-trips", () => {
    const back = vocabFromJson(JSON.parse(JSON.stringify(vocabToJson(vocab))));
    expect(back.words).toEqual(vocab.words);
    expect(back.index.get("dog")).toBe(vocab.index.get("dog"));
  });

  it("round-trips written forms, which leave the hash alone", () => {
    const withForms = { ...vocab, forms: new Map([["dog", "Dog"]]) };
    const json = JSON.parse(JSON.stringify(vocabToJson(withForms)));
    expect(json.forms).toEqual({ dog: "Dog" });
    const back = vocabFromJson(json);
    expect(writtenForm(back, "dog")).toBe("Dog");
    expect(writtenForm(back, "cat")).toBe("cat");
    expect(vocabHash(back)).toBe(vocabHash(vocab));
    expect(vocabToJson(vocab)).not.toHaveProperty("forms");
  });

  it.each([
    ["a non-object", 42, /object/],
    ["a bare array", ["<s>", "</s>", "<unk>"], /object/],
    ["words that are not an array", { words: "x" }, /object/],
    ["missing specials", { words: ["<s>", "<unk>", "</s>", "a"] }, /start with/],
    ["too few words", { words: ["<s>"] }, /start with/],
    ["an empty word", { words: ["<s>", "</s>", "<unk>", ""] }, /word 3/],
    ["a non-string word", { words: ["<s>", "</s>", "<unk>", 7] }, /word 3/],
    ["a duplicate", { words: ["<s>", "</s>", "<unk>", "a", "a"] }, /twice/],
    ["forms that are not an object", { words: ["<s>", "</s>", "<unk>", "i"], forms: ["I"] }, /forms/],
    [
      "a form of an unknown word",
      { words: ["<s>", "</s>", "<unk>", "i"], forms: { you: "You" } },
      /not a vocabulary word/,
    ],
    ["a form of a special", { words: ["<s>", "</s>", "<unk>", "i"], forms: { "<s>": "<S>" } }, /not a vocabulary word/],
    ["a form of another word", { words: ["<s>", "</s>", "<unk>", "i"], forms: { i: "Me" } }, /lowers to the word/],
    ["a form that is not a string", { words: ["<s>", "</s>", "<unk>", "i"], forms: { i: 1 } }, /lowers to the word/],
  ])("rejects %s", (_, json, message) => {
    expect(() => vocabFromJson(json)).toThrow(message);
  });
});

describe("encoding", () => {
  const { vocab } = buildVocab(countWords(SENTENCES));

  it("maps out-of-vocabulary tokens to <unk>", () => {
    expect([...encode(["the", "zebra", "."], vocab)]).toEqual([6, UNK, 3]);
  });

  it("wraps a sentence in <s> and </s>", () => {
    expect([...encodeSentence(["a", "cat"], vocab)]).toEqual([BOS, 7, 4, EOS]);
    expect([...encodeSentence([], vocab)]).toEqual([BOS, EOS]);
  });

  it("never suggests the specials", () => {
    expect([BOS, EOS, UNK, 3, 9].map(isSuggestible)).toEqual([false, false, false, true, true]);
  });
});

describe("vocabHash", () => {
  const hashOf = (words: string[]) => vocabHash({ words, index: new Map() });

  it("is FNV-1a 64 of the words joined by newlines", () => {
    // Reference values of FNV-1a 64 for "", "a", "foobar".
    expect(hashOf([""])).toBe("cbf29ce484222325");
    expect(hashOf(["a"])).toBe("af63dc4c8601ec8c");
    expect(hashOf(["foobar"])).toBe("85944171f73967e8");
  });

  it("changes with order and content, hashing UTF-8", () => {
    const base = hashOf(["<s>", "</s>", "<unk>", "a", "b"]);
    expect(hashOf(["<s>", "</s>", "<unk>", "b", "a"])).not.toBe(base);
    expect(hashOf(["<s>", "</s>", "<unk>", "a", "b"])).toBe(base);
    expect(hashOf(["é"])).not.toBe(hashOf(["e\u0301"]));
  });
});
