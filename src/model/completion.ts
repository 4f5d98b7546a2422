import { nextWordContext, type Workspace } from "./lm.ts";
import type { RnnLm } from "./model.ts";
import type { OutputScratch } from "./output/index.ts";
import { PRUNE_MARGIN } from "./output/class-softmax.ts";
import { fullDistribution } from "./output/full-softmax.ts";
import { softmaxRows } from "./output/rows.ts";
import { TopK } from "./output/top-k.ts";
import { mixed, type Recollection } from "./phrase-memory.ts";
import { isSuggestible } from "./vocab.ts";

/**
 * Completion: the k most probable next words that start with the characters typed of the current
 * word (docs/model.md, "Completion"). Exact, and fast with a class-factorized output:
 *
 *   - The candidates are the vocabulary's words (a letter or digit first: punctuation is typed,
 *     never completed), grouped by output class, each group sorted by word. Vocabulary words are
 *     tokenizer output, so sorted by their normalised form: the words that start with a partial
 *     are one contiguous run of each group, found by binary search.
 *   - Classes are visited by decreasing P(c), and a class is expanded (its softmax) only when it
 *     has a candidate in the run. As in classTopK, P(w) = P(c)·P(w|c) <= P(c) (times the phrase
 *     memory's backoff, its boosted words' classes visited first), so once P(c) cannot beat the
 *     k-th best word found, no later class can hold a better one.
 *   - A class with candidates is expanded only if a cheap upper bound of its best candidate's
 *     P(w|c) can still enter: the candidates' scores z_w = V_w·s + direct, and a lower bound of
 *     the class's partition function Z_c = Σ_j exp(z_j) by Jensen over the others,
 *     Z_c >= Σ_candidates exp(z_j) + (n - m)·exp(mean of the others' z), where the mean of all n
 *     scores is centroid_c·s + the mean of the direct weights (centroids kept in the index).
 */

/** A word the completion offers: a letter or digit first (not punctuation, not a special). */
export function isWord(word: string): boolean {
  return /^[\p{L}\p{N}]/u.test(word);
}

/** One output class's candidates, sorted by word. */
interface Group {
  /** First id of the class and the id after its last. */
  readonly from: number;
  readonly to: number;
  /** The candidates' ids, sorted by their words. */
  readonly ids: Int32Array;
  readonly keys: readonly string[];
  /** [H] the mean of the class's rows of V (all its words, candidates or not). */
  readonly centroid: Float64Array;
}

/**
 * The candidates of a vocabulary under one model's classes. Build it with completionIndex; it
 * holds the model's class centroids, so rebuild (or refreshIndex) after the model's V or its
 * vocabulary changes.
 */
export interface CompletionIndex {
  readonly words: readonly string[];
  readonly groups: readonly Group[];
}

/** The class bounds of m's output: its classes, or one class of every id for a full softmax. */
function classBounds(m: RnnLm): ArrayLike<number> {
  return m.output.kind === "class" ? m.output.classStart : [0, m.vocab];
}

/** Class from..to's group; its sorted candidates taken from `sorted` when given (same class, same words). */
function group(m: RnnLm, words: readonly string[], from: number, to: number, sorted?: Group): Group {
  let ids = sorted?.ids;
  if (!ids) {
    const candidates: number[] = [];
    for (let id = from; id < to; id++) if (isSuggestible(id) && isWord(words[id])) candidates.push(id);
    candidates.sort((a, b) => (words[a] < words[b] ? -1 : words[a] > words[b] ? 1 : 0));
    ids = Int32Array.from(candidates);
  }
  const h = m.hidden;
  const centroid = new Float64Array(h);
  for (let id = from; id < to; id++) for (let j = 0; j < h; j++) centroid[j] += m.V[id * h + j];
  for (let j = 0; j < h; j++) centroid[j] /= to - from;
  return { from, to, ids, keys: sorted?.keys ?? Array.from(ids, (id) => words[id]), centroid };
}

/** The completion index of m with words (words[id] for every id of m). */
export function completionIndex(m: RnnLm, words: readonly string[]): CompletionIndex {
  return refreshIndex(m, words, null, 0);
}

/**
 * The index of m (as it is now: every centroid is recomputed) with words, reusing prev's sorted
 * candidates of the classes that end before `changedFrom`, the first id whose word may have
 * changed since prev was built.
 */
export function refreshIndex(
  m: RnnLm,
  words: readonly string[],
  prev: CompletionIndex | null,
  changedFrom: number,
): CompletionIndex {
  const bounds = classBounds(m);
  const groups: Group[] = [];
  for (let c = 0; c + 1 < bounds.length; c++) {
    const kept = prev?.groups[c];
    const same = kept && kept.from === bounds[c] && kept.to === bounds[c + 1] && kept.to <= changedFrom;
    groups.push(group(m, words, bounds[c], bounds[c + 1], same ? kept : undefined));
  }
  return { words: [...words], groups };
}

/** [lo, hi): the run of sorted keys that start with partial. */
function run(keys: readonly string[], partial: string): [number, number] {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < partial) lo = mid + 1;
    else hi = mid;
  }
  // From lo on, the keys that start with partial come first.
  let end = keys.length;
  let a = lo;
  while (a < end) {
    const mid = (a + end) >>> 1;
    if (keys[mid].startsWith(partial)) a = mid + 1;
    else end = mid;
  }
  return [lo, a];
}

/**
 * Upper bound of max P(w | c) over the candidates ids[lo..hi) of group g, from their scores alone
 * (the Jensen bound above). scores receives the candidates' scores.
 */
function bestShareBound(
  m: RnnLm,
  g: Group,
  lo: number,
  hi: number,
  s: Float64Array,
  x: OutputScratch,
  scores: Float64Array,
): number {
  const h = m.hidden;
  const { V } = m;
  const n = g.to - g.from;
  const count = hi - lo;
  const d = x.wordDirect;
  const mask = d.D.length - 1;
  let max = -Infinity;
  for (let i = lo; i < hi; i++) {
    const id = g.ids[i];
    let z = 0;
    for (let j = 0, r = id * h; j < h; j++) z += V[r + j] * s[j];
    for (let o = 0; o < d.count; o++) z += d.D[(d.bases[o] + id) & mask];
    scores[i - lo] = z;
    if (z > max) max = z;
  }
  if (count === n) return 1;
  let meanAll = 0;
  for (let j = 0; j < h; j++) meanAll += g.centroid[j] * s[j];
  let direct = 0;
  for (let o = 0; o < d.count; o++) {
    const base = d.bases[o] + g.from;
    for (let i = 0; i < n; i++) direct += d.D[(base + i) & mask];
  }
  meanAll += direct / n;
  let candTotal = 0;
  let sumCand = 0;
  for (let i = 0; i < count; i++) {
    candTotal += scores[i];
    sumCand += Math.exp(scores[i] - max);
  }
  // Candidates that are not words (none are counted above) are among "the others" too.
  const others = n - count;
  const meanOthers = (n * meanAll - candTotal) / others;
  const lower = sumCand + others * Math.exp(meanOthers - max);
  return Math.min(1, BOUND_MARGIN / lower);
}

/** The bound's rounding differs from the softmax's (the mean of the others cancels): a margin far above both. */
const BOUND_MARGIN = 1 + 1e-9;

/**
 * The k most probable words after the state s (with x's history and r's phrase memory, as topK)
 * whose word starts with `partial` (normalised as the tokenizer does: see normaliseWord), among
 * those `allowed`, exactly, best first. index is completionIndex(m, words) of the model now.
 */
export function completeTopK(
  m: RnnLm,
  s: Float64Array,
  k: number,
  index: CompletionIndex,
  partial: string,
  allowed: (id: number) => boolean,
  x: OutputScratch,
  r: Recollection | null,
): TopK {
  const top = new TopK(k);
  const { probs } = x;
  const out = m.output;
  if (out.kind === "full") {
    const g = index.groups[0];
    const [lo, hi] = run(g.keys, partial);
    if (lo === hi) return top;
    fullDistribution(m, s, probs, x.wordDirect);
    for (let i = lo; i < hi; i++) if (allowed(g.ids[i])) top.offer(g.ids[i], mixed(probs[g.ids[i]], g.ids[i], r));
    return top;
  }
  const { classProbs } = x;
  softmaxRows(out.C, 0, out.classes, s, classProbs, x.classDirect);
  // Each class's run is found when the search first reaches the class.
  const runs: ([number, number] | undefined)[] = [];
  const runOf = (c: number) => (runs[c] ??= run(index.groups[c].keys, partial));
  const expand = (c: number) => {
    const g = index.groups[c];
    const [lo, hi] = runOf(c);
    softmaxRows(m.V, g.from, g.to, s, probs, x.wordDirect);
    for (let i = lo; i < hi; i++) {
      const id = g.ids[i];
      if (allowed(id)) top.offer(id, mixed(classProbs[c] * probs[id - g.from], id, r));
    }
  };
  const visited = new Uint8Array(out.classes);
  for (const w of r?.boosts.keys() ?? []) {
    const c = out.wordClass[w];
    if (visited[c] || !index.words[w].startsWith(partial)) continue;
    visited[c] = 1;
    expand(c);
  }
  const backoff = r?.backoff ?? 1;
  const order = Array.from({ length: out.classes }, (_, c) => c).sort((a, b) => classProbs[b] - classProbs[a]);
  const scores = new Float64Array(probs.length);
  for (const c of order) {
    if (top.size === k && classProbs[c] * backoff * PRUNE_MARGIN <= top.floor()) break;
    if (visited[c]) continue;
    const [lo, hi] = runOf(c);
    if (lo === hi) continue;
    if (top.size === k) {
      const bound = bestShareBound(m, index.groups[c], lo, hi, s, x, scores);
      if (classProbs[c] * bound * backoff * PRUNE_MARGIN <= top.floor()) continue;
    }
    expand(c);
  }
  return top;
}

/**
 * completeTopK after ids (which start with <s>), with the model's phrase memory: what predictNext
 * (src/model/lm.ts) is to topK.
 */
export function completeNext(
  m: RnnLm,
  ids: ArrayLike<number>,
  k: number,
  index: CompletionIndex,
  partial: string,
  allowed: (id: number) => boolean,
  ws: Workspace,
): { id: number; p: number }[] {
  const { s, recalled } = nextWordContext(m, ids, ws);
  return completeTopK(m, s, k, index, partial, allowed, ws.out, recalled).entries();
}
