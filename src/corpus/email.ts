import { tokenize } from "../model/tokenizer.ts";

/**
 * Prose sentences from raw e-mails (the SpamAssassin ham messages), for the
 * adaptation benchmark: a domain the Brown-trained base model never saw.
 *
 * Per message: the header block is dropped; a MIME message keeps only its
 * text/plain parts (HTML, attachments and signatures parts are skipped), with
 * quoted-printable decoded. In the body, quoted replies (lines starting with
 * > or |), reply attributions ("... wrote:"), forwarded header lines and PGP
 * armour are dropped; everything after a signature delimiter ("-- "), a
 * mailing-list footer (a line of underscores) or an "Original Message" marker
 * is cut; URLs and e-mail addresses are removed. Paragraphs are joined and
 * split into sentences, and only prose-like ones are kept (see isProse).
 */

export interface RawEmail {
  /** A stable name, e.g. "easy-ham-1/00001": the split is keyed on it. */
  readonly id: string;
  readonly text: string;
}

export interface DomainSplit {
  readonly stream: string[];
  /** Who wrote each stream sentence (senderOf its message): the subjects a shared model learns from. */
  readonly streamSenders: string[];
  readonly heldOut: string[];
}

export interface SplitOptions {
  readonly stream: number;
  readonly heldOut: number;
  /** One message in this many goes to the held-out side (by a hash of its id). */
  readonly heldOutEvery: number;
  /** At most this many sentences from one message, so no long message dominates. */
  readonly perEmail: number;
}

export const DEFAULT_SPLIT: SplitOptions = { stream: 2000, heldOut: 500, heldOutEvery: 5, perEmail: 8 };

/** Sentences are kept if they tokenize to this many tokens (the upper bound is /learn's limit). */
export const MIN_TOKENS = 4;

interface Part {
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

/** Splits a message (or MIME part) at its first blank line; header names lowercased, folded lines joined. */
export function parsePart(raw: string): Part {
  const text = raw.replace(/\r\n?/g, "\n");
  const blank = text.search(/\n[ \t]*\n/);
  const head = blank < 0 ? text : text.slice(0, blank);
  const body = blank < 0 ? "" : text.slice(blank).replace(/^\n[ \t]*\n/, "");
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, " ").split("\n")) {
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (m) headers.set(m[1].toLowerCase(), m[2]);
  }
  return { headers, body };
}

/** =XX escapes and soft line breaks of quoted-printable, byte by byte (the corpus is mostly ASCII). */
export function decodeQuotedPrintable(s: string): string {
  return s
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** The text/plain content of a part, its sub-parts' joined by blank lines; "" if it has none. */
export function plainText(part: Part): string {
  const type = (part.headers.get("content-type") ?? "text/plain").toLowerCase();
  if (type.startsWith("multipart/")) {
    const boundary = /boundary\s*=\s*"?([^";]+)"?/i.exec(part.headers.get("content-type") ?? "")?.[1];
    if (!boundary) return "";
    return multipartBodies(part.body, boundary.trim())
      .map((p) => plainText(parsePart(p)))
      .filter((t) => t !== "")
      .join("\n\n");
  }
  if (!type.startsWith("text/plain")) return "";
  const encoding = (part.headers.get("content-transfer-encoding") ?? "").trim().toLowerCase();
  if (encoding === "base64") return "";
  return encoding === "quoted-printable" ? decodeQuotedPrintable(part.body) : part.body;
}

/** The raw sub-parts between "--boundary" lines (preamble and epilogue dropped). */
function multipartBodies(body: string, boundary: string): string[] {
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of body.split("\n")) {
    const trimmed = line.trimEnd();
    if (trimmed === `--${boundary}--`) break;
    if (trimmed === `--${boundary}`) {
      if (current) parts.push(current.join("\n"));
      current = [];
    } else current?.push(line);
  }
  if (current) parts.push(current.join("\n"));
  return parts;
}

const QUOTED = /^\s*[>|]/;
const ATTRIBUTION = /(wrote|writes|said)\s*:\s*$/i;
const QUOTED_HEADER = /^\s*(from|to|cc|bcc|date|sent|subject|reply-to|message-id|newsgroups|organization)\s*:/i;
const PGP_LINE = /^(-----(BEGIN|END) PGP SIGNED MESSAGE-----|Hash:\s)/;
const PGP_SIGNATURE = /^-----BEGIN PGP SIGNATURE-----/;
/** Everything after these lines is a signature, a list footer or a quoted earlier message. */
const CUT = [/^--\s?$/, /^_{10,}\s*$/, /^-+\s*Original Message\s*-+/i, /^-{3,}.*Yahoo! Groups/i];
const ADDRESS =
  /(?:\b(?:https?|ftp|news):\/\/|\bwww\.|\bmailto:)\S*|<[^\s<>]*@[^\s<>]*>|[\w.+-]+@[\w-]+(?:\.[\w-]+)+/gi;

/** The author's own lines of a plain-text body, with URLs and addresses removed. */
export function ownLines(body: string): string[] {
  const kept: string[] = [];
  let inSignature = false;
  for (const raw of body.split("\n")) {
    const line = raw.replace(/^- (?=-)/, ""); // PGP dash-escaping
    if (CUT.some((re) => re.test(line))) break;
    if (PGP_SIGNATURE.test(line)) inSignature = true;
    if (inSignature) {
      if (/^-----END PGP SIGNATURE-----/.test(line)) inSignature = false;
      continue;
    }
    if (QUOTED.test(line) || ATTRIBUTION.test(line) || QUOTED_HEADER.test(line) || PGP_LINE.test(line)) continue;
    kept.push(line.replace(ADDRESS, " "));
  }
  return kept;
}

/** Splits lines into paragraphs (at blank lines), then each paragraph into sentences. */
export function sentencesOf(lines: readonly string[]): string[] {
  const paragraphs = lines.join("\n").split(/\n\s*\n/);
  return paragraphs.flatMap((p) =>
    p
      .replace(/\s+/g, " ")
      .trim()
      .split(/(?<=[.!?]["')\]]?)\s+(?=["'([]?[A-Z0-9])/)
      .filter((s) => s !== ""),
  );
}

/** Punctuation any sentence may have; other symbols and numbers count against prose. */
const PUNCTUATION = /^[.,;:!?"'()-]+$/;

/**
 * A sentence worth learning from: starts with a capital, digit or quote, ends with
 * . ! ? (optionally closed by a quote or bracket), tokenizes to MIN_TOKENS..maxTokens
 * tokens, and has a lowercase letter (is not shouted); of its tokens other than ordinary
 * punctuation, at least 80% are words starting with a letter (not numbers or symbols).
 * This leaves out code, logs, tables and headlines.
 */
export function isProse(sentence: string, maxTokens: number): boolean {
  if (!/^["'(]?[A-Z0-9]/.test(sentence) || !/[.!?]["')\]]?$/.test(sentence)) return false;
  if (!/[a-z]/.test(sentence)) return false;
  const tokens = tokenize(sentence, maxTokens + 1);
  if (tokens.length < MIN_TOKENS || tokens.length > maxTokens) return false;
  const counted = tokens.filter((t) => !PUNCTUATION.test(t));
  return counted.filter((t) => /^\p{L}/u.test(t)).length >= 0.8 * counted.length;
}

/** The prose sentences a message's author wrote, in order. */
export function emailSentences(raw: string, maxTokens: number): string[] {
  const body = plainText(parsePart(raw));
  return sentencesOf(ownLines(body)).filter((s) => isProse(s, maxTokens));
}

/** A message's sender: the address of its From header, lower-cased (the message's id without one). */
export function senderOf(e: RawEmail): string {
  const from = parsePart(e.text).headers.get("from");
  if (from === undefined) return e.id;
  return (/<([^>]+)>/.exec(from)?.[1] ?? /[^\s"<>()]+@[^\s"<>()]+/.exec(from)?.[0] ?? from).trim().toLowerCase();
}

/** FNV-1a 32-bit of a string's UTF-16 code units: a fixed, platform-independent shuffle key. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The deterministic stream / held-out split. Sentences that occur in two or more
 * messages (list boilerplate, quotes without markers, cross-posts) are dropped
 * everywhere, so the held-out set shares no sentence with the stream. Messages are
 * taken in order of fnv1a(id) (ties by id); a message goes to the held-out side when
 * that hash is divisible by heldOutEvery, and gives at most perEmail sentences. Each
 * side takes sentences in that order until it is full.
 */
export function splitDomain(
  emails: readonly RawEmail[],
  maxTokens: number,
  opts: SplitOptions = DEFAULT_SPLIT,
): DomainSplit {
  const perEmail = emails.map((e) => ({
    id: e.id,
    key: fnv1a(e.id),
    sender: senderOf(e),
    sentences: [...new Set(emailSentences(e.text, maxTokens))],
  }));
  const seenIn = new Map<string, number>();
  for (const e of perEmail) for (const s of e.sentences) seenIn.set(s, (seenIn.get(s) ?? 0) + 1);
  perEmail.sort((a, b) => a.key - b.key || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const stream: string[] = [];
  const streamSenders: string[] = [];
  const heldOut: string[] = [];
  for (const e of perEmail) {
    const held = e.key % opts.heldOutEvery === 0;
    const [side, size] = held ? [heldOut, opts.heldOut] : [stream, opts.stream];
    const unique = e.sentences.filter((s) => seenIn.get(s) === 1).slice(0, opts.perEmail);
    for (const s of unique) {
      if (side.length >= size) break;
      side.push(s);
      if (!held) streamSenders.push(e.sender);
    }
  }
  if (stream.length < opts.stream || heldOut.length < opts.heldOut) {
    throw new Error(`only ${stream.length} stream and ${heldOut.length} held-out sentences available`);
  }
  return { stream, streamSenders, heldOut };
}
