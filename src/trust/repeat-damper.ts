/**
 * Damping of repeated content (docs/limits.md, "A shared model that stays good"). A model that
 * many people teach must not let one of them, or one template ("Sent from my iPhone"), pull it
 * toward a single sentence by sending it over and over: fifty learns of "sentence number i is
 * about the weather in the city" made "number" the first suggestion after "the".
 *
 * Each learn is seen as the set of its token trigrams (markers included, lower-cased). Its
 * repetition d is the median, over its trigrams, of how many of the last DAMPING_WINDOW learns
 * contained that trigram, each counted by its strength (at least 1: a damped copy still counts
 * as a copy; a learn at 5 times the default rate and steps counts 5). So an
 * ordinary sentence, most of whose trigrams are new, has d = 0 whatever common phrases it holds,
 * while the n-th near-copy of a template has d ≈ n. The learn's learning rate is multiplied by
 * 1 / (1 + d)^2: n copies together move the model about as far as 1.6 learns.
 *
 * Pure and deterministic: the writer rebuilds the window from the last learns of its log after a
 * restart, and logs each learn's damped rate, so replay needs no damper.
 */

/** Learns a repetition is counted over. */
export const DAMPING_WINDOW = 1024;

/** Exponent of 1 / (1 + d): 2 makes the total influence of n copies converge (π²/6 learns). */
export const DAMPING_POWER = 2;

const TRIGRAM = 3;

/** FNV-1a of a string, continuing from h. */
function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ 0x1f, 0x01000193);
}

/** The distinct trigram hashes of <s> tokens </s>. */
export function trigrams(tokens: readonly string[]): Int32Array {
  const seq = ["<s>", ...tokens.map((t) => t.toLowerCase()), "</s>"];
  const out = new Set<number>();
  for (let t = TRIGRAM; t <= seq.length; t++) {
    let h = 0x811c9dc5;
    for (let j = t - TRIGRAM; j < t; j++) h = fnv(h, seq[j]);
    out.add(h | 0);
  }
  return Int32Array.from(out);
}

interface Seen {
  grams: Int32Array;
  weight: number;
}

export class RepeatDamper {
  private readonly window: number;
  /** The window's learns, oldest first. */
  private readonly recent: Seen[] = [];
  /** Per trigram: the summed weight of the window's learns that hold it. */
  private readonly counts = new Map<number, number>();

  constructor(window = DAMPING_WINDOW) {
    this.window = window;
  }

  /** d for a learn of these tokens: the median of its trigrams' weighted counts in the window. */
  repetition(tokens: readonly string[]): number {
    const grams = trigrams(tokens);
    const counts = Array.from(grams, (g) => this.counts.get(g) ?? 0).sort((a, b) => a - b);
    return counts.length === 0 ? 0 : counts[Math.floor((counts.length - 1) / 2)];
  }

  /** The factor on a learn's learning rate: 1 / (1 + d)^DAMPING_POWER. */
  scale(tokens: readonly string[]): number {
    return 1 / (1 + this.repetition(tokens)) ** DAMPING_POWER;
  }

  /** Counts an applied learn of `tokens` that was `strength` times as strong as a default learn. */
  record(tokens: readonly string[], strength: number): void {
    const seen = { grams: trigrams(tokens), weight: Math.max(1, strength) };
    this.recent.push(seen);
    this.add(seen, 1);
    if (this.recent.length > this.window) this.add(this.recent.shift() as Seen, -1);
  }

  private add(seen: Seen, sign: 1 | -1): void {
    for (const g of seen.grams) {
      const n = (this.counts.get(g) ?? 0) + sign * seen.weight;
      if (n > 1e-9) this.counts.set(g, n);
      else this.counts.delete(g);
    }
  }
}
