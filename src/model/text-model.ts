import { completeNext, type CompletionIndex, completionIndex, refreshIndex } from "./completion.ts";
import { type LearnOptions, type LearnOutcome, learnSentence, predictNext, Workspace } from "./lm.ts";
import { baseVocab, type RnnLm } from "./model.ts";
import { normalise } from "./tokenizer.ts";
import {
  BOS,
  encode,
  encodeSentence,
  type GrowingVocab,
  growingVocab,
  isSuggestible,
  setWord,
  SPECIALS,
  UNK,
  type Vocab,
  writtenForm,
} from "./vocab.ts";
import { ANONYMOUS, admitWords, isKnown, unknownUntilShared } from "./word-slots.ts";

/**
 * Words in, words out: the model with its vocabulary and reusable buffers.
 * Shared by the stateless Worker (predict) and the writer (learn, fresh predict).
 */
export interface TextModel {
  readonly model: RnnLm;
  /** The model's own: new words are set in it in place. */
  readonly vocab: GrowingVocab;
  readonly ws: Workspace;
}

/** `vocab` is the base vocabulary (or any extension of it): the model's learned words follow it. */
export function textModel(model: RnnLm, vocab: Vocab, maxTokens: number): TextModel {
  const words = growingVocab(vocab, baseVocab(model), model.learned?.words ?? []);
  // +2: the sentence markers.
  return { model, vocab: words, ws: new Workspace(model, maxTokens + 2) };
}

/**
 * Gives the new words among a learn's tokens their slots (word-slots.ts) before the learn
 * encodes them, updating tm's vocabulary in place; a new TextModel (with buffers for the
 * larger vocabulary) when slots were added, tm itself otherwise.
 */
export function admitNewWords(tm: TextModel, tokens: readonly string[], subject = ANONYMOUS): TextModel {
  const { model, changed } = admitWords(tm.model, tokens, (w) => tm.vocab.index.get(w), subject);
  const base = baseVocab(model);
  for (const slot of changed) setWord(tm.vocab, base + slot, model.learned?.words[slot] ?? "");
  return model === tm.model ? tm : { model, vocab: tm.vocab, ws: new Workspace(model, tm.ws.maxSteps) };
}

/**
 * One learn of a sentence's tokens, as /learn applies it: with a new-word rate set (and a model
 * with slots), the new words first take slots; then the sentence is learned, a word in its first
 * learn still as <unk> (word-slots.ts). Returns the model
 * to go on with (tm, or a new one when the vocabulary changed) and the ids learned.
 */
export function learnWords(
  tm: TextModel,
  tokens: readonly string[],
  opts: LearnOptions,
): { tm: TextModel; ids: Int32Array; outcome: LearnOutcome } {
  const next = opts.newWordRate === undefined ? tm : admitNewWords(tm, tokens, opts.subject);
  const ids = unknownUntilShared(next.model, encodeSentence(tokens, next.vocab));
  const outcome = learnSentence(next.model, ids, opts, next.ws);
  // The weights moved: the completion index's class centroids are rebuilt on next use.
  completionIndexes.delete(next.model);
  return { tm: next, ids, outcome };
}

export interface Prediction {
  /** The tokens the model read (the last `window` of the prefix), OOV shown as <unk>. */
  prefix: string[];
  /** word: the token; text: its written form (vocab.ts writtenForm). */
  predictions: { word: string; text: string; p: number }[];
}

/** [<s>, the last `window` tokens' ids]. */
function windowIds(tm: TextModel, tokens: readonly string[], window: number): Int32Array {
  const recent = tokens.slice(Math.max(0, tokens.length - window));
  const ids = new Int32Array(recent.length + 1);
  ids[0] = BOS;
  ids.set(encode(recent, tm.vocab), 1);
  return ids;
}

function predictionOf(tm: TextModel, ids: Int32Array, top: readonly { id: number; p: number }[]): Prediction {
  return {
    prefix: Array.from(ids.subarray(1), (id) => tm.vocab.words[id]),
    predictions: top.map(({ id, p }) => ({
      word: tm.vocab.words[id],
      text: writtenForm(tm.vocab, tm.vocab.words[id]),
      p,
    })),
  };
}

/** The k most probable next words after the last `window` tokens of a prefix, among the ids `allowed`. */
export function predictWords(
  tm: TextModel,
  tokens: readonly string[],
  k: number,
  window: number,
  allowed: (id: number) => boolean = isSuggestible,
): Prediction {
  const ids = windowIds(tm, tokens, window);
  // A learned word fewer than KNOWN_AFTER subjects taught is never shown (word-slots.ts).
  return predictionOf(
    tm,
    ids,
    predictNext(tm.model, ids, k, (id) => allowed(id) && isKnown(tm.model, id), tm.ws),
  );
}

/** Ids whose word is not in `blocked` (a blocklist: such words are never suggested, still read as context). */
export function notBlocked(v: Vocab, blocked: ReadonlySet<string>): (id: number) => boolean {
  return blocked.size === 0 ? () => true : (id) => !blocked.has(v.words[id]);
}

/**
 * tokens with each word of `blocked` that has no id in v as <unk>: a blocked word never takes a
 * learned-word slot (the learn, and its replay from the log, see <unk> there), while one the
 * vocabulary holds is still learned as context.
 */
export function withoutNewBlocked(v: Vocab, tokens: readonly string[], blocked: ReadonlySet<string>): string[] {
  return tokens.map((t) => (blocked.has(t) && !v.index.has(t) ? SPECIALS[UNK] : t));
}

/** A model's completion index with the state it was built for (the learn clock and the vocabulary's size). */
interface Stamped {
  index: CompletionIndex;
  clock: number;
  vocab: number;
}

const completionIndexes = new WeakMap<RnnLm, Stamped>();

/**
 * tm's completion index, built on first use and rebuilt after its model learned (the learned
 * words' clock ticks with every learn through learnWords) or grew; the base classes' sorted
 * candidates are kept, their centroids recomputed.
 */
function completionIndexOf(tm: TextModel): CompletionIndex {
  const m = tm.model;
  const clock = m.learned?.clock ?? 0;
  const cached = completionIndexes.get(m);
  if (cached && cached.clock === clock && cached.vocab === m.vocab) return cached.index;
  const index = cached
    ? refreshIndex(m, tm.vocab.words, cached.index, baseVocab(m))
    : completionIndex(m, tm.vocab.words);
  completionIndexes.set(m, { index, clock, vocab: m.vocab });
  return index;
}

/**
 * The k most probable words to complete the current word, whose typed characters are `partial`,
 * after the last `window` tokens of the prefix (src/model/completion.ts); `allowed` may rule out
 * more ids (a blocklist) than the specials and punctuation.
 */
export function completeWords(
  tm: TextModel,
  tokens: readonly string[],
  partial: string,
  k: number,
  window: number,
  allowed: (id: number) => boolean = () => true,
): Prediction {
  const ids = windowIds(tm, tokens, window);
  // A learned word fewer than KNOWN_AFTER subjects taught is never shown (word-slots.ts).
  const shown = (id: number) => isKnown(tm.model, id) && allowed(id);
  return predictionOf(tm, ids, completeNext(tm.model, ids, k, completionIndexOf(tm), normalise(partial), shown, tm.ws));
}

/**
 * What /predict answers: the next words (predictWords), or with a partial the words completing it
 * (completeWords), among the ids `allowed` beyond the specials (and punctuation, for completion).
 */
export function suggestWords(
  tm: TextModel,
  tokens: readonly string[],
  partial: string | undefined,
  k: number,
  window: number,
  allowed: (id: number) => boolean = () => true,
): Prediction {
  return partial === undefined
    ? predictWords(tm, tokens, k, window, (id) => isSuggestible(id) && allowed(id))
    : completeWords(tm, tokens, partial, k, window, allowed);
}
