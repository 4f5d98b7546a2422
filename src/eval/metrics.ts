import { EOS, isSuggestible, UNK, type Vocab } from "../model/vocab.ts";

/**
 * Next-word metrics over test sentences, the same for every model.
 *
 * A sentence w1..wn is read as <s> w1 .. wn </s>; each of w1..wn and </s> is a predicted
 * position (n + 1 per sentence).
 * - Perplexity = exp(mean over ALL positions of -ln P(target)). Targets that are <unk> are
 *   included and scored as the probability the model gives the <unk> token itself; every
 *   model is scored this way (so all of them profit equally from the <unk> mass), and the
 *   number of such positions is reported.
 * - topK counts only positions whose target is a word (countsForTopK): not punctuation,
 *   not </s>, not <unk>. The k best list is what /predict can show: every suggestible id
 *   (all but <s>, </s>, <unk>). Ties count against the target: it is in the k best iff
 *   fewer than k other suggestible ids have probability >= its own.
 */

/**
 * A language model read one token at a time, so a recurrent model carries its state
 * forward instead of re-reading the sentence for each position.
 */
export interface NextWordModel {
  /** Number of ids the model's distributions cover. */
  readonly vocabSize: number;
  /** Starts a sentence: the state after reading <s>. */
  startSentence(): void;
  /** P(id | tokens read so far). */
  prob(id: number): number;
  /**
   * #{w suggestible, w != id : P(w) >= P(id)} given the tokens read so far; exact when
   * smaller than limit, otherwise any value >= limit (so a model may stop counting early).
   */
  rivals(id: number, limit: number): number;
  /** Reads id as the next token. */
  advance(id: number): void;
}

export interface EvalResult {
  /** Predicted positions: words, <unk>s and </s>. */
  readonly tokens: number;
  /** Of those, positions whose target is <unk>. */
  readonly unkTargets: number;
  /** Positions counted for topK. */
  readonly wordPositions: number;
  readonly perplexity: number;
  readonly top1: number;
  readonly top3: number;
  readonly top5: number;
}

const KS = [1, 3, 5] as const;

/** Whether a position with this target word counts for topK: it holds a letter or digit. */
export function countsForTopK(word: string): boolean {
  return /^[\p{L}\p{N}]/u.test(word);
}

/** Per id: whether a position with it as target counts for topK (a suggestible word). */
export function topKTargets(vocab: Vocab): boolean[] {
  return vocab.words.map((w, id) => isSuggestible(id) && countsForTopK(w));
}

/** Scores model on sentences of word ids (without markers), as described above. */
export function evaluate(model: NextWordModel, sentences: readonly Int32Array[], vocab: Vocab): EvalResult {
  if (model.vocabSize !== vocab.words.length) {
    throw new Error(`model covers ${model.vocabSize} ids, vocabulary has ${vocab.words.length}`);
  }
  const isWord = topKTargets(vocab);
  const limit = KS[KS.length - 1];
  const hits = KS.map(() => 0);
  let tokens = 0;
  let unkTargets = 0;
  let wordPositions = 0;
  let nll = 0;
  for (const sentence of sentences) {
    model.startSentence();
    for (let t = 0; t <= sentence.length; t++) {
      const target = t < sentence.length ? sentence[t] : EOS;
      nll -= Math.log(model.prob(target));
      tokens++;
      if (target === UNK) unkTargets++;
      if (isWord[target]) {
        wordPositions++;
        const r = model.rivals(target, limit);
        KS.forEach((k, i) => (hits[i] += r < k ? 1 : 0));
      }
      if (t < sentence.length) model.advance(target);
    }
  }
  const share = (h: number) => (wordPositions > 0 ? h / wordPositions : 0);
  return {
    tokens,
    unkTargets,
    wordPositions,
    perplexity: Math.exp(nll / tokens),
    top1: share(hits[0]),
    top3: share(hits[1]),
    top5: share(hits[2]),
  };
}

/** Word tokens (as countsForTopK) of tokenized sentences, in the vocabulary or not. */
export function wordTokens(sentences: readonly (readonly string[])[]): number {
  return sentences.reduce((n, s) => n + s.filter(countsForTopK).length, 0);
}

/**
 * r's top-k over every word token of its sentences (`words` of them, from wordTokens): what a
 * client of /predict counts, for whom a word outside the vocabulary, which no model suggests, is
 * a miss. r's own top-k leaves those positions out.
 */
export function topKOverAllWords(r: EvalResult, words: number): { top1: number; top3: number; top5: number } {
  const share = (topK: number) => (words > 0 ? Math.round(topK * r.wordPositions) / words : 0);
  return { top1: share(r.top1), top3: share(r.top3), top5: share(r.top5) };
}
