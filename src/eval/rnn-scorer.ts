import type { ClassOutput, DirectLayer, RnnLm } from "../model/model.ts";
import { largestClass, PRUNE_MARGIN } from "../model/output/class-softmax.ts";
import { DirectScores, setHistory } from "../model/output/direct.ts";
import { fullDistribution } from "../model/output/full-softmax.ts";
import { softmaxRows } from "../model/output/rows.ts";
import { MEMORY_CONTEXT, mixed, type Recollection } from "../model/phrase-memory.ts";
import { stepHidden } from "../model/rnn.ts";
import { BOS, isSuggestible } from "../model/vocab.ts";
import type { NextWordModel } from "./metrics.ts";

/**
 * The RNN read one token at a time for evaluate(): the hidden state is carried
 * forward, so a sentence costs one recurrence step per token instead of a
 * forward pass over each prefix. All buffers are made once; reading a token
 * allocates nothing.
 *
 * What each position needs is computed on first use and cached until the next
 * token is read: the full distribution (full softmax), or the class
 * probabilities and the word probabilities of the last class asked about
 * (class-factorized), so prob() and rivals() at one position share the work.
 * Probabilities are the same products, in the same order, as the output
 * layer's distribution(), so they agree with it bit for bit; a model with a
 * phrase memory has them mixed with what the memory recalls, as /predict does.
 */

export class RnnScorer implements NextWordModel {
  readonly vocabSize: number;
  private readonly m: RnnLm;
  private readonly out: ClassOutput | undefined;
  /** s(t) of the last token read, and the buffer the next step writes. */
  private state: Float64Array;
  private spare: Float64Array;
  /** Full softmax: P(· | s) over the vocabulary. */
  private readonly dist: Float64Array;
  /** Class output: P(c | s), and P(w | cachedClass, s) for the class last asked about. */
  private readonly classProbs: Float64Array;
  private readonly wordProbs: Float64Array;
  /** Words of the classes rivals() scans besides the cached one. */
  private readonly scanProbs: Float64Array;
  /** The direct weights of the current history, and its last order - 1 tokens (oldest first). */
  private readonly wordDirect: DirectScores;
  private readonly classDirect: DirectScores;
  private readonly recent: Int32Array;
  private seen = 0;
  /** The last MEMORY_CONTEXT tokens read (oldest first, once that many were), and what the memory recalls after them. */
  private readonly context = new Int32Array(MEMORY_CONTEXT);
  private read = 0;
  private recollection: Recollection | null = null;
  private ready = false;
  private cachedClass = -1;

  constructor(m: RnnLm) {
    this.m = m;
    this.vocabSize = m.vocab;
    this.out = m.output.kind === "class" ? m.output : undefined;
    this.state = new Float64Array(m.hidden);
    this.spare = new Float64Array(m.hidden);
    const largest = this.out ? largestClass(this.out) : 0;
    this.dist = new Float64Array(this.out ? 0 : m.vocab);
    this.classProbs = new Float64Array(this.out ? this.out.classes : 0);
    this.wordProbs = new Float64Array(largest);
    this.scanProbs = new Float64Array(largest);
    const order = m.direct?.order ?? 0;
    this.wordDirect = new DirectScores(order);
    this.classDirect = new DirectScores(order);
    this.recent = new Int32Array(Math.max(0, order - 1));
    this.startSentence();
  }

  startSentence(): void {
    this.state.fill(0);
    this.seen = 0;
    this.read = 0;
    this.advance(BOS);
  }

  advance(id: number): void {
    stepHidden(this.m, id, this.state, this.spare);
    [this.state, this.spare] = [this.spare, this.state];
    if (this.m.direct) this.pushDirectHistory(this.m.direct, id);
    if (this.m.memory) {
      if (this.read < MEMORY_CONTEXT) this.context[this.read++] = id;
      else {
        this.context.copyWithin(0, 1);
        this.context[MEMORY_CONTEXT - 1] = id;
      }
      this.recollection = this.m.memory.recollect(this.context, this.read);
    }
    this.ready = false;
    this.cachedClass = -1;
  }

  prob(id: number): number {
    return mixed(this.networkProb(id), id, this.recollection);
  }

  /** P_rnn(id) at this position: the network's own, before the memory's mix. */
  private networkProb(id: number): number {
    this.prepare();
    const out = this.out;
    if (!out) return this.dist[id];
    const c = out.wordClass[id];
    this.expand(out, c);
    return this.classProbs[c] * this.wordProbs[id - out.classStart[c]];
  }

  rivals(id: number, limit: number): number {
    const pt = this.prob(id);
    const r = this.recollection;
    if (!r) return this.countAbove(1, pt, id, limit);
    // The memory scales every word it does not boost alike, by backoff: those are compared as
    // backoff · P_rnn(w), the product prob() computes, so exact ties stay ties; the boosted ones
    // are compared as mixed.
    let n = 0;
    for (const w of r.boosts.keys()) if (w !== id && isSuggestible(w) && this.prob(w) >= pt) n++;
    return n >= limit ? n : this.countAbove(r.backoff, pt, id, limit, n, r.boosts);
  }

  /**
   * n plus the suggestible words, other than id and the skipped ones, with scale · P_rnn(w) >= p;
   * counting stops once it reaches limit. Full softmax: counted on the whole distribution. Class
   * output: since P(w) = P(c(w)) · P(w | c(w)) <= P(c(w)), a word can only reach p if its class
   * has scale · P(c) >= p, so only those classes are expanded and the count is still exact. id's
   * own class (already expanded by prob) goes first, then classes in index order, which puts the
   * frequent words' classes first.
   */
  private countAbove(
    scale: number,
    p: number,
    id: number,
    limit: number,
    n = 0,
    skip?: ReadonlyMap<number, number>,
  ): number {
    const out = this.out;
    const counts = (w: number) => w !== id && isSuggestible(w) && !skip?.has(w);
    if (!out) {
      this.prepare();
      for (let w = 0; w < this.dist.length && n < limit; w++) if (counts(w) && scale * this.dist[w] >= p) n++;
      return n;
    }
    const own = out.wordClass[id];
    this.expand(out, own);
    n = this.countInClass(out, own, this.wordProbs, counts, scale, p, limit, n);
    for (let c = 0; c < out.classes && n < limit; c++) {
      if (c === own || scale * this.classProbs[c] * PRUNE_MARGIN < p) continue;
      softmaxRows(this.m.V, out.classStart[c], out.classStart[c + 1], this.state, this.scanProbs, this.wordDirect);
      n = this.countInClass(out, c, this.scanProbs, counts, scale, p, limit, n);
    }
    return n;
  }

  /** n plus the counted words of class c (P(w | c) in probs) with scale · P(w) >= p; stops at limit. */
  private countInClass(
    out: ClassOutput,
    c: number,
    probs: Float64Array,
    counts: (w: number) => boolean,
    scale: number,
    p: number,
    limit: number,
    n: number,
  ): number {
    const pc = this.classProbs[c];
    const from = out.classStart[c];
    const to = out.classStart[c + 1];
    for (let w = from; w < to && n < limit; w++) {
      if (counts(w) && scale * (pc * probs[w - from]) >= p) n++;
    }
    return n;
  }

  /** Appends id to the recent tokens (dropping the oldest when full) and hashes the new history. */
  private pushDirectHistory(direct: DirectLayer, id: number): void {
    const recent = this.recent;
    if (this.seen < recent.length) recent[this.seen++] = id;
    else if (recent.length > 0) {
      recent.copyWithin(0, 1);
      recent[recent.length - 1] = id;
    }
    setHistory(direct, recent, this.seen - 1, this.wordDirect, this.classDirect);
  }

  /** The position's distribution (full) or class probabilities (class output). */
  private prepare(): void {
    if (this.ready) return;
    if (this.out) softmaxRows(this.out.C, 0, this.out.classes, this.state, this.classProbs, this.classDirect);
    else fullDistribution(this.m, this.state, this.dist, this.wordDirect);
    this.ready = true;
  }

  /** P(w | c) for the words of class c into wordProbs, unless already there. */
  private expand(out: ClassOutput, c: number): void {
    if (c === this.cachedClass) return;
    softmaxRows(this.m.V, out.classStart[c], out.classStart[c + 1], this.state, this.wordProbs, this.wordDirect);
    this.cachedClass = c;
  }
}
