import { type RnnLm, rnnLm } from "../model/model.ts";
import { ANONYMOUS, isKnown } from "../model/word-slots.ts";

/**
 * What anyone may download of a model (GET /model/weights without the admin token; docs/limits.md,
 * "Nothing private leaks"): its weights with no raw learned text. The phrase memory (the last
 * learned sentences, verbatim) is left out, and every learned word fewer than KNOWN_AFTER subjects
 * taught (so never suggested, and possibly one person's name or password) is renamed to a
 * placeholder. Its weights stay: they never learned the word as itself. Who taught the words
 * goes too. The copy shares the model's buffers.
 */
export function publicCopy(m: RnnLm): RnnLm {
  const learned = m.learned;
  if (!learned) return rnnLm({ ...m, memory: undefined });
  const taken = new Set(learned.words);
  const words = learned.words.map((w, slot) => {
    if (isKnown(m, learned.base + slot)) return w;
    // U+02BC, a letter no tokenizer output starts with in practice; lengthened if a word has it.
    let name = `ʼ${slot}`;
    while (taken.has(name)) name = `ʼ${name}`;
    taken.add(name);
    return name;
  });
  // Who first taught each word is a hash of a user id: not for everyone either.
  return rnnLm({
    ...m,
    memory: undefined,
    learned: { ...learned, words, firstBy: learned.firstBy.map(() => ANONYMOUS) },
  });
}
