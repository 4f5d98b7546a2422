/**
 * Batched timing. One sample runs an operation `reps` times and reports the
 * batch's CPU time (what the Workers limit counts, and what a busy shared
 * machine does not inflate: it is read from the kernel's per-thread run
 * time) and its wall time (performance.now(), which inside workerd ticks in
 * whole milliseconds). Batches are sized to last at least minBatchMs of CPU,
 * so neither the clock's tick nor the per-request overhead matters; median
 * and p95 are over samples of the per-repetition mean. Samples of all the
 * operations are taken in turns, so a stretch of contention on the machine
 * (another process on the same core's sibling thread slows even CPU time)
 * spreads over every operation instead of spoiling one.
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

/** Warms `run` up and finds how many repetitions last minBatchMs. */
async function batchSize(run: Runner, opts: TimingOptions): Promise<number> {
  await run(opts.warmup);
  let reps = 1;
  let probe = await run(reps);
  while (probe.cpuMs < opts.minBatchMs / 4) probe = await run((reps *= 2));
  return Math.max(1, Math.ceil((opts.minBatchMs * reps) / Math.max(probe.cpuMs, 1e-3)));
}

/** Times every runner, in turns. */
export async function measureAll(
  runners: Record<string, Runner>,
  optsFor: (name: string) => TimingOptions,
): Promise<Record<string, Measured>> {
  const names = Object.keys(runners);
  const batch: Record<string, number> = {};
  for (const name of names) batch[name] = await batchSize(runners[name], optsFor(name));
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const wall: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const rounds = Math.max(...names.map((n) => optsFor(n).samples));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      if (round >= optsFor(name).samples) continue;
      const t = await runners[name](batch[name]);
      cpu[name].push(t.cpuMs / batch[name]);
      wall[name].push(t.wallMs / batch[name]);
    }
  }
  return Object.fromEntries(
    names.map((n) => [n, { cpu: summary(cpu[n]), wall: summary(wall[n]), batch: batch[n], samples: cpu[n].length }]),
  );
}
