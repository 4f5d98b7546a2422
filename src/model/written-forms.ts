/**
 * Written forms: how people write a vocabulary word ("I", "Washington", "U.S."), since tokens are
 * lower case. A word's form is the one written most often, counted where case carries meaning:
 * not at a sentence's start (nor right after an opening quote or bracket there), where any word is
 * capitalised. The forms of a vocabulary are stored with it (vocab.ts); only forms that differ from
 * the word are kept.
 */

/** Counts of written forms per token. */
export class FormCounts {
  private readonly counts = new Map<string, Map<string, number>>();

  /** Counts one sentence: its tokens and the same tokens as written (tokenize and writtenTokens). */
  addSentence(tokens: readonly string[], written: readonly string[]): void {
    if (tokens.length !== written.length) return;
    let start = true;
    for (const [i, token] of tokens.entries()) {
      const form = written[i];
      // Past the sentence's opening punctuation, the first word is capitalised whatever it is.
      const counts = !start && form.toLowerCase() === token;
      if (/^[\p{L}\p{N}]/u.test(token)) start = false;
      if (!counts) continue;
      const forms = this.counts.get(token) ?? new Map<string, number>();
      forms.set(form, (forms.get(form) ?? 0) + 1);
      this.counts.set(token, forms);
    }
  }

  /** Each word's most frequent form (ties: the lower case first, then code-unit order), where it differs from the word. */
  forms(words: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const w of words) {
      const forms = this.counts.get(w);
      if (!forms) continue;
      let best = w;
      let bestCount = forms.get(w) ?? 0;
      for (const [form, n] of forms) {
        if (form === w) continue;
        if (n > bestCount || (n === bestCount && best !== w && form < best)) [best, bestCount] = [form, n];
      }
      if (best !== w) out.set(w, best);
    }
    return out;
  }
}
