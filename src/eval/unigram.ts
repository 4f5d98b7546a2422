import { EOS, isSuggestible } from "../model/vocab.ts";
import type { NextWordModel } from "./metrics.ts";

/**
 * The unigram baseline with add-one smoothing over the vocabulary:
 * P(w) = (c(w) + 1) / (N + V), where c counts the training targets (every word id, <unk>
 * included, and one </s> per sentence; <s> is never a target) and N is their total.
 * Add-one rather than plain maximum likelihood so that no id, <s> included, gets zero.
 */
export class Unigram implements NextWordModel {
  readonly vocabSize: number;
  private readonly p: Float64Array;
  /** Rivals of each id: the same at every position, so counted once. */
  private readonly rivalCount: Int32Array;

  /** sentences: word ids without markers. */
  constructor(sentences: readonly Int32Array[], vocabSize: number) {
    this.vocabSize = vocabSize;
    const counts = new Float64Array(vocabSize);
    let n = 0;
    for (const s of sentences) {
      for (const id of s) counts[id]++;
      counts[EOS]++;
      n += s.length + 1;
    }
    this.p = counts.map((c) => (c + 1) / (n + vocabSize));
    this.rivalCount = rankAgainstSuggestible(this.p);
  }

  // The unigram ignores context: reading tokens changes nothing.
  startSentence(): void {}

  advance(_id: number): void {}

  prob(id: number): number {
    return this.p[id];
  }

  rivals(id: number): number {
    return this.rivalCount[id];
  }
}

/** For each id: #{w suggestible, w != id : p[w] >= p[id]}. */
function rankAgainstSuggestible(p: Float64Array): Int32Array {
  const desc = Float64Array.from(p.filter((_, w) => isSuggestible(w)))
    .sort()
    .reverse();
  return Int32Array.from(p, (pid, id) => {
    // Count of desc values >= pid by binary search on the descending array.
    let lo = 0;
    let hi = desc.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (desc[mid] >= pid) lo = mid + 1;
      else hi = mid;
    }
    return lo - (isSuggestible(id) ? 1 : 0);
  });
}
