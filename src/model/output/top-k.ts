/** The k most probable ids seen so far, best first; k is small (<= 50), so insertion is cheapest. */
export class TopK {
  readonly ids: Int32Array;
  readonly probs: Float64Array;
  readonly k: number;
  size = 0;

  constructor(k: number) {
    this.k = k;
    this.ids = new Int32Array(k);
    this.probs = new Float64Array(k);
  }

  /** The probability a candidate must beat to enter (0 until full). */
  floor(): number {
    return this.size < this.k ? 0 : this.probs[this.k - 1];
  }

  offer(id: number, p: number): void {
    if (this.size === this.k && !(p > this.probs[this.k - 1])) return;
    let i = this.size < this.k ? this.size++ : this.k - 1;
    // Ties keep the earlier (lower, more frequent) id first.
    while (i > 0 && this.probs[i - 1] < p) {
      this.ids[i] = this.ids[i - 1];
      this.probs[i] = this.probs[i - 1];
      i--;
    }
    this.ids[i] = id;
    this.probs[i] = p;
  }

  entries(): { id: number; p: number }[] {
    return Array.from({ length: this.size }, (_, i) => ({ id: this.ids[i], p: this.probs[i] }));
  }
}
