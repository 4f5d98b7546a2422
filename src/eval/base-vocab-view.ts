import { UNK } from "../model/vocab.ts";
import type { NextWordModel } from "./metrics.ts";

/**
 * A model with learned words, scored in its base vocabulary's event space (docs/adaptation.md):
 * a learned word or <unk> as target gets P(<unk>) plus the probability of every learned word,
 * which is the probability the model gives "a word outside the base vocabulary", what <unk>
 * stood for before the words were learned. So perplexities before and after learning words are
 * comparable. Ranks (rivals) are the model's own: learned words are suggested like any other.
 */
export class BaseVocabView implements NextWordModel {
  readonly vocabSize: number;
  private readonly inner: NextWordModel;
  private readonly base: number;

  constructor(inner: NextWordModel, base: number) {
    this.inner = inner;
    this.base = base;
    this.vocabSize = inner.vocabSize;
  }

  startSentence(): void {
    this.inner.startSentence();
  }

  prob(id: number): number {
    if (id !== UNK && id < this.base) return this.inner.prob(id);
    let p = this.inner.prob(UNK);
    for (let w = this.base; w < this.vocabSize; w++) p += this.inner.prob(w);
    return p;
  }

  rivals(id: number, limit: number): number {
    return this.inner.rivals(id, limit);
  }

  advance(id: number): void {
    this.inner.advance(id);
  }
}
