/**
 * Batched timing. One sample runs an operation `reps` times and reports the
 * batch's CPU time (what the Workers limit counts, and what a busy shared
 * machine does not inflate: it is read from the kernel's per-thread run
 * time) and its wall time (performance.now(), which inside workerd ticks in
 * whole milliseconds). Batches are sized to last at least minBatchMs of CPU,
 * so neither the clock's tick nor the per-request overhead matters; median
 * and p95 are over samples of the per-repetition mean.
 */

export interface Timing {
  /** Median over samples of the mean time of one repetition, ms. */
  median: number;
  p95: number;
}

export interface Measured {
  cpu: Timing;
  wall: Timing;
  /** Repetitions per sample and number of samples. */
  batch: number;
  samples: number;
}

/** One batch: its CPU and wall milliseconds. */
export interface BatchTime {
  cpuMs: number;
  wallMs: number;
}

/** Runs a batch of `reps` repetitions and times it. */
export type Runner = (reps: number) => Promise<BatchTime>;

export interface TimingOptions {
  minBatchMs: number;
  samples: number;
  /** Untimed repetitions first, so the JIT has compiled the hot paths. */
  warmup: number;
}

/** The q-quantile (0..1) of values, by linear interpolation. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function summary(values: readonly number[]): Timing {
  return { median: quantile(values, 0.5), p95: quantile(values, 0.95) };
}

export async function measure(run: Runner, opts: TimingOptions): Promise<Measured> {
  await run(opts.warmup);
  // Double the batch until it lasts minBatchMs, then size it from that.
  let reps = 1;
  let probe = await run(reps);
  while (probe.cpuMs < opts.minBatchMs / 4) probe = await run((reps *= 2));
  const batch = Math.max(1, Math.ceil((opts.minBatchMs * reps) / Math.max(probe.cpuMs, 1e-3)));
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let s = 0; s < opts.samples; s++) {
    const t = await run(batch);
    cpu.push(t.cpuMs / batch);
    wall.push(t.wallMs / batch);
  }
  return { cpu: summary(cpu), wall: summary(wall), batch, samples: opts.samples };
}
