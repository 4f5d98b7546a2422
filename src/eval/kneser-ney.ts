import { BOS, EOS, isSuggestible } from "../model/vocab.ts";
import type { NextWordModel } from "./metrics.ts";

/**
 * Interpolated modified Kneser-Ney trigram (Chen & Goodman 1998, section 3.5).
 *
 * Training sentences are padded as <s> <s> w1 .. wn </s>; every token after the padding is
 * a target with a two-token context (u, v).
 *
 *   P3(w | u v) = (c(uvw) - D3(c(uvw))) / c(uv.) + g3(uv) P2(w | v)
 *   P2(w | v)   = (n(.vw) - D2(n(.vw))) / n(.v.) + g2(v)  P1(w)
 *   P1(w)       = (n(.w)  - D1(n(.w)))  / n(..)  + g1     / V
 *
 * c are raw trigram counts; n(.vw) = #{u : c(uvw) > 0} and n(.w) = #{v : n(.vw) > 0} are
 * continuation counts. g(ctx) = (D(1) N1(ctx.) + D(2) N2(ctx.) + D(3+) N3+(ctx.)) / total(ctx.)
 * gives each level's discounted mass to the level below, so every level sums to 1 and the
 * uniform 1/V at the bottom keeps every probability above zero. A context never seen in
 * training passes its level through: P3 = P2 (or P2 = P1).
 *
 * Each level has three discounts from the count-of-counts n1..n4 of the counts it uses:
 * Y = n1 / (n1 + 2 n2), D(1) = 1 - 2Y n2/n1, D(2) = 2 - 3Y n3/n2, D(3+) = 3 - 4Y n4/n3.
 * When these are undefined or outside (0, c] (tiny corpora), the level falls back to
 * 0.5, 1, 1.5, as KenLM's --discount_fallback does.
 */

const FALLBACK_DISCOUNTS = [0, 0.5, 1, 1.5];

/** Largest vocabulary whose trigram keys (u V + v) V + w stay exact in a double. */
const MAX_VOCAB = 200_000;

/** D(c) for c = 0..3 (c >= 3 uses D(3)), estimated from the count-of-counts of counts. */
export function discounts(counts: ArrayLike<number>): readonly number[] {
  const n = [0, 0, 0, 0, 0];
  for (let i = 0; i < counts.length; i++) if (counts[i] <= 4) n[counts[i]]++;
  const y = n[1] / (n[1] + 2 * n[2]);
  const d = [0, 1 - (2 * y * n[2]) / n[1], 2 - (3 * y * n[3]) / n[2], 3 - (4 * y * n[4]) / n[3]];
  const valid = d.every((dc, c) => c === 0 || (dc > 0 && dc <= c));
  return valid ? d : FALLBACK_DISCOUNTS;
}

/** Distinct sorted keys and how often each occurs. */
function runLengths(keys: Float64Array): { keys: Float64Array; counts: Int32Array } {
  keys.sort();
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    if (i > 0 && keys[i] === keys[i - 1]) counts[counts.length - 1]++;
    else {
      distinct.push(keys[i]);
      counts.push(1);
    }
  }
  return { keys: Float64Array.from(distinct), counts: Int32Array.from(counts) };
}

/** Index of the first element >= x in sorted a[lo..hi). */
function lowerBound(a: ArrayLike<number>, x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * One interpolation level: for each context, its successor ids (ascending) with counts,
 * and the context's total and back-off weight g. Contexts are numbered 0..contexts-1.
 */
class Level {
  readonly start: Int32Array;
  readonly words: Int32Array;
  readonly counts: Int32Array;
  readonly total: Float64Array;
  readonly gamma: Float64Array;
  readonly d: readonly number[];

  /** ctxOf[i], words[i], counts[i]: entries sorted by (ctx, word). */
  constructor(contexts: number, ctxOf: Int32Array, words: Int32Array, counts: Int32Array) {
    this.words = words;
    this.counts = counts;
    this.d = discounts(counts);
    this.start = new Int32Array(contexts + 1);
    for (const c of ctxOf) this.start[c + 1]++;
    for (let c = 0; c < contexts; c++) this.start[c + 1] += this.start[c];
    this.total = new Float64Array(contexts);
    const mass = new Float64Array(contexts);
    for (let i = 0; i < counts.length; i++) {
      this.total[ctxOf[i]] += counts[i];
      mass[ctxOf[i]] += this.discount(counts[i]);
    }
    this.gamma = mass.map((m, c) => m / this.total[c]);
  }

  discount(count: number): number {
    return this.d[Math.min(count, 3)];
  }

  /** Count of word in context ctx (0 if unseen). */
  countOf(ctx: number, word: number): number {
    const hi = this.start[ctx + 1];
    const i = lowerBound(this.words, word, this.start[ctx], hi);
    return i < hi && this.words[i] === word ? this.counts[i] : 0;
  }

  /** This level's probability of a word with the given count, over the level below's. */
  interpolate(ctx: number, count: number, lower: number): number {
    if (ctx < 0 || this.total[ctx] === 0) return lower;
    return (count - this.discount(count)) / this.total[ctx] + this.gamma[ctx] * lower;
  }
}

/** A trained interpolated modified Kneser-Ney trigram, read one token at a time. */
export class KneserNey implements NextWordModel {
  readonly vocabSize: number;
  /** Sorted trigram context keys u V + v; the trigram level's context i is ctxKeys[i]. */
  private readonly ctxKeys: Float64Array;
  private readonly tri: Level;
  /** The bigram level's context is v itself. */
  private readonly bi: Level;
  /** P1 per id, and ids by descending P1 (ties by id). */
  private readonly p1: Float64Array;
  private readonly byP1: Int32Array;
  /** rivals() marks the ids it has scored with the current stamp. */
  private readonly seen: Int32Array;
  private stamp = 0;
  // State: the last two tokens read and their contexts at each level (-1: none).
  private u = BOS;
  private v = BOS;
  private triCtx = -1;

  /** sentences: word ids without markers. */
  constructor(sentences: readonly Int32Array[], vocabSize: number) {
    if (!(vocabSize > EOS && vocabSize <= MAX_VOCAB)) throw new RangeError(`vocabulary size ${vocabSize}`);
    if (sentences.length === 0) throw new Error("Kneser-Ney needs at least one training sentence");
    const V = vocabSize;
    this.vocabSize = V;

    // Raw trigram counts, keyed (u V + v) V + w and grouped by context in sorted order.
    const keys: number[] = [];
    for (const s of sentences) {
      let u = BOS;
      let v = BOS;
      for (let t = 0; t <= s.length; t++) {
        const w = t < s.length ? s[t] : EOS;
        keys.push((u * V + v) * V + w);
        u = v;
        v = w;
      }
    }
    const trigrams = runLengths(Float64Array.from(keys));
    const triCtxKey = trigrams.keys.map((k) => Math.floor(k / V));
    const contexts = runLengths(triCtxKey.slice());
    this.ctxKeys = contexts.keys;
    this.tri = new Level(
      contexts.keys.length,
      Int32Array.from(triCtxKey, (c) => lowerBound(contexts.keys, c, 0, contexts.keys.length)),
      Int32Array.from(trigrams.keys, (k) => k % V),
      trigrams.counts,
    );

    // Bigram continuation counts n(.vw): one per distinct trigram u v w, keyed v V + w.
    const bigrams = runLengths(trigrams.keys.map((k) => k % (V * V)));
    const biWords = Int32Array.from(bigrams.keys, (k) => k % V);
    this.bi = new Level(
      V,
      Int32Array.from(bigrams.keys, (k) => Math.floor(k / V)),
      biWords,
      bigrams.counts,
    );

    // Unigram continuation counts n(.w): one per distinct bigram v w.
    const cont = new Int32Array(V);
    for (const w of biWords) cont[w]++;
    const d1 = discounts(cont);
    let total = 0;
    let mass = 0;
    for (const c of cont) {
      total += c;
      if (c > 0) mass += d1[Math.min(c, 3)];
    }
    this.p1 = Float64Array.from(cont, (c) => (c > 0 ? (c - d1[Math.min(c, 3)]) / total : 0) + mass / total / V);
    this.byP1 = Int32Array.from({ length: V }, (_, i) => i).sort((a, b) => this.p1[b] - this.p1[a] || a - b);
    this.seen = new Int32Array(V);
    this.startSentence();
  }

  startSentence(): void {
    this.u = BOS;
    this.v = BOS;
    this.findContext();
  }

  advance(id: number): void {
    this.u = this.v;
    this.v = id;
    this.findContext();
  }

  private findContext(): void {
    const key = this.u * this.vocabSize + this.v;
    const i = lowerBound(this.ctxKeys, key, 0, this.ctxKeys.length);
    this.triCtx = i < this.ctxKeys.length && this.ctxKeys[i] === key ? i : -1;
  }

  /** P(w) given its counts in the current contexts; the one formula every path uses. */
  private probWith(w: number, c3: number, c2: number): number {
    return this.tri.interpolate(this.triCtx, c3, this.bi.interpolate(this.v, c2, this.p1[w]));
  }

  prob(id: number): number {
    const c3 = this.triCtx < 0 ? 0 : this.tri.countOf(this.triCtx, id);
    return this.probWith(id, c3, this.bi.countOf(this.v, id));
  }

  /**
   * Exact rival count without scoring all V ids. Every trigram successor of (u, v) is also
   * a bigram successor of v (c(uvw) > 0 implies n(.vw) > 0), so the ids S = bigram
   * successors of v are the only ones with nonzero counts; they are scored one by one.
   * Every other id w has P(w) = f(P1(w)) with f(x) = g3 (g2 x) (or fewer factors), and f is
   * non-decreasing in floating point too, so walking ids by descending P1 meets those with
   * P(w) >= P(id) first: the walk stops at the first one below, or once limit is reached.
   */
  rivals(id: number, limit: number): number {
    const pt = this.prob(id);
    const stamp = ++this.stamp;
    const isRival = (w: number, p: number) => w !== id && isSuggestible(w) && p >= pt;
    let n = 0;

    const { bi, tri } = this;
    const end2 = bi.start[this.v + 1];
    let k = this.triCtx < 0 ? 0 : tri.start[this.triCtx];
    const end3 = this.triCtx < 0 ? 0 : tri.start[this.triCtx + 1];
    for (let j = bi.start[this.v]; j < end2 && n < limit; j++) {
      const w = bi.words[j];
      const c3 = k < end3 && tri.words[k] === w ? tri.counts[k++] : 0;
      this.seen[w] = stamp;
      if (isRival(w, this.probWith(w, c3, bi.counts[j]))) n++;
    }
    for (let r = 0; r < this.vocabSize && n < limit; r++) {
      const w = this.byP1[r];
      if (this.seen[w] === stamp) continue;
      const p = this.probWith(w, 0, 0);
      if (p < pt) break;
      if (isRival(w, p)) n++;
    }
    return n;
  }
}
