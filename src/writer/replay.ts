import { LIMITS } from "../config.ts";
import { learnSentence, rehearse } from "../model/lm.ts";
import type { RnnLm } from "../model/model.ts";
import { withWordSlots } from "../model/new-words.ts";
import { admitNewWords, type TextModel, textModel } from "../model/text-model.ts";
import type { Vocab } from "../model/vocab.ts";
import { WORD_SLOTS } from "../model/word-slots.ts";
import type { LogEntry } from "./learn-log.ts";

/**
 * How the writer turns a model file and its learn log back into the model it holds in memory
 * (docs/write-path.md): the same steps, in the same order, as the learns first took.
 */

/**
 * The writer's model: with its slots for new words (src/model/word-slots.ts), rehearsed (weights
 * untouched) so that the learns after a load do not pay for its buffers' growth and the JIT.
 */
export function learningModel(model: RnnLm, vocab: Vocab): TextModel {
  const tm = textModel(withWordSlots(model, WORD_SLOTS), vocab, LIMITS.maxSentenceTokens);
  rehearse(tm.model, tm.ws);
  return tm;
}

/**
 * Applies a logged learn again: the same slots for its new words (a learn logged with a
 * new-word rate admitted them), then the logged ids, exactly as first learned.
 */
export function replay(tm: TextModel, e: LogEntry): TextModel {
  const next = e.newWordRate === undefined ? tm : admitNewWords(tm, e.sentence.split(" "), e.subject);
  learnSentence(next.model, e.ids, e, next.ws);
  return next;
}
