import { isSuggestible } from "../../src/model/vocab.ts";

/** NextWordModel.rivals by brute force, for a model whose whole next-token distribution is at hand. */
export function rivalsIn(probs: ArrayLike<number>, id: number, limit: number): number {
  const p = probs[id];
  let n = 0;
  for (let w = 0; w < probs.length && n < limit; w++) {
    if (w !== id && isSuggestible(w) && probs[w] >= p) n++;
  }
  return n;
}
