import { predictNext, Workspace } from "./lm.ts";
import type { RnnLm } from "./model.ts";
import { BOS, encode, isSuggestible, type Vocab } from "./vocab.ts";

/**
 * Words in, words out: the model with its vocabulary and reusable buffers.
 * Shared by the stateless Worker (predict) and the writer (learn, fresh predict).
 */
export interface TextModel {
  readonly model: RnnLm;
  readonly vocab: Vocab;
  readonly ws: Workspace;
}

export function textModel(model: RnnLm, vocab: Vocab, maxTokens: number): TextModel {
  // +2: the sentence markers.
  return { model, vocab, ws: new Workspace(model, maxTokens + 2) };
}

export interface Prediction {
  /** The tokens the model read (the last `window` of the prefix), OOV shown as <unk>. */
  prefix: string[];
  predictions: { word: string; p: number }[];
}

/** The k most probable next words after the last `window` tokens of a prefix. */
export function predictWords(tm: TextModel, tokens: readonly string[], k: number, window: number): Prediction {
  const recent = tokens.slice(Math.max(0, tokens.length - window));
  const ids = new Int32Array(recent.length + 1);
  ids[0] = BOS;
  ids.set(encode(recent, tm.vocab), 1);
  const top = predictNext(tm.model, ids, k, isSuggestible, tm.ws);
  return {
    prefix: Array.from(ids.subarray(1), (id) => tm.vocab.words[id]),
    predictions: top.map(({ id, p }) => ({ word: tm.vocab.words[id], p })),
  };
}
