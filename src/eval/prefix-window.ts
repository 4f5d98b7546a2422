import type { NextWordModel } from "./metrics.ts";

/**
 * A model read as /predict reads a prefix: <s> and then only the prefix's last `window` tokens
 * (predictWords in src/model/text-model.ts). Up to `window` tokens the inner model carries its
 * state forward; past that, each position starts a sentence again and reads the last `window`.
 */
export class PrefixWindow implements NextWordModel {
  readonly vocabSize: number;
  private readonly inner: NextWordModel;
  private readonly window: number;
  private readonly history: number[] = [];

  constructor(inner: NextWordModel, window: number) {
    this.inner = inner;
    this.window = window;
    this.vocabSize = inner.vocabSize;
  }

  startSentence(): void {
    this.history.length = 0;
    this.inner.startSentence();
  }

  advance(id: number): void {
    this.history.push(id);
    if (this.history.length <= this.window) {
      this.inner.advance(id);
      return;
    }
    this.inner.startSentence();
    for (let i = this.history.length - this.window; i < this.history.length; i++) this.inner.advance(this.history[i]);
  }

  prob(id: number): number {
    return this.inner.prob(id);
  }

  rivals(id: number, limit: number): number {
    return this.inner.rivals(id, limit);
  }
}
