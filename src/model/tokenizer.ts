/**
 * Text -> tokens, the same way for the Brown corpus and for users' text.
 *
 * Normalisation (in this order):
 *   - unpaired UTF-16 surrogates are dropped;
 *   - Unicode NFKC, then toLowerCase();
 *   - format characters (\p{Cf}: soft hyphen, zero-width space/joiner, BOM) are dropped;
 *   - ’ and ʼ become ' ; ‐ ‑ ‒ – become - ; — and ― become -- (Brown writes dashes as --).
 *
 * Tokens:
 *   - A word starts with a letter or digit (\p{L}\p{N}) and runs over letters, marks and
 *     digits (\p{L}\p{M}\p{N}). Inside it, a single ' or - followed by a letter or digit
 *     joins the next run, so contractions and possessives stay one token as Brown writes
 *     them: "don't", "it's", "atlanta's", "o'neill", "hard-fought". A . or , between two
 *     digits also joins: "1,000", "3.5". A trailing apostrophe splits off: "taxpayers'" ->
 *     "taxpayers", "'"; so does a leading one: "'em" -> "'", "em".
 *   - Quotes: `` '' “ ” and " each become the single token ".
 *   - Every other non-space character is punctuation: one token per character (with any
 *     combining marks after it), except that a run of the same character is one token:
 *     "--", "...", "!!".
 *   - Whitespace and control characters (\s, \p{Cc}) only separate tokens.
 *
 * tokenize is total (never throws, whatever the string) and linear in the input length;
 * it stops after maxTokens tokens.
 */

export const DEFAULT_MAX_TOKENS = 1000;

const SPACE = 0;
const LETTER = 1;
const DIGIT = 2;
const MARK = 3;
const OTHER = 4;
type Kind = typeof SPACE | typeof LETTER | typeof DIGIT | typeof MARK | typeof OTHER;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const FORMAT = /\p{Cf}/gu;
const VARIANTS = /[\u2019\u02BC\u2010-\u2015]/g;
const VARIANT_OF: Readonly<Record<string, string>> = {
  "\u2019": "'",
  "\u02BC": "'",
  "\u2010": "-",
  "\u2011": "-",
  "\u2012": "-",
  "\u2013": "-",
  "\u2014": "--",
  "\u2015": "--",
};
const QUOTE = '"';

// Sticky single-code-point tests, used only off the ASCII fast path.
const IS_LETTER = /\p{L}/uy;
const IS_DIGIT = /\p{N}/uy;
const IS_MARK = /\p{M}/uy;
const IS_SPACE = /[\s\p{Cc}]/uy;

const ASCII_KIND: Uint8Array = (() => {
  const kinds = new Uint8Array(128).fill(OTHER);
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (/[a-zA-Z]/.test(ch)) kinds[c] = LETTER;
    else if (/[0-9]/.test(ch)) kinds[c] = DIGIT;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters separate tokens, as spaces do
    else if (/[\s\x00-\x1f\x7f]/.test(ch)) kinds[c] = SPACE;
  }
  return kinds;
})();

function test(re: RegExp, s: string, i: number): boolean {
  re.lastIndex = i;
  return re.test(s);
}

/** Kind of the code point at s[i] (i < s.length). */
function kindAt(s: string, i: number): Kind {
  const c = s.charCodeAt(i);
  if (c < 128) return ASCII_KIND[c] as Kind;
  if (test(IS_LETTER, s, i)) return LETTER;
  if (test(IS_DIGIT, s, i)) return DIGIT;
  if (test(IS_MARK, s, i)) return MARK;
  if (test(IS_SPACE, s, i)) return SPACE;
  return OTHER;
}

/** UTF-16 length of the code point at s[i] (surrogates are paired after normalise). */
function widthAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
}

function isWordChar(k: Kind): boolean {
  return k === LETTER || k === DIGIT;
}

/** The normalisation above, alone: what a word being typed is matched in (src/model/completion.ts). */
export function normalise(text: string): string {
  return normaliseKeepingCase(text).toLowerCase();
}

/** The normalisation but for the lower case (lowering last gives the same text: none of the other steps sees case). */
function normaliseKeepingCase(text: string): string {
  return text
    .replace(LONE_SURROGATE, "")
    .normalize("NFKC")
    .replace(FORMAT, "")
    .replace(VARIANTS, (ch) => VARIANT_OF[ch]);
}

/** End of the word starting at s[start] (a letter or digit). */
function wordEnd(s: string, start: number): number {
  let i = start;
  let prev: Kind = SPACE;
  for (;;) {
    while (i < s.length) {
      const k = kindAt(s, i);
      if (!(isWordChar(k) || k === MARK)) break;
      prev = k;
      i += widthAt(s, i);
    }
    if (i + 1 >= s.length) return i;
    const c = s[i];
    const next = kindAt(s, i + 1);
    const joins =
      ((c === "'" || c === "-") && isWordChar(next)) || ((c === "." || c === ",") && prev === DIGIT && next === DIGIT);
    if (!joins) return i;
    i += 1;
  }
}

/** End of the punctuation token starting at s[start]: a run of one character (+ marks). */
function punctEnd(s: string, start: number): number {
  let unitEnd = start + widthAt(s, start);
  while (unitEnd < s.length && kindAt(s, unitEnd) === MARK) unitEnd += widthAt(s, unitEnd);
  const unit = s.slice(start, unitEnd);
  let i = unitEnd;
  while (s.startsWith(unit, i) && !(i + unit.length < s.length && kindAt(s, i + unit.length) === MARK)) {
    i += unit.length;
  }
  return i;
}

/** Splits text into at most maxTokens tokens by the rules above. */
export function tokenize(text: string, maxTokens: number = DEFAULT_MAX_TOKENS): string[] {
  return tokensOf(normalise(text), maxTokens);
}

/**
 * The tokens as written, case kept: tokenize's tokens (in all but rare scripts whose lower case
 * changes length, where a caller should compare each with its lowered self), for counting the
 * forms people write words in (src/model/written-forms.ts).
 */
export function writtenTokens(text: string, maxTokens: number = DEFAULT_MAX_TOKENS): string[] {
  return tokensOf(normaliseKeepingCase(text), maxTokens);
}

function tokensOf(s: string, maxTokens: number): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < s.length && tokens.length < maxTokens) {
    const k = kindAt(s, i);
    if (k === SPACE) {
      i += widthAt(s, i);
    } else if (s.startsWith("``", i) || s.startsWith("''", i)) {
      tokens.push(QUOTE);
      i += 2;
    } else if (s[i] === QUOTE || s[i] === "\u201C" || s[i] === "\u201D") {
      tokens.push(QUOTE);
      i += 1;
    } else {
      const end = isWordChar(k) ? wordEnd(s, i) : punctEnd(s, i);
      tokens.push(s.slice(i, end));
      i = end;
    }
  }
  return tokens;
}
