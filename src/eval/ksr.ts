import { isWord } from "../model/completion.ts";

/**
 * Keystroke savings (KSR), the standard measure of predictive text, by simulating a person who
 * types sentences with a suggestion bar (issue 17's protocol):
 *
 *   - The text is the sentence's tokens, each followed by one space.
 *   - Before each character of a word, and after its last one, the typist asks for k
 *     suggestions for the text so far (the tokens before the word, and the characters typed of
 *     it). If the word is among them, one keystroke takes it with its following space; otherwise
 *     the next character is typed (after the last one, the space).
 *   - Punctuation (a token that is not a word) is typed, with its space.
 *
 *   KSR = 1 − (keystrokes typed + selections) / characters of the text (spaces included).
 */

/** What the typist asks: the k words the suggestion bar shows, best first. */
export interface Suggester {
  suggest(before: readonly string[], partial: string, k: number): readonly string[] | Promise<readonly string[]>;
  /** Called with each sentence once typed (the run that learns from its user); absent: no learning. */
  typed?(sentence: readonly string[]): void | Promise<void>;
}

export interface KsrResult {
  sentences: number;
  /** Characters of the text, spaces included. */
  chars: number;
  /** Characters typed (letters, punctuation, spaces). */
  typed: number;
  /** Suggestions taken, one keystroke each. */
  selections: number;
  /** typed + selections. */
  keystrokes: number;
  /** Suggestion requests made. */
  requests: number;
  /** takenAfter[i]: words taken after i characters typed (the last entry: after 3 or more). */
  takenAfter: number[];
  ksr: number;
}

/** Runs the simulation over the sentences with k suggestions. */
export async function simulateTyping(
  sentences: readonly (readonly string[])[],
  suggester: Suggester,
  k: number,
): Promise<KsrResult> {
  let chars = 0;
  let typed = 0;
  let selections = 0;
  let requests = 0;
  const takenAfter = [0, 0, 0, 0];
  for (const sentence of sentences) {
    for (const [t, token] of sentence.entries()) {
      chars += token.length + 1;
      if (!isWord(token)) {
        typed += token.length + 1;
        continue;
      }
      const before = sentence.slice(0, t);
      for (let i = 0; i <= token.length; i++) {
        requests++;
        if ((await suggester.suggest(before, token.slice(0, i), k)).includes(token)) {
          selections++;
          takenAfter[Math.min(i, 3)]++;
          break;
        }
        typed++; // the next character, or after the last one the space
      }
    }
    await suggester.typed?.(sentence);
  }
  const keystrokes = typed + selections;
  return {
    sentences: sentences.length,
    chars,
    typed,
    selections,
    keystrokes,
    requests,
    takenAfter,
    ksr: 1 - keystrokes / chars,
  };
}

/**
 * The protocol's ceiling for a vocabulary: every word it knows taken at its first request, every
 * other word and all punctuation typed.
 */
export function ksrCeiling(sentences: readonly (readonly string[])[], known: (word: string) => boolean): KsrResult {
  let chars = 0;
  let typed = 0;
  let selections = 0;
  for (const sentence of sentences) {
    for (const token of sentence) {
      chars += token.length + 1;
      if (isWord(token) && known(token)) selections++;
      else typed += token.length + 1;
    }
  }
  const takenAfter = [selections, 0, 0, 0];
  return {
    sentences: sentences.length,
    chars,
    typed,
    selections,
    keystrokes: typed + selections,
    requests: 0,
    takenAfter,
    ksr: 1 - (typed + selections) / chars,
  };
}
