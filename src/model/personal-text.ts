import { Workspace } from "./lm.ts";
import type { RnnLm } from "./model.ts";
import {
  LayerGradient,
  learnPersonal,
  type PersonalLayer,
  type PersonalLearnOptions,
  type PersonalLearnOutcome,
  personalView,
  widestView,
} from "./personal.ts";
import type { TextModel } from "./text-model.ts";
import { encodeSentence, type GrowingVocab, setWord, type Vocab } from "./vocab.ts";
import { assignSlots, unknownUntilShared } from "./word-slots.ts";

/**
 * Words in, words out for one user's layer (personal.ts): the shared base, the layer, the view
 * over both, the user's vocabulary (the base words, then the user's own) and reusable buffers.
 */
export interface PersonalText {
  readonly pbase: RnnLm;
  readonly layer: PersonalLayer;
  /** Rebuilt when the user's word count changes. */
  view: RnnLm;
  readonly vocab: GrowingVocab;
  readonly ws: Workspace;
  readonly grad: LayerGradient;
}

/** `vocab` is the shared base vocabulary (or an extension of it); maxTokens bounds a learn's or prediction's tokens. */
export function personalText(pbase: RnnLm, vocab: Vocab, layer: PersonalLayer, maxTokens: number): PersonalText {
  return {
    pbase,
    layer,
    view: personalView(pbase, layer),
    vocab: personalVocab(vocab, pbase.vocab, layer.learned.words),
    // +2: the sentence markers; the widest view's buffers fit every view's.
    ws: new Workspace(widestView(pbase), maxTokens + 2),
    grad: new LayerGradient(layer.delta.length),
  };
}

/**
 * A word index that holds only a user's own words and reads the base vocabulary's index for the
 * rest, instead of copying its 10,000 entries for each user (a layer's load was 1.1 ms of copying
 * and every layer in an isolate held its own copy). Iterating it lists the own words only.
 */
class OwnWordsIndex extends Map<string, number> {
  private readonly base: ReadonlyMap<string, number>;
  private readonly baseSize: number;

  constructor(base: ReadonlyMap<string, number>, baseSize: number) {
    super();
    this.base = base;
    this.baseSize = baseSize;
  }

  override get(word: string): number | undefined {
    const own = super.get(word);
    if (own !== undefined) return own;
    const id = this.base.get(word);
    return id !== undefined && id < this.baseSize ? id : undefined;
  }

  override has(word: string): boolean {
    return this.get(word) !== undefined;
  }
}

/** The base vocabulary's first `base` words (and their written forms), then the user's own words (ids base + j). */
function personalVocab(v: Vocab, base: number, own: readonly string[]): GrowingVocab {
  const index = new OwnWordsIndex(v.index, base);
  for (const [j, w] of own.entries()) {
    if (index.has(w)) throw new Error("an own word is already in the vocabulary");
    index.set(w, base + j);
  }
  return { words: [...v.words.slice(0, base), ...own], index, ...(v.forms && { forms: v.forms }) };
}

/** The view as a TextModel, for predictWords and the scorers. */
export function asTextModel(pt: PersonalText): TextModel {
  return { model: pt.view, vocab: pt.vocab, ws: pt.ws };
}

/**
 * One learn of a sentence's tokens into the user's layer: new words first take the user's own
 * slots (word-slots.ts; a word is learned as itself from its second learn on), then learnPersonal.
 */
export function learnPersonalWords(
  pt: PersonalText,
  tokens: readonly string[],
  opts: PersonalLearnOptions,
): { ids: Int32Array; outcome: PersonalLearnOutcome } {
  const { layer, vocab } = pt;
  const { base, words } = layer.learned;
  const before = words.length;
  const changed = assignSlots(
    layer.learned,
    tokens,
    (w) => vocab.index.get(w),
    (id) => layer.memory.forget(id),
  );
  for (const slot of changed) setWord(vocab, base + slot, words[slot]);
  if (words.length !== before) pt.view = personalView(pt.pbase, layer);
  const ids = unknownUntilShared(pt.view, encodeSentence(tokens, vocab));
  return { ids, outcome: learnPersonal(pt.view, layer, ids, opts, pt.ws, pt.grad) };
}
