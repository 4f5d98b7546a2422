/** A model folder as `npm run train` writes it (models/base): the weights file and its vocabulary. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { RnnLm } from "../../src/model/model.ts";
import { type Vocab, vocabFromJson, vocabHash } from "../../src/model/vocab.ts";
import { decodeModel, type ModelMeta } from "../../src/store/model-codec.ts";

export const WEIGHTS_FILE = "weights.safetensors";
export const VOCAB_FILE = "vocab.json";

export function readVocabFile(dir: string): Vocab {
  return vocabFromJson(JSON.parse(readFileSync(join(dir, VOCAB_FILE), "utf8")));
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
  const bytes = readFileSync(join(dir, WEIGHTS_FILE));
  const { model, meta } = decodeModel(bytes.slice(), { vocab: vocab.words.length, vocabHash: vocabHash(vocab) });
  return { vocab, bytes, model, meta };
}
