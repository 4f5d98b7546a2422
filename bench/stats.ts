/**
 * Timing that works under workerd's coarse clock: performance.now() there
 * ticks in whole milliseconds, so one sample times a batch of repetitions
 * long enough (minBatchMs) for the tick to be a small error, and reports the
 * batch's mean per repetition. Median and p95 are over those samples.
 */

export type Clock = () => number;

export interface Timing {
  /** Median over samples of the mean time of one repetition, ms. */
  median: number;
  p95: number;
  /** Repetitions per sample and number of samples. */
  batch: number;
  samples: number;
}

export interface TimingOptions {
  minBatchMs: number;
  samples: number;
  /** Untimed repetitions first, so the JIT has compiled the hot paths. */
  warmup: number;
}

export const DEFAULT_TIMING: TimingOptions = { minBatchMs: 25, samples: 15, warmup: 5 };

/** The q-quantile (0..1) of values, by linear interpolation. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Times fn(i) (i counts every call, warm-up included) as described above. */
export function time(fn: (i: number) => void, now: Clock, opts: TimingOptions = DEFAULT_TIMING): Timing {
  let i = 0;
  for (; i < opts.warmup; i++) fn(i);
  // Size the batch from the time of a few calls (at least one clock tick's worth).
  let probe = 0;
  const start = now();
  while (now() - start < Math.max(2, opts.minBatchMs / 5)) {
    fn(i++);
    probe++;
  }
  const perCall = (now() - start) / probe;
  const batch = Math.max(1, Math.ceil(opts.minBatchMs / perCall));
  const means: number[] = [];
  for (let s = 0; s < opts.samples; s++) {
    const t0 = now();
    for (let b = 0; b < batch; b++) fn(i++);
    means.push((now() - t0) / batch);
  }
  return { median: quantile(means, 0.5), p95: quantile(means, 0.95), batch, samples: opts.samples };
}
