/** A model folder as `npm run train` writes it (models/base): the weights file and its vocabulary. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RnnLm } from "../../src/model/model.ts";
import { type Vocab, vocabFromJson, vocabHash } from "../../src/model/vocab.ts";
import { decodeModel, type ModelMeta } from "../../src/store/model-codec.ts";
import { CliError, EXIT } from "../cli/errors.ts";
import type { CorpusSource } from "./corpus-file.ts";

export const WEIGHTS_FILE = "weights.safetensors";
export const VOCAB_FILE = "vocab.json";
export const REPORT_FILE = "train-report.json";

/** f's value; a missing or unreadable file, or one f refuses, is a CliError naming the folder. */
function fromFile<T>(dir: string, name: string, f: (bytes: Buffer) => T): T {
  const path = join(dir, name);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new CliError(
      EXIT.file,
      `${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? "error"}); a model folder holds ${WEIGHTS_FILE} and ${VOCAB_FILE}, as npm run train writes them`,
    );
  }
  try {
    return f(bytes);
  } catch (e) {
    throw new CliError(EXIT.file, `${path}: ${(e as Error).message}`);
  }
}

export function readVocabFile(dir: string): Vocab {
  return fromFile(dir, VOCAB_FILE, (bytes) => vocabFromJson(JSON.parse(bytes.toString("utf8"))));
}

export interface ModelDir {
  vocab: Vocab;
  /** The weights file as stored. */
  bytes: Uint8Array;
  /** Decoded from a copy of bytes, checked against the vocabulary. */
  model: RnnLm;
  meta: ModelMeta;
}

export function readModelDir(dir: string): ModelDir {
  const vocab = readVocabFile(dir);
  return fromFile(dir, WEIGHTS_FILE, (bytes) => {
    const { model, meta } = decodeModel(bytes.slice(), { vocab: vocab.words.length, vocabHash: vocabHash(vocab) });
    return { vocab, bytes, model, meta };
  });
}

/** The text a model folder was trained on, from its train-report.json: a corpus file, or Brown (also when there is no report). */
export function trainedOn(dir: string): CorpusSource | "brown" {
  if (!existsSync(join(dir, REPORT_FILE))) return "brown";
  const report = fromFile(dir, REPORT_FILE, (bytes) => JSON.parse(bytes.toString("utf8")) as { corpus?: unknown });
  const corpus = report.corpus;
  return typeof corpus === "object" && corpus !== null && "file" in corpus ? (corpus as CorpusSource) : "brown";
}
