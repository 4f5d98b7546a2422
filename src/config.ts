import type { Env } from "./env.ts";

/**
 * Limits and defaults of the service, in one place (docs/limits.md quotes them; test/http/limits-doc.test.ts
 * checks the quotes).
 * Every request is checked against these before any model work.
 */
export const LIMITS = {
  /** Largest accepted request body for /learn. */
  maxBodyBytes: 16 * 1024,
  /** Largest body of POST /models and of a rollback: a few fields. */
  maxModelBodyBytes: 1024,
  /** Most tokens in one learned sentence (without markers). */
  maxSentenceTokens: 64,
  /** Longest prefix text accepted by /predict, in characters. */
  maxPrefixChars: 2000,
  /** A long prefix is read through its last this-many tokens. */
  prefixWindow: 32,
  /** Longest `partial` (the characters typed of the current word) /predict completes. */
  maxPartialChars: 64,
  /** k in /predict. */
  minK: 1,
  maxK: 50,
  defaultK: 5,
} as const;

/** PUT /model/weights: room for the safetensors header beyond the model's F32 tensor bytes. */
export const IMPORT_HEADER_SLACK_BYTES = 64 * 1024;

/** Seconds a client refused with 429 is told to wait: the period of the [[ratelimits]] in wrangler.toml. */
export const RATE_LIMIT_RETRY_S = 10;

/**
 * A publish that fails is retried with exponential back-off: after max(PUBLISH_INTERVAL_MS, 1 s)
 * times 2^(attempt - 1), at most maxDelayMs; after `attempts` failures the writer stops retrying
 * until it restarts, or a rollback or import replaces the weights (docs/write-path.md).
 */
export const PUBLISH_RETRY = { attempts: 8, maxDelayMs: 3_600_000 } as const;

/** Seconds to wait when a model's writer did not answer (a restarting Durable Object is back sooner). */
export const WRITER_RETRY_S = 1;

/** The learning rule's bounds and guards live with the numerics (src/model/learning-rule.ts). */
export { LEARN_BOUNDS, UPDATE_GUARDS } from "./model/learning-rule.ts";

/**
 * A personal learn (src/model/personal.ts): the step on the layer's deltas of the shared outputs
 * and of the user's own words, its norm cap, and the phrase memory. Chosen with
 * npm run adapt-bench -- --personal (docs/personal.md).
 */
export const PERSONAL_LEARN = { rate: 0.02, ownRate: 0.05, biasScale: 1, maxStepNorm: 2, remember: true } as const;

export interface RuntimeConfig {
  publishIntervalMs: number;
  keepVersions: number;
  /** CPU budget of one /learn, ms (the Free plan's 10 by default; src/budget fits learns into it). */
  learnCpuMs: number;
}

/** A numeric variable, or the fallback when it is unset or not a number that `valid` accepts. */
function numVar(value: string | undefined, fallback: number, valid: (n: number) => boolean): number {
  const n = value === undefined || value === "" ? fallback : Number(value);
  return valid(n) ? n : fallback;
}

export function runtimeConfig(env: Env): RuntimeConfig {
  return {
    publishIntervalMs: numVar(env.PUBLISH_INTERVAL_MS, 10_000, (n) => Number.isInteger(n) && n >= 0),
    keepVersions: numVar(env.KEEP_VERSIONS, 10, (n) => Number.isInteger(n) && n >= 1),
    learnCpuMs: numVar(env.LEARN_CPU_MS, 10, (n) => Number.isFinite(n) && n > 0),
  };
}
