import { Workspace } from "./lm.ts";
import type { RnnLm } from "./model.ts";
import { LayerGradient, learnPersonal, type PersonalLayer, type PersonalLearnOptions, type PersonalLearnOutcome, personalView, widestView } from "./personal.ts";
import type { TextModel } from "./text-model.ts";
import { encodeSentence, type GrowingVocab, growingVocab, setWord, type Vocab } from "./vocab.ts";
import { assignSlots, unknownUntilRepeated } from "./word-slots.ts";

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
    vocab: growingVocab(vocab, pbase.vocab, layer.learned.words),
    // +2: the sentence markers; the widest view's buffers fit every view's.
    ws: new Workspace(widestView(pbase), maxTokens + 2),
    grad: new LayerGradient(layer.delta.length),
  };
}

/** The view as a TextModel, for predictWords and the scorers. */
export function asTextModel(pt: PersonalText): TextModel {
  return { model: pt.view, vocab: pt.vocab, ws: pt.ws };
}

/**
 * One learn of a sentence's tokens into the user's layer: new words first take the user's own
 * slots (word-slots.ts; a word is learned as itself from its second learn on), then learnPersonal.
 */
export function learnPersonalWords(pt: PersonalText, tokens: readonly string[], opts: PersonalLearnOptions): { ids: Int32Array; outcome: PersonalLearnOutcome } {
  const { layer, vocab } = pt;
  const { base, words } = layer.learned;
  const before = words.length;
  const changed = assignSlots(layer.learned, tokens, (w) => vocab.index.get(w), (id) => layer.memory.forget(id));
  for (const slot of changed) setWord(vocab, base + slot, words[slot]);
  if (words.length !== before) pt.view = personalView(pt.pbase, layer);
  const ids = unknownUntilRepeated(pt.view, encodeSentence(tokens, vocab));
  return { ids, outcome: learnPersonal(pt.view, layer, ids, opts, pt.ws, pt.grad) };
}
