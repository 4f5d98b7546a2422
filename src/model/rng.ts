/** A small seeded PRNG (mulberry32) so training and tests are reproducible everywhere. */
export type Rng = () => number;

export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fills `a` with values uniform in [-scale, scale). */
export function fillUniform(a: Float32Array, scale: number, rng: Rng): void {
  for (let i = 0; i < a.length; i++) a[i] = (2 * rng() - 1) * scale;
}
