import { addCount } from "./count.ts";
import type { LearnedWords, RnnLm } from "./model.ts";
import { resetLearnedWord, withLearnedCount } from "./new-words.ts";
import { UNK } from "./vocab.ts";

/**
 * Which words hold the learned-word slots (docs/adaptation.md). A word first seen in a learn
 * takes a free slot, or, when all are taken, the slot of the least recently used learned word;
 * base-vocabulary words never hold a slot, so they are never evicted. The clock counts learns.
 *
 * A word is learned as itself once KNOWN_AFTER distinct subjects (the people who taught it,
 * src/trust/subject.ts) have used it: before, it is <unk>. Most words seen once (names, typos,
 * jargon of one message) are never seen again; learning them taught the model to expect learned
 * words everywhere and cost the base words' accuracy (docs/adaptation.md). And a word only one
 * person ever taught (a name, a password) must never be suggested to anyone else by a shared
 * model (docs/limits.md): however often they teach it, it stays <unk> until a second person uses
 * it. Learns without a subject (ANONYMOUS) each count as another teacher, as every learn did.
 */

/**
 * The subject of a learn nobody signed (pure-model code, tests, a personal layer, files from
 * before subjects were kept): each such learn counts as another teacher.
 */
export const ANONYMOUS = 0;

/** Slots reserved for learned words in a model that learns online. */
export const WORD_SLOTS = 1024;

/** Longest word a slot takes: longer tokens are links, hashes and the like, not words to suggest. */
export const MAX_SLOT_WORD_CHARS = 32;

/** Most bytes one slot adds to a model file's metadata: its word JSON-escaped, its two counts, its teachers and first teacher. */
export const LEARNED_WORD_METADATA_BYTES = 256;

/** Whether a token may take a slot: a word (it starts with a letter), not a number or punctuation. */
export function mayTakeSlot(token: string): boolean {
  return token.length <= MAX_SLOT_WORD_CHARS && /^\p{L}/u.test(token);
}

/**
 * One learn's bookkeeping: ticks the clock, stamps the learned words among `tokens`, and gives
 * each new word a slot. `idOf` maps a word to its id in the model's current vocabulary. Returns
 * the model to learn with (m itself unless slots were added) and the slots whose word changed.
 */
export function admitWords(
  m: RnnLm,
  tokens: readonly string[],
  idOf: (word: string) => number | undefined,
  subject = ANONYMOUS,
): { model: RnnLm; changed: number[] } {
  const learned = m.learned;
  if (!learned) return { model: m, changed: [] };
  const changed = assignSlots(learned, tokens, idOf, (id) => resetLearnedWord(m, id), subject);
  const model = m.vocab === learned.base + learned.words.length ? m : withLearnedCount(m, learned.words.length);
  return { model, changed };
}

/**
 * admitWords' slot bookkeeping on `learned` alone (a personal layer's words use it too,
 * src/model/personal.ts): `release(id)` is called for a slot's id before it goes to another word.
 * Returns the slots whose word changed.
 */
export function assignSlots(
  learned: LearnedWords,
  tokens: readonly string[],
  idOf: (word: string) => number | undefined,
  release: (id: number) => void,
  subject = ANONYMOUS,
): number[] {
  const changed: number[] = [];
  const { base, words, uses, lastUse, teachers, firstBy } = learned;
  const clock = (learned.clock = addCount(learned.clock, 1));
  for (const token of tokens) {
    const id = idOf(token);
    if (id !== undefined && id < base) continue;
    // idOf does not know the words admitted in this learn yet; indexOf finds them.
    const held = id !== undefined && words[id - base] === token ? id - base : words.indexOf(token);
    if (held >= 0) {
      if (lastUse[held] !== clock) uses[held] = addCount(uses[held], 1);
      // KNOWN_AFTER is 2: a second distinct subject is one other than the first.
      if (teachers[held] < KNOWN_AFTER && (subject === ANONYMOUS || subject !== firstBy[held])) teachers[held]++;
      lastUse[held] = clock;
      continue;
    }
    if (!mayTakeSlot(token)) continue;
    let slot = words.length;
    if (slot === learned.capacity) {
      slot = leastRecentlyUsed(lastUse, clock);
      if (slot < 0) continue;
      release(base + slot);
    }
    words[slot] = token;
    uses[slot] = 1;
    lastUse[slot] = clock;
    teachers[slot] = 1;
    firstBy[slot] = subject;
    changed.push(slot);
  }
  return changed;
}

/** Distinct subjects a word needs (this learn's included) before it is learned as itself rather than <unk>. */
export const KNOWN_AFTER = 2;

/** Whether id is a base word, or a learned word KNOWN_AFTER subjects taught (so learned as itself and suggestible). */
export function isKnown(m: RnnLm, id: number): boolean {
  const learned = m.learned;
  return !learned || id < learned.base || learned.teachers[id - learned.base] >= KNOWN_AFTER;
}

/** ids with every learned word not yet known replaced by <unk> (in place). */
export function unknownUntilShared(m: RnnLm, ids: Int32Array): Int32Array {
  for (let i = 0; i < ids.length; i++) if (!isKnown(m, ids[i])) ids[i] = UNK;
  return ids;
}

/** The slot used longest ago, not in this learn (-1 if every slot is). */
function leastRecentlyUsed(lastUse: readonly number[], clock: number): number {
  let best = -1;
  for (let j = 0; j < lastUse.length; j++) {
    if (lastUse[j] !== clock && (best < 0 || lastUse[j] < lastUse[best])) best = j;
  }
  return best;
}
