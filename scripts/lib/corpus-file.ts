/**
 * A deployer's own text as training data (`npm run train -- --corpus FILE`): UTF-8, one
 * sentence or paragraph per line, each line read by the same tokenizer as /learn and /predict.
 * Every way a file can be unusable is a CliError (one line and an exit code), never a stack trace.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { tokenCount } from "../../src/corpus/brown.ts";
import { tokenize, writtenTokens } from "../../src/model/tokenizer.ts";
import { CliError, EXIT } from "../cli/errors.ts";

/** Without --valid, every HELD_OUT_EVERY-th non-blank line (the 10th, 20th, ...) validates. */
export const HELD_OUT_EVERY = 10;
/** Fewer training tokens than this cannot fit even a small model's direct weights and classes. */
export const MIN_TRAIN_TOKENS = 1_000;

export interface TextFile {
  path: string;
  /** Tokenized non-blank lines, in file order. */
  sentences: string[][];
  /** The same lines' tokens as written, case kept (for the vocabulary's written forms). */
  written: string[][];
  sha256: string;
}

function fileError(path: string, why: string): CliError {
  return new CliError(EXIT.file, `${path}: ${why}`);
}

/** The file's bytes as text, or why they are not UTF-8 text. */
function decodeText(path: string, bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  if (nul >= 0)
    throw fileError(path, `a binary file (NUL byte at offset ${nul}); expected UTF-8 text, one sentence per line`);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw fileError(
      path,
      `not UTF-8 (invalid byte sequence at offset ${firstInvalidUtf8(bytes)}); convert it to UTF-8 first (iconv -t UTF-8)`,
    );
  }
}

/** Offset of the first byte sequence that is not UTF-8. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  // stream: a sequence cut at the end is not an error yet, so decodability is monotone in the length.
  const decodes = (end: number, stream: boolean) => {
    try {
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes.subarray(0, end), { stream });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (decodes(mid, true)) lo = mid;
    else hi = mid - 1;
  }
  // The longest decodable prefix may end inside the bad sequence (after its lead byte): back up to its start.
  let start = lo;
  while (start > 0 && lo - start < 3 && !decodes(start, false)) start--;
  return start;
}

/** Reads and tokenizes a text file; refuses a missing, unreadable, binary, non-UTF-8 or wordless one. */
export function readTextFile(path: string): TextFile {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "a directory, not a file"
          : `cannot be read (${code ?? (e as Error).message})`;
    throw fileError(path, why);
  }
  if (bytes.length === 0) throw fileError(path, "the file is empty");
  const text = decodeText(path, bytes);
  const lines = text.split(/\r?\n/).filter((line) => tokenize(line, 1).length > 0);
  if (lines.length === 0) throw fileError(path, "no text: every line is blank");
  return {
    path,
    sentences: lines.map((line) => tokenize(line, Infinity)),
    written: lines.map((line) => writtenTokens(line, Infinity)),
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}

export interface CorpusSplit {
  train: string[][];
  /** The training lines as written (TextFile.written). */
  trainWritten: string[][];
  valid: string[][];
  /** How the split was made, for train-report.json; eval re-reads the corpus from it. */
  source: CorpusSource;
}

export interface CorpusSource {
  file: string;
  sha256: string;
  /** The validation file, or null when every HELD_OUT_EVERY-th line of the corpus was held out. */
  valid: { file: string; sha256: string } | null;
  heldOutEvery: number | null;
}

/** Training and validation sentences of a corpus file (and an optional validation file). */
export function corpusSplit(corpus: TextFile, valid: TextFile | null): CorpusSplit {
  const heldOut = (i: number) => valid === null && i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1;
  const train = corpus.sentences.filter((_, i) => !heldOut(i));
  const source: CorpusSource = {
    file: corpus.path,
    sha256: corpus.sha256,
    valid: valid && { file: valid.path, sha256: valid.sha256 },
    heldOutEvery: valid ? null : HELD_OUT_EVERY,
  };
  return {
    train,
    trainWritten: corpus.written.filter((_, i) => !heldOut(i)),
    valid: valid ? valid.sentences : corpus.sentences.filter((_, i) => heldOut(i)),
    source,
  };
}

/** Refuses a split too small to train on (exit 1), saying how much more text it needs. */
export function checkTrainable(split: CorpusSplit): void {
  const tokens = tokenCount(split.train);
  if (tokens < MIN_TRAIN_TOKENS) {
    throw new CliError(
      EXIT.refused,
      `${split.source.file}: too small to train a model: ${tokens} training tokens in ${split.train.length} lines, at least ${MIN_TRAIN_TOKENS} needed`,
    );
  }
  if (split.valid.length === 0) {
    throw new CliError(
      EXIT.refused,
      `${split.source.file}: no line to validate on: give at least ${HELD_OUT_EVERY} lines, or --valid FILE`,
    );
  }
}

/** The training sentences of a recorded corpus, re-read and checked unchanged (eval's baselines train on them). */
export function recordedTrain(source: CorpusSource): string[][] {
  const corpus = readTextFile(source.file);
  if (corpus.sha256 !== source.sha256)
    throw fileError(
      source.file,
      "changed since the model was trained (sha256 differs); its baselines need the same text",
    );
  const valid = source.valid && readTextFile(source.valid.file);
  return corpusSplit(corpus, valid).train;
}
