import { UNK } from "./vocab.ts";

/**
 * Phrase memory (docs/model.md, docs/adaptation.md): for the last MEMORY_SENTENCES learned
 * sentences, how often each token followed each context of MEMORY_CONTEXT tokens. Predictions
 * mix it with the network by absolute discounting with a discount of 1, the network being the
 * distribution it backs off to:
 *
 *   P(w | h) = max(c(h, w) - 1, 0) / c(h)  +  n(h) / c(h) · P_rnn(w | h)
 *
 * where h is the last MEMORY_CONTEXT tokens, c(h) the count of h, c(h, w) of h followed by w,
 * and n(h) the number of distinct tokens that followed h. It sums to 1 over the vocabulary. A
 * continuation seen once adds nothing (its context gives its mass back to the network); one
 * seen in each of a context's c learns gets (c - 1) / c of the mass. So a phrase is remembered
 * from its second learn, as a new word is, and a context many different words followed (common
 * in any text) leaves the network nearly alone: what the network learned from a sentence is
 * spread over every similar context, what the memory holds is that sentence's own words.
 */

/** Tokens of context a memory entry conditions on: a phrase's fourth token on is recalled. */
export const MEMORY_CONTEXT = 3;

/** Learned sentences the memory holds; the oldest leaves when a new one comes in. */
export const MEMORY_SENTENCES = 2048;

/** Most ids of one remembered sentence, markers included (a learn has at most 64 tokens and 2 markers). */
export const MEMORY_MAX_SENTENCE_IDS = 128;

/** What the memory adds at one position: P(w) = backoff · P_rnn(w) + (boosts.get(w) ?? 0). */
export interface Recollection {
  readonly backoff: number;
  /** Tokens whose count after this context is at least 2, with their share of the mass. */
  readonly boosts: ReadonlyMap<number, number>;
}

/** Followers of one context: each token's count, and their total. */
interface Followers {
  total: number;
  readonly counts: Map<number, number>;
}

export class PhraseMemory {
  /** Remembered sentences, oldest first: ids as learned, markers included. */
  private readonly held: Int32Array[] = [];
  private readonly contexts = new Map<string, Followers>();

  /** The remembered sentences, oldest first (read-only views; the model file stores them). */
  sentences(): readonly Int32Array[] {
    return this.held;
  }

  /** Remembers a learned sentence ([<s>, ..., </s>]), forgetting the oldest one past MEMORY_SENTENCES. */
  add(ids: ArrayLike<number>): void {
    if (ids.length > MEMORY_MAX_SENTENCE_IDS) throw new Error(`a remembered sentence has at most ${MEMORY_MAX_SENTENCE_IDS} ids`);
    const sentence = Int32Array.from(ids);
    this.held.push(sentence);
    this.count(sentence, 1);
    if (this.held.length > MEMORY_SENTENCES) this.count(this.held.shift() as Int32Array, -1);
  }

  /** Forgets token `id` (a learned word's slot given to another word): it is remembered as <unk>. */
  forget(id: number): void {
    for (const sentence of this.held) {
      if (!sentence.includes(id)) continue;
      this.count(sentence, -1);
      for (let t = 0; t < sentence.length; t++) if (sentence[t] === id) sentence[t] = UNK;
      this.count(sentence, 1);
    }
  }

  /** What the memory adds after ids[0 .. end) (the context is its last MEMORY_CONTEXT ids); null: nothing. */
  recollect(ids: ArrayLike<number>, end: number): Recollection | null {
    if (end < MEMORY_CONTEXT) return null;
    const f = this.contexts.get(contextKey(ids, end));
    if (!f) return null;
    const boosts = new Map<number, number>();
    for (const [w, c] of f.counts) if (c >= 2) boosts.set(w, (c - 1) / f.total);
    // Every follower seen once: n(h) = c(h), the network's distribution unchanged.
    return boosts.size > 0 ? { backoff: f.counts.size / f.total, boosts } : null;
  }

  /** A copy that shares nothing with this one. */
  clone(): PhraseMemory {
    const copy = new PhraseMemory();
    for (const s of this.held) copy.add(s);
    return copy;
  }

  /** Adds (sign 1) or removes (sign -1) a sentence's context-follower counts. */
  private count(sentence: Int32Array, sign: 1 | -1): void {
    for (let t = MEMORY_CONTEXT; t < sentence.length; t++) {
      const key = contextKey(sentence, t);
      let f = this.contexts.get(key);
      if (!f) this.contexts.set(key, (f = { total: 0, counts: new Map() }));
      const w = sentence[t];
      const c = (f.counts.get(w) ?? 0) + sign;
      if (c > 0) f.counts.set(w, c);
      else f.counts.delete(w);
      f.total += sign;
      if (f.total === 0) this.contexts.delete(key);
    }
  }
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
