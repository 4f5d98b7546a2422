/**
 * Counters and clocks a model carries (learns, tokens learned, the learned-word clock and uses)
 * stay within [0, MAX_COUNT]: decoders refuse more, and every increment saturates at it. So a
 * count a decoder accepted survives any number of learns and is always written and read back
 * (an import of learns = 2^53 - 1 used to make every later publish fail).
 *
 * 2^48 learns is about 9,000 years of one learn a millisecond; the headroom to 2^53 keeps the
 * sum of a count and any increment exact before it is clamped.
 */
export const MAX_COUNT = 2 ** 48;

export function isCount(x: unknown): x is number {
  return typeof x === "number" && Number.isInteger(x) && x >= 0 && x <= MAX_COUNT;
}

/** a + b, saturating at MAX_COUNT (both non-negative counts). */
export function addCount(a: number, b: number): number {
  return Math.min(MAX_COUNT, a + b);
}
