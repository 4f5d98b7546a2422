import { UNK } from "./vocab.ts";

/**
 * Phrase memory (docs/model.md, docs/adaptation.md): for the last MEMORY_SENTENCES learned
 * sentences, how often each token followed each context of MEMORY_CONTEXT tokens. Predictions
 * mix it with the network by absolute discounting, the network being the distribution it backs
 * off to:
 *
 *   P(w | h) = max(c(h, w) - d, 0) / c(h)  +  d · n(h) / c(h) · P_rnn(w | h)
 *
 * where h is the last MEMORY_CONTEXT tokens, c(h) the count of h, c(h, w) of h followed by w,
 * n(h) the number of distinct tokens that followed h, and d = MEMORY_DISCOUNT. It sums to 1 over
 * the vocabulary. A continuation seen in each of a context's c learns gets (c - d) / c of the
 * mass, so a sentence learned twice is recalled word by word; a context many different words
 * followed (common in any text) mostly backs off to the network. What the network learns from a
 * sentence is spread over every similar context; what the memory holds is that sentence's words.
 */

/** Tokens of context a memory entry conditions on: a phrase's fourth token on is recalled. */
export const MEMORY_CONTEXT = 3;

/** Learned sentences the memory holds; the oldest leaves when a new one comes in. */
export const MEMORY_SENTENCES = 2048;

/**
 * Most ids of one remembered sentence: a learn's, at most LIMITS.maxSentenceTokens (64) tokens and
 * its 2 markers. It bounds what a model file's memory may hold, and so what decoding one costs.
 */
export const MEMORY_MAX_SENTENCE_IDS = 66;

/** d above, chosen with npm run adapt-bench (docs/adaptation.md). */
export const MEMORY_DISCOUNT = 0.9;

/** What the memory adds at one position: P(w) = backoff · P_rnn(w) + (boosts.get(w) ?? 0). */
export interface Recollection {
  readonly backoff: number;
  /** Every token that followed this context, with its share of the mass. */
  readonly boosts: ReadonlyMap<number, number>;
}

/**
 * Followers of one context, flat (most contexts have one, and the memory holds tens of thousands):
 * [total, token, count, token, count, ...].
 */
type Followers = number[];

export class PhraseMemory {
  /** Remembered sentences, oldest first: ids as learned, markers included. */
  private readonly held: Int32Array[] = [];
  private readonly contexts = new Map<string, Followers>();
  /** Per token, how many times the held sentences hold it: forget() skips tokens they do not. */
  private readonly occurrences = new Map<number, number>();

  /** The remembered sentences, oldest first, for the model file (the memory's own arrays: do not change them). */
  sentences(): readonly Int32Array[] {
    return this.held;
  }

  /**
   * About how many bytes of JavaScript heap the memory holds: mostly its contexts, each a string
   * key, a small array and a map slot (measured in Node: about 160 bytes a context with 64-word
   * sentences, 220 with 20-word ones; the larger is counted).
   */
  footprintBytes(): number {
    let ids = 0;
    for (const s of this.held) ids += s.length;
    return this.contexts.size * 220 + this.occurrences.size * 50 + ids * 4;
  }

  /** Remembers a learned sentence ([<s>, ..., </s>]), forgetting the oldest one past MEMORY_SENTENCES. */
  add(ids: ArrayLike<number>): void {
    if (ids.length > MEMORY_MAX_SENTENCE_IDS) throw new Error(`a remembered sentence has at most ${MEMORY_MAX_SENTENCE_IDS} ids`);
    const sentence = Int32Array.from(ids);
    this.held.push(sentence);
    this.count(sentence, 1);
    if (this.held.length > MEMORY_SENTENCES) this.count(this.held.shift() as Int32Array, -1);
  }

  /**
   * Forgets token `id` (a learned word's slot given to another word): it is remembered as <unk>.
   * Only the positions whose context or follower holds id change, and only those are recounted.
   */
  forget(id: number): void {
    const n = this.occurrences.get(id);
    if (n === undefined) return;
    for (const sentence of this.held) {
      if (!sentence.includes(id)) continue;
      const changed = positionsNear(sentence, id);
      for (const t of changed) this.countAt(sentence, t, -1);
      for (let t = 0; t < sentence.length; t++) if (sentence[t] === id) sentence[t] = UNK;
      for (const t of changed) this.countAt(sentence, t, 1);
    }
    this.occurrences.delete(id);
    this.occurrences.set(UNK, (this.occurrences.get(UNK) ?? 0) + n);
  }

  /** What the memory adds after ids[0 .. end) (the context is its last MEMORY_CONTEXT ids); null: nothing. */
  recollect(ids: ArrayLike<number>, end: number): Recollection | null {
    if (end < MEMORY_CONTEXT) return null;
    const f = this.contexts.get(contextKey(ids, end));
    if (!f) return null;
    const total = f[0];
    const boosts = new Map<number, number>();
    for (let i = 1; i < f.length; i += 2) boosts.set(f[i], (f[i + 1] - MEMORY_DISCOUNT) / total);
    return { backoff: (MEMORY_DISCOUNT * boosts.size) / total, boosts };
  }

  /** A copy that shares nothing with this one. */
  clone(): PhraseMemory {
    const copy = new PhraseMemory();
    for (const s of this.held) copy.add(s);
    return copy;
  }

  /** Adds (sign 1) or removes (sign -1) a sentence's counts. */
  private count(sentence: Int32Array, sign: 1 | -1): void {
    for (const id of sentence) {
      const n = (this.occurrences.get(id) ?? 0) + sign;
      if (n > 0) this.occurrences.set(id, n);
      else this.occurrences.delete(id);
    }
    for (let t = MEMORY_CONTEXT; t < sentence.length; t++) this.countAt(sentence, t, sign);
  }

  /** Adds or removes one count of sentence[t] following its context. */
  private countAt(sentence: Int32Array, t: number, sign: 1 | -1): void {
    const key = contextKey(sentence, t);
    const w = sentence[t];
    const f = this.contexts.get(key);
    if (!f) {
      // Counts are only removed from contexts that hold them: an absent context is being added.
      this.contexts.set(key, [1, w, 1]);
      return;
    }
    let i = 1;
    while (i < f.length && f[i] !== w) i += 2;
    f[0] += sign;
    if (f[0] === 0) this.contexts.delete(key);
    // Arrays of exactly their size: push would leave room for 16 more numbers in each.
    else if (i === f.length) this.contexts.set(key, [...f, w, 1]);
    else if (f[i + 1] + sign > 0) f[i + 1] += sign;
    else this.contexts.set(key, [...f.slice(0, i), ...f.slice(i + 2)]);
  }
}

/** The positions t >= MEMORY_CONTEXT whose token or context holds id. */
function positionsNear(sentence: Int32Array, id: number): number[] {
  const near: number[] = [];
  let last = -Infinity;
  for (let t = 0; t < sentence.length; t++) {
    if (sentence[t] === id) last = t;
    if (t >= MEMORY_CONTEXT && t - last <= MEMORY_CONTEXT) near.push(t);
  }
  return near;
}

function contextKey(ids: ArrayLike<number>, end: number): string {
  let key = String(ids[end - MEMORY_CONTEXT]);
  for (let t = end - MEMORY_CONTEXT + 1; t < end; t++) key += "," + ids[t];
  return key;
}

/** P(w | h) of a position: the network's p mixed with what the memory recalls there. */
export function mixed(p: number, w: number, r: Recollection | null): number {
  return r ? r.backoff * p + (r.boosts.get(w) ?? 0) : p;
}
