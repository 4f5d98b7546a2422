/**
 * The vocabulary: word <-> id. Ids 0..2 are the specials <s>, </s>, <unk>; then words by
 * descending training count, ties in code-unit (String <) order, so that every frequency
 * class of the class-factorized output is a contiguous id range.
 */

export interface Vocab {
  readonly words: readonly string[];
  readonly index: ReadonlyMap<string, number>;
  /** Written forms of words that people write otherwise than the token ("i" -> "I"; src/model/written-forms.ts). */
  readonly forms?: ReadonlyMap<string, string>;
}

/** Longest written form a vocabulary may hold. */
export const MAX_FORM_CHARS = 64;

export const BOS = 0;
export const EOS = 1;
export const UNK = 2;
export const SPECIALS: readonly string[] = ["<s>", "</s>", "<unk>"];

export interface VocabOptions {
  /** Largest vocabulary size, the 3 specials included. Default: no limit. */
  readonly maxSize?: number;
  /** Words seen fewer times are left out (they become <unk>). Default 1. */
  readonly minCount?: number;
}

export interface BuiltVocab {
  readonly vocab: Vocab;
  /** Training count per id: <s> 0, </s> the number of sentences, <unk> the dropped words. */
  readonly counts: Float64Array;
}

/** Word counts of tokenized sentences, with "</s>" counting the sentences. */
export function countWords(sentences: Iterable<readonly string[]>): Map<string, number> {
  const counts = new Map<string, number>();
  let n = 0;
  for (const sentence of sentences) {
    n++;
    for (const w of sentence) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  counts.set(SPECIALS[EOS], n);
  return counts;
}

function makeVocab(words: readonly string[]): Vocab {
  return { words, index: new Map(words.map((w, i) => [w, i])) };
}

/**
 * Builds a vocabulary from training counts (as countWords makes them: the specials' keys,
 * if present, give their counts instead of becoming words).
 */
export function buildVocab(counts: ReadonlyMap<string, number>, opts: VocabOptions = {}): BuiltVocab {
  const maxWords = (opts.maxSize ?? Infinity) - SPECIALS.length;
  const minCount = opts.minCount ?? 1;
  const ranked = [...counts].filter(([w]) => !SPECIALS.includes(w));
  ranked.sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0));
  const kept = ranked.filter(([, c], i) => c >= minCount && i < maxWords);
  const dropped = ranked.slice(kept.length).reduce((sum, [, c]) => sum + c, 0);

  const vocab = makeVocab([...SPECIALS, ...kept.map(([w]) => w)]);
  const perId = new Float64Array(vocab.words.length);
  perId[BOS] = 0;
  perId[EOS] = counts.get(SPECIALS[EOS]) ?? 0;
  perId[UNK] = dropped + (counts.get(SPECIALS[UNK]) ?? 0);
  kept.forEach(([, c], i) => (perId[SPECIALS.length + i] = c));
  return { vocab, counts: perId };
}

/**
 * Parses {"words": [...], "forms"?: {word: form}} as written by vocabToJson, checking every
 * invariant: a form belongs to a vocabulary word and lowers to it.
 */
export function vocabFromJson(json: unknown): Vocab {
  const words = typeof json === "object" && json !== null ? (json as { words?: unknown }).words : undefined;
  if (!Array.isArray(words)) throw new Error('vocabulary JSON must be an object {"words": [...]}');
  if (words.length < SPECIALS.length || SPECIALS.some((s, i) => words[i] !== s)) {
    throw new Error(`vocabulary must start with ${SPECIALS.join(", ")}`);
  }
  const seen = new Set<string>();
  for (const [i, w] of words.entries()) {
    if (typeof w !== "string" || w === "") throw new Error(`vocabulary word ${i} is not a non-empty string`);
    if (seen.has(w)) throw new Error(`vocabulary word ${JSON.stringify(w)} appears twice`);
    seen.add(w);
  }
  const vocab = makeVocab(words as string[]);
  const forms = (json as { forms?: unknown }).forms;
  if (forms === undefined) return vocab;
  if (typeof forms !== "object" || forms === null || Array.isArray(forms))
    throw new Error("vocabulary forms must be an object {word: form}");
  for (const [w, form] of Object.entries(forms)) {
    if (!vocab.index.has(w) || SPECIALS.includes(w))
      throw new Error(`form of ${JSON.stringify(w)}, which is not a vocabulary word`);
    if (typeof form !== "string" || form.length > MAX_FORM_CHARS || form.toLowerCase() !== w) {
      throw new Error(
        `form of ${JSON.stringify(w)} must be a string of at most ${MAX_FORM_CHARS} characters that lowers to the word`,
      );
    }
  }
  return { ...vocab, forms: new Map(Object.entries(forms as Record<string, string>)) };
}

/** The form to show for a word: its written form, or the word itself. */
export function writtenForm(v: Vocab, word: string): string {
  return v.forms?.get(word) ?? word;
}

/** A vocabulary its owner changes in place as words are learned (a TextModel's own copy). */
export interface GrowingVocab extends Vocab {
  readonly words: string[];
  readonly index: Map<string, number>;
}

/** A copy of the base vocabulary's first `base` words followed by `learned` (a model's learned words). */
export function growingVocab(v: Vocab, base: number, learned: readonly string[]): GrowingVocab {
  const words = [...v.words.slice(0, base), ...learned];
  const index = new Map(words.map((w, i) => [w, i]));
  if (index.size !== words.length) throw new Error("a learned word is already in the vocabulary");
  return { words, index, ...(v.forms && { forms: v.forms }) };
}

/** Puts `word` at `id` (a new id at the end, or a slot given to another word). */
export function setWord(v: GrowingVocab, id: number, word: string): void {
  const old = v.words[id];
  if (old !== undefined && v.index.get(old) === id) v.index.delete(old);
  v.words[id] = word;
  v.index.set(word, id);
}

export function vocabToJson(v: Vocab): { words: readonly string[]; forms?: Record<string, string> } {
  return { words: v.words, ...(v.forms && v.forms.size > 0 && { forms: Object.fromEntries(v.forms) }) };
}

/** Token ids; words outside the vocabulary become <unk>. */
export function encode(tokens: readonly string[], vocab: Vocab): Int32Array {
  return Int32Array.from(tokens, (t) => vocab.index.get(t) ?? UNK);
}

/** [<s>, ...encode(tokens), </s>]: a whole sentence as the model reads it. */
export function encodeSentence(tokens: readonly string[], vocab: Vocab): Int32Array {
  return withMarkers(encode(tokens, vocab));
}

/** [<s>, ...ids, </s>]. */
export function withMarkers(ids: ArrayLike<number>): Int32Array {
  const out = new Int32Array(ids.length + 2);
  out[0] = BOS;
  out.set(ids, 1);
  out[out.length - 1] = EOS;
  return out;
}

/** Whether an id may be offered as a prediction (never <s>, </s>, <unk>). */
export function isSuggestible(id: number): boolean {
  return id >= SPECIALS.length;
}

/** FNV-1a 64-bit over the UTF-8 bytes of the words joined by "\n", as 16 hex digits. */
export function vocabHash(v: Vocab): string {
  const bytes = new TextEncoder().encode(v.words.join("\n"));
  // 64-bit state as two 32-bit halves; prime = 2^40 + 0x1b3.
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const b of bytes) {
    lo = (lo ^ b) >>> 0;
    const low = lo * 0x1b3;
    const carry = Math.floor(low / 0x100000000);
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = low >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}
