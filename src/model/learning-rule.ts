/**
 * The learning rule's settings, in one home: what a learn request may choose (LEARN_BOUNDS) and
 * what every update gets whatever the request (UPDATE_GUARDS). The code that applies them is
 * lm.ts (learnSentence), sgd.ts (clip, cap, guard), anchor.ts and word-slots.ts; src/config.ts
 * re-exports these for the HTTP layer. Changing any of them means recalibrating the cost model
 * and rerunning the benchmarks, and logged learns replay with the new code: docs/model.md,
 * "Changing the learning rule".
 */

/**
 * Per-learn options a request may set, with their bounds and defaults. The defaults were
 * chosen on the shipped base model with npm run adapt-bench (docs/adaptation.md); the largest lr
 * and steps with npm run poison-bench: one learn at lr 1 or at 5 steps cost a model up to 6 and
 * 10 points of top-3, at lr 0.1 and 2 steps at most 0.24 (docs/limits.md).
 */
export const LEARN_BOUNDS = {
  lr: { min: 1e-6, max: 0.1, default: 0.02 },
  truncate: { min: 0, max: 16, default: 4 },
  steps: { min: 1, max: 2, default: 1 },
} as const;

/**
 * Applies to every update regardless of the request: clipping and the step cap make the model
 * survive any sentence; the anchor pulls W and C back toward the base model after each step
 * (anchor.ts), against forgetting; new words take slots and their own weights get a fast step at
 * newWordRate (word-slots.ts, learnedWordsStep in lm.ts; docs/adaptation.md); the sentence joins
 * the phrase memory (phrase-memory.ts).
 */
export const UPDATE_GUARDS = { clipNorm: 5, maxStepNorm: 2, anchor: 0.01, newWordRate: 0.7, remember: true } as const;
