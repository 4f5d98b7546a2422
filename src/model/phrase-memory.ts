import { UNK } from "./vocab.ts";
import { ANONYMOUS } from "./word-slots.ts";

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

/**
 * A continuation is recalled only once this many distinct subjects (the people who taught it,
 * src/trust/subject.ts) have taught it after its context: a shared model never suggests what
 * only one person taught it, however often (docs/limits.md, "Nothing private leaks"). The
 * learns of the others still count toward no-one's: a continuation below the quorum is left out
 * of c(h) and n(h) too, so it shifts no probability either.
 */
export const MEMORY_QUORUM = 2;

/** What the memory adds at one position: P(w) = backoff · P_rnn(w) + (boosts.get(w) ?? 0). */
export interface Recollection {
  readonly backoff: number;
  /** Every token that followed this context, with its share of the mass. */
  readonly boosts: ReadonlyMap<number, number>;
}

/**
 * Positions a recollection visits at most, newest first: a context that fills the memory (one word
 * learned over and over) is counted over its newest occurrences, so a prediction's cost stays
 * bounded whatever was learned.
 */
export const RECALL_LIMIT = 2 * MEMORY_SENTENCES;

/** Ids the held sentences can take up at most, markers included. */
const MAX_HELD_IDS = MEMORY_SENTENCES * MEMORY_MAX_SENTENCE_IDS;

/** Positions are renumbered from 0 before they pass this, so they stay in an Int32Array. */
const MAX_POSITION = 2 ** 30;

/**
 * The counts are not stored: the held sentences are, in a ring of ids, with a hash index from each
 * context to the positions that follow it (a chained hash table in typed arrays, newest first).
 * Recalling a context walks its chain and counts the followers there, so learning a sentence, or
 * rebuilding the index when a model file is decoded, costs a few array writes per token instead
 * of a map entry per context (docs/model.md).
 */
export class PhraseMemory {
  /** Distinct subjects a continuation needs before it is recalled (MEMORY_QUORUM; 1 for one person's own memory). */
  readonly quorum: number;
  /** Remembered sentences, oldest first: ids as learned, markers included. */
  private readonly held: Int32Array[] = [];
  /** Who taught each held sentence (a subject's hash, src/trust/subject.ts; ANONYMOUS: untracked). */
  private readonly taughtBy: number[] = [];
  /** Position of each held sentence's first id. Positions count ids learned since the last renumbering. */
  private readonly starts: number[] = [];
  /** The position after the newest sentence. */
  private end = 0;
  /** ring[p % ring.length]: the id at position p, for the held positions. */
  private ring = new Int32Array(0);
  /** owners[p % ring.length]: who taught the sentence that holds position p. */
  private owners = new Int32Array(0);
  /** links[p % ring.length]: the previous position after the same context hash, or -1. */
  private links = new Int32Array(0);
  /** heads[hash]: the newest position after a context of that hash, or -1. */
  private heads = new Int32Array(0);

  constructor(quorum = MEMORY_QUORUM) {
    this.quorum = quorum;
  }

  /** The remembered sentences, oldest first, for the model file (the memory's own arrays: do not change them). */
  sentences(): readonly Int32Array[] {
    return this.held;
  }

  /** Who taught each of sentences(), in the same order. */
  subjects(): readonly number[] {
    return this.taughtBy;
  }

  /** Bytes the memory holds: its index and its sentences. */
  footprintBytes(): number {
    let ids = 0;
    for (const s of this.held) ids += s.length;
    return (
      this.ring.byteLength +
      this.owners.byteLength +
      this.links.byteLength +
      this.heads.byteLength +
      ids * 4 +
      this.held.length * 100
    );
  }

  /**
   * Remembers a learned sentence ([<s>, ..., </s>]) that `subject` taught, forgetting the oldest
   * one past MEMORY_SENTENCES.
   */
  add(ids: ArrayLike<number>, subject = ANONYMOUS): void {
    if (ids.length > MEMORY_MAX_SENTENCE_IDS)
      throw new Error(`a remembered sentence has at most ${MEMORY_MAX_SENTENCE_IDS} ids`);
    const sentence = Int32Array.from(ids);
    this.held.push(sentence);
    this.taughtBy.push(subject | 0);
    this.starts.push(this.end);
    if (this.held.length > MEMORY_SENTENCES) {
      this.held.shift();
      this.taughtBy.shift();
      this.starts.shift();
    }
    const live = this.end + sentence.length - this.starts[0];
    if (live > this.ring.length) this.rebuild(Math.min(MAX_HELD_IDS, Math.max(live, 2 * this.ring.length, 256)));
    else if (this.end + sentence.length > MAX_POSITION) this.rebuild(this.ring.length);
    else {
      this.index(sentence, subject | 0, this.end);
      this.end += sentence.length;
    }
  }

  /**
   * Forgets token `id` (a learned word's slot given to another word): it is remembered as <unk>.
   * The positions whose context holds id move to their new context's chain; nothing else changes.
   */
  forget(id: number): void {
    const size = this.ring.length;
    for (const [i, sentence] of this.held.entries()) {
      if (!sentence.includes(id)) continue;
      const start = this.starts[i];
      const moved: number[] = [];
      for (let t = MEMORY_CONTEXT; t < sentence.length; t++) {
        if (sentence[t - 3] === id || sentence[t - 2] === id || sentence[t - 1] === id) moved.push(start + t);
      }
      for (const p of moved) this.unlink(p);
      for (let t = 0; t < sentence.length; t++) {
        if (sentence[t] !== id) continue;
        sentence[t] = UNK;
        this.ring[(start + t) % size] = UNK;
      }
      for (const p of moved) this.link(p);
    }
  }

  /**
   * What the memory adds after ids[0 .. end) (the context is its last MEMORY_CONTEXT ids), counting
   * only the continuations `quorum` distinct subjects taught; null: nothing.
   */
  recollect(ids: ArrayLike<number>, end: number): Recollection | null {
    if (end < MEMORY_CONTEXT || this.held.length === 0) return null;
    const [a, b, c] = [ids[end - 3], ids[end - 2], ids[end - 1]];
    const { ring, links, owners, quorum } = this;
    const size = ring.length;
    const oldest = this.starts[0];
    const counts = new Map<number, number>();
    /** Per follower, the distinct subjects seen so far, up to the quorum. */
    const teachers = new Map<number, number[]>();
    // Newest first; a chain ends at a position older than the held sentences.
    let visits = 0;
    for (
      let p = this.heads[contextHash(a, b, c, this.heads.length)];
      p >= oldest && visits++ < RECALL_LIMIT;
      p = links[p % size]
    ) {
      if (ring[(p - 3) % size] !== a || ring[(p - 2) % size] !== b || ring[(p - 1) % size] !== c) continue;
      const w = ring[p % size];
      counts.set(w, (counts.get(w) ?? 0) + 1);
      const who = teachers.get(w) ?? [];
      // An anonymous sentence (no subject was given: pure-model use, files from before subjects) is untracked: it meets any quorum.
      const owner = owners[p % size];
      if (owner === ANONYMOUS) while (who.length < quorum) who.push(owner);
      else if (who.length < quorum && !who.includes(owner)) who.push(owner);
      teachers.set(w, who);
    }
    let total = 0;
    for (const [w, n] of counts) {
      if ((teachers.get(w) as number[]).length >= quorum) total += n;
      else counts.delete(w);
    }
    if (total === 0) return null;
    const boosts = new Map<number, number>();
    for (const [w, n] of counts) boosts.set(w, (n - MEMORY_DISCOUNT) / total);
    return { backoff: (MEMORY_DISCOUNT * boosts.size) / total, boosts };
  }

  /** A copy that shares nothing with this one. */
  clone(): PhraseMemory {
    const copy = new PhraseMemory(this.quorum);
    for (const [i, s] of this.held.entries()) copy.add(s, this.taughtBy[i]);
    return copy;
  }

  /** Puts a sentence's ids at positions at.. and indexes each of its positions that has a context. */
  private index(sentence: Int32Array, subject: number, at: number): void {
    const size = this.ring.length;
    for (let t = 0; t < sentence.length; t++) {
      this.ring[(at + t) % size] = sentence[t];
      this.owners[(at + t) % size] = subject;
      if (t >= MEMORY_CONTEXT) this.link(at + t);
    }
  }

  /** The chain of position p's context (the ids before it in the ring). */
  private chainOf(p: number): number {
    const size = this.ring.length;
    return contextHash(
      this.ring[(p - 3) % size],
      this.ring[(p - 2) % size],
      this.ring[(p - 1) % size],
      this.heads.length,
    );
  }

  /** Adds held position p to its context's chain, which stays newest first. */
  private link(p: number): void {
    const { heads, links } = this;
    const size = this.ring.length;
    const h = this.chainOf(p);
    if (heads[h] < p) {
      links[p % size] = heads[h];
      heads[h] = p;
      return;
    }
    let q = heads[h];
    while (links[q % size] > p) q = links[q % size];
    links[p % size] = links[q % size];
    links[q % size] = p;
  }

  /** Takes held position p out of its context's chain. */
  private unlink(p: number): void {
    const { heads, links } = this;
    const size = this.ring.length;
    const h = this.chainOf(p);
    if (heads[h] === p) {
      heads[h] = links[p % size];
      return;
    }
    for (let q = heads[h]; q > p; q = links[q % size]) {
      if (links[q % size] === p) {
        links[q % size] = links[p % size];
        return;
      }
    }
  }

  /** Lays the held sentences out again from position 0, in a ring of `size` ids. */
  private rebuild(size: number): void {
    if (this.ring.length !== size) {
      this.ring = new Int32Array(size);
      this.owners = new Int32Array(size);
      this.links = new Int32Array(size);
      // About two heads per indexed position, so chains rarely hold another context's positions.
      this.heads = new Int32Array(2 ** Math.ceil(Math.log2(2 * size)));
    }
    this.heads.fill(-1);
    this.end = 0;
    for (const [i, sentence] of this.held.entries()) {
      this.starts[i] = this.end;
      this.index(sentence, this.taughtBy[i], this.end);
      this.end += sentence.length;
    }
  }
}

/** A context's slot in a table of `size` (a power of two) heads. */
function contextHash(a: number, b: number, c: number, size: number): number {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x632be5ab, 0x85ebca77) ^ Math.imul(c + 0x2545f491, 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return h & (size - 1);
}

/** P(w | h) of a position: the network's p mixed with what the memory recalls there. */
export function mixed(p: number, w: number, r: Recollection | null): number {
  return r ? r.backoff * p + (r.boosts.get(w) ?? 0) : p;
}
