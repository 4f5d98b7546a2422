import { describe, expect, it } from "vitest";
import { inputStride, type RnnLm, weightsOf } from "../../src/model/model.ts";
import { withLearnedCount, withWordSlots } from "../../src/model/new-words.ts";
import { admitNewWords, learnWords, type TextModel, textModel } from "../../src/model/text-model.ts";
import { UNK } from "../../src/model/vocab.ts";
import {
  admitWords,
  KNOWN_AFTER,
  MAX_SLOT_WORD_CHARS,
  unknownUntilShared,
  WORD_SLOTS,
} from "../../src/model/word-slots.ts";
import { decodeModel, encodeModel, ModelFormatError } from "../../src/store/model-codec.ts";
import { decodeSafetensors, encodeSafetensors } from "../../src/store/safetensors.ts";
import { tinyModel, tinyVocab, WORDS } from "../helpers/tiny-model.ts";
import { sampleMeta } from "../store/fixtures.ts";

const BASE = tinyVocab().words.length;
const OPTS = { lr: 0.05, truncate: 4, steps: 1, clipNorm: 5, maxStepNorm: 1, newWordRate: 0.5 };

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function slotted(capacity = 3): TextModel {
  return textModel(withWordSlots(tinyModel(), capacity), tinyVocab(), 16);
}

/** Admits each learn's tokens in turn, as /learn does. */
function admitAll(tm: TextModel, ...learns: string[][]): TextModel {
  for (const tokens of learns) tm = admitNewWords(tm, tokens);
  return tm;
}

function column(m: RnnLm, id: number): number[] {
  const stride = inputStride(m);
  return Array.from({ length: m.hidden }, (_, i) => m.U[i * stride + id]);
}

function row(m: RnnLm, id: number): number[] {
  return Array.from(m.V.subarray(id * m.hidden, (id + 1) * m.hidden));
}

/** Sets learned word `id`'s input column and output row to `value`, as learning would move them. */
function scribble(m: RnnLm, id: number, value: number): void {
  for (let i = 0; i < m.hidden; i++) m.U[i * inputStride(m) + id] = value;
  m.V.fill(value, id * m.hidden, (id + 1) * m.hidden);
}

describe("admitNewWords", () => {
  it("gives new words the free slots in order, and base words none", () => {
    const tm = slotted();
    const next = admitNewWords(tm, ["the", "zorp", "dog", "quux", "zorp", "fox"]);
    expect(next).not.toBe(tm);
    expect(next.model.vocab).toBe(BASE + 2);
    expect(next.model.learned?.words).toEqual(["zorp", "quux"]);
    expect(next.vocab.index.get("zorp")).toBe(BASE);
    expect(next.vocab.index.get("quux")).toBe(BASE + 1);
    expect(next.vocab.words.slice(BASE)).toEqual(["zorp", "quux"]);
    // Base words keep their ids.
    tinyVocab().words.forEach((w, id) => expect(next.vocab.index.get(w)).toBe(id));
    expect(next.ws.maxSteps).toBe(tm.ws.maxSteps);
    // A learn of known words only changes nothing.
    expect(admitNewWords(next, ["the", "zorp"])).toBe(next);
    expect(next.model.vocab).toBe(BASE + 2);
  });

  it("gives no slot to numbers, punctuation or tokens over MAX_SLOT_WORD_CHARS", () => {
    const long = "a".repeat(MAX_SLOT_WORD_CHARS);
    const tm = admitNewWords(slotted(8), [
      "42",
      "3rd",
      "!",
      "...",
      "-x",
      "_y",
      "a".repeat(MAX_SLOT_WORD_CHARS + 1),
      long,
      "élan",
    ]);
    expect(tm.model.learned?.words).toEqual([long, "élan"]);
    expect(tm.vocab.index.has("42")).toBe(false);
    expect(tm.vocab.index.has("a".repeat(MAX_SLOT_WORD_CHARS + 1))).toBe(false);
  });

  it("counts a word's uses and stamps its last use once per learn, however often it occurs", () => {
    const tm = admitAll(slotted(), ["zorp", "zorp", "zorp"], ["the", "zorp", "zorp", "quux"], ["dog"]);
    const learned = tm.model.learned!;
    expect(learned.clock).toBe(3);
    expect(learned.words).toEqual(["zorp", "quux"]);
    expect(learned.uses).toEqual([2, 1]);
    expect(learned.lastUse).toEqual([2, 2]);
  });

  it("gives a full model's least recently used slot to a new word, started afresh", () => {
    let tm = admitAll(slotted(3), ["aa"], ["bb"], ["cc"], ["aa", "the"]);
    const m = tm.model;
    expect(m.learned?.lastUse).toEqual([4, 2, 3]);
    for (const [slot, value] of [
      [0, 0.25],
      [1, 0.5],
      [2, 0.75],
    ])
      scribble(m, BASE + slot, value);
    const before = { aa: [column(m, BASE), row(m, BASE)], cc: [column(m, BASE + 2), row(m, BASE + 2)] };

    tm = admitNewWords(tm, ["dd"]);
    // Same slots, same buffers: no new model.
    expect(tm.model).toBe(m);
    expect(m.learned?.words).toEqual(["aa", "dd", "cc"]);
    expect(m.learned?.uses).toEqual([2, 1, 1]);
    expect(m.learned?.lastUse).toEqual([4, 5, 3]);
    expect(column(m, BASE + 1)).toEqual(column(m, UNK));
    expect(row(m, BASE + 1)).toEqual(new Array(m.hidden).fill(0));
    expect([column(m, BASE), row(m, BASE)]).toEqual(before.aa);
    expect([column(m, BASE + 2), row(m, BASE + 2)]).toEqual(before.cc);
    expect(tm.vocab.index.get("dd")).toBe(BASE + 1);
    expect(tm.vocab.index.has("bb")).toBe(false);
    expect(tm.vocab.words[BASE + 1]).toBe("dd");
    expect(tm.vocab.words.length).toBe(BASE + 3);
  });

  it("never evicts a word used in the same learn, nor a base word", () => {
    let tm = admitAll(slotted(3), ["aa"], ["bb"], ["cc"]);
    const evictable = tm.model.learned!;
    tm = admitNewWords(tm, ["the", "aa", "dd", "ee", "ff", "dog"]);
    // dd and ee took bb's and cc's slots; aa was used in this learn, so ff finds none.
    expect(tm.model.learned).toBe(evictable);
    expect(evictable.words).toEqual(["aa", "dd", "ee"]);
    expect(evictable.lastUse).toEqual([4, 4, 4]);
    for (const w of ["bb", "cc", "ff"]) expect(tm.vocab.index.has(w)).toBe(false);
    // A learn of many new words never touches the base vocabulary.
    tm = admitNewWords(tm, ["gg", "hh", "ii", "jj", ...WORDS]);
    expect(evictable.words).toEqual(["gg", "hh", "ii"]);
    tinyVocab().words.forEach((w, id) => expect(tm.vocab.index.get(w)).toBe(id));
    expect(tm.vocab.words.length).toBe(BASE + 3);
  });

  it("admits nothing in a model without slots", () => {
    const tm = textModel(tinyModel(), tinyVocab(), 16);
    expect(admitNewWords(tm, ["zorp"])).toBe(tm);
    expect(tm.model.learned).toBeUndefined();
    expect(tm.vocab.index.has("zorp")).toBe(false);
  });

  it("admitWords reports the slots whose word changed", () => {
    const m = withWordSlots(tinyModel(), 2);
    const idOf = () => undefined;
    const first = admitWords(m, ["aa", "bb", "aa"], idOf);
    expect(first.changed).toEqual([0, 1]);
    expect(first.model.vocab).toBe(BASE + 2);
    const second = admitWords(first.model, ["bb", "cc"], (w) => (w === "bb" ? BASE + 1 : undefined));
    expect(second.changed).toEqual([0]);
    expect(second.model).toBe(first.model);
    expect(second.model.learned?.words).toEqual(["cc", "bb"]);
  });
});

describe("unknownUntilShared", () => {
  it(`reads a learned word as <unk> until ${KNOWN_AFTER} subjects taught it, however often one did`, () => {
    const m = withLearnedCount(withWordSlots(tinyModel(), 3), 3);
    const taught = {
      uses: [9, KNOWN_AFTER, KNOWN_AFTER + 3],
      teachers: [1, KNOWN_AFTER, KNOWN_AFTER],
      firstBy: [7, 7, 0],
    };
    Object.assign(m.learned!, { words: ["aa", "bb", "cc"], ...taught, lastUse: [1, 1, 1], clock: 1 });
    const ids = Int32Array.from([0, 5, BASE, BASE + 1, BASE + 2, BASE, 1]);
    expect(unknownUntilShared(m, ids)).toBe(ids);
    expect(Array.from(ids)).toEqual([0, 5, UNK, BASE + 1, BASE + 2, UNK, 1]);
  });

  it("learnWords learns a new word as <unk> first, as itself from its second learn", () => {
    let tm = slotted();
    const idOf = (w: string) => tinyVocab().index.get(w)!;
    for (let learn = 1; learn <= KNOWN_AFTER + 1; learn++) {
      const r = learnWords(tm, ["the", "zorp", "dog"], OPTS);
      tm = r.tm;
      expect(tm.vocab.index.get("zorp")).toBe(BASE);
      expect(tm.model.learned?.uses).toEqual([learn]);
      expect(Array.from(r.ids), `learn ${learn}`).toEqual([
        0,
        idOf("the"),
        learn < KNOWN_AFTER ? UNK : BASE,
        idOf("dog"),
        1,
      ]);
      expect(r.outcome.applied).toBe(1);
    }
  });

  it("does not touch a new word's own weights in its first learn", () => {
    const tm = slotted();
    const unkBefore = column(tm.model, UNK);
    const r = learnWords(tm, ["the", "zorp", "dog"], OPTS);
    const m = r.tm.model;
    expect(column(m, BASE)).toEqual(unkBefore);
    expect(column(m, UNK)).not.toEqual(unkBefore);
    expect(row(m, BASE)).toEqual(new Array(m.hidden).fill(0));
  });

  it("without a newWordRate, learnWords admits no word", () => {
    const tm = slotted();
    const { newWordRate: _, ...opts } = OPTS;
    const r = learnWords(tm, ["the", "zorp", "dog"], opts);
    expect(r.tm).toBe(tm);
    expect(tm.model.learned?.words).toEqual([]);
    expect(Array.from(r.ids)).toContain(UNK);
  });
});

// ---------------------------------------------------------------------------------------------
// The codec

/** A slotted model that has learned a few words, its U still with room for more. */
function trainedWithWords(): TextModel {
  let tm = textModel(withWordSlots(tinyModel(2), 5), tinyVocab(), 16);
  for (const tokens of [
    ["the", "zorp", "dog"],
    ["a", "quux", "zorp", "cat"],
    ["zorp", "and", "blip"],
    ["quux", "is", "good"],
  ]) {
    tm = learnWords(tm, tokens, OPTS).tm;
  }
  return tm;
}

function retag(bytes: Uint8Array, learnedWords: (meta: Record<string, unknown>) => unknown): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes.slice());
  const json = JSON.parse(metadata.learned_words) as Record<string, unknown>;
  const edited = learnedWords(json);
  return encodeSafetensors(tensors, {
    ...metadata,
    learned_words: typeof edited === "string" ? edited : JSON.stringify(edited),
  });
}

describe("learned words in a model file", () => {
  it("round-trip with their slots, counts and every weight; U is stored compact", () => {
    const tm = trainedWithWords();
    const m = tm.model;
    expect(m.learned?.words).toEqual(["zorp", "quux", "blip"]);
    expect(inputStride(m)).toBe(BASE + 5);
    const { model: out } = decodeModel(encodeModel(m, sampleMeta()));
    expect(out.vocab).toBe(BASE + 3);
    expect(out.learned).toEqual({
      base: BASE,
      capacity: 5,
      clock: 4,
      words: ["zorp", "quux", "blip"],
      uses: [3, 2, 1],
      lastUse: [3, 4, 3],
      teachers: [2, 2, 1],
      firstBy: [0, 0, 0],
    });
    expect(out.learned).toEqual(m.learned);
    expect(inputStride(out)).toBe(out.vocab);
    for (let v = 0; v < m.vocab; v++) expect(column(out, v), `U column ${v}`).toEqual(column(m, v));
    const { U: _a, ...weights } = weightsOf(m);
    const { U: _b, ...outWeights } = weightsOf(out);
    expect(Object.keys(outWeights)).toEqual(Object.keys(weights));
    for (const [k, a] of Object.entries(weights)) expect(bits(outWeights[k]), k).toEqual(bits(a));
    if (out.output.kind !== "class" || m.output.kind !== "class") throw new Error("want class output");
    expect(Array.from(out.output.classStart)).toEqual(Array.from(m.output.classStart));
    // The decoded model reads its words back into a vocabulary.
    expect(textModel(out, tinyVocab(), 16).vocab.words).toEqual(tm.vocab.words);
  });

  it("check the expected vocabulary against the base vocabulary", () => {
    const bytes = encodeModel(trainedWithWords().model, sampleMeta());
    expect(decodeModel(bytes, { vocab: BASE }).model.vocab).toBe(BASE + 3);
    expect(() => decodeModel(bytes, { vocab: BASE + 3 })).toThrow(ModelFormatError);
  });

  it.each<[string, (o: Record<string, unknown>) => unknown]>([
    ["not JSON", () => '{"capacity": 5,'],
    ["not an object", () => "[1, 2]"],
    ["a word twice", (o) => ({ ...o, words: ["zorp", "quux", "zorp"] })],
    ["a word of 33 characters", (o) => ({ ...o, words: ["zorp", "quux", "b".repeat(MAX_SLOT_WORD_CHARS + 1)] })],
    ["a number for a word", (o) => ({ ...o, words: ["zorp", "quux", "42"] })],
    ["more words than capacity", (o) => ({ ...o, capacity: 2 })],
    ["a capacity above WORD_SLOTS", (o) => ({ ...o, capacity: WORD_SLOTS + 1 })],
    ["uses of the wrong length", (o) => ({ ...o, uses: [3, 2] })],
    ["last_use of the wrong length", (o) => ({ ...o, last_use: [3, 4, 3, 1] })],
    ["a negative use", (o) => ({ ...o, uses: [3, -2, 1] })],
    ["teachers of the wrong length", (o) => ({ ...o, teachers: [1, 1] })],
    ["a first teacher that is not a 32-bit integer", (o) => ({ ...o, first_by: [0, 2 ** 31, 0] })],
    ["no clock", (o) => ({ ...o, clock: undefined })],
    [
      "fewer words than the learned class holds",
      (o) => ({ ...o, words: ["zorp", "quux"], uses: [3, 2], last_use: [3, 4] }),
    ],
  ])("refuses learned_words with %s", (_, edit) => {
    const bytes = encodeModel(trainedWithWords().model, sampleMeta());
    // The untouched metadata, re-encoded the same way, decodes.
    expect(decodeModel(retag(bytes, (o) => o)).model.learned?.words).toEqual(["zorp", "quux", "blip"]);
    expect(() => decodeModel(retag(bytes, edit))).toThrow(ModelFormatError);
  });
});
