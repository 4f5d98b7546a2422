import { type Calibration, learnWork, type LearnShape } from "../src/budget/cost-model.ts";
import type { CalibrationPoint } from "./suite.ts";

/** A calibration point's measured learn, ms. */
export interface CalibrationSample extends CalibrationPoint {
  rowsPerToken: number;
  median: number;
  p95: number;
}

/**
 * Fits the cost model's prices to measured learns: least squares on the
 * relative error (so short and long learns count alike) of
 *   ms = fixedMs + recurrent MACs · nsPerRecurrentMac + output MACs · nsPerOutputMac,
 * with no negative price, fitted to p95 times; then a margin that lifts the
 * fit over every measured p95.
 */

type Vec3 = [number, number, number];

/** Solves the normal equations over the columns in `use` (the others fixed at 0). */
function leastSquares(rows: Vec3[], ys: number[], use: boolean[]): Vec3 {
  const idx = [0, 1, 2].filter((i) => use[i]);
  const n = idx.length;
  const a = Array.from({ length: n }, () => new Array<number>(n + 1).fill(0));
  rows.forEach((r, k) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) a[i][j] += r[idx[i]] * r[idx[j]];
      a[i][n] += r[idx[i]] * ys[k];
    }
  });
  // Gauss-Jordan with partial pivoting on the n x n system.
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[p][c])) p = r;
    [a[c], a[p]] = [a[p], a[c]];
    for (let r = 0; r < n; r++) {
      if (r === c || a[c][c] === 0) continue;
      const f = a[r][c] / a[c][c];
      for (let j = c; j <= n; j++) a[r][j] -= f * a[c][j];
    }
  }
  const x: Vec3 = [0, 0, 0];
  idx.forEach((col, i) => (x[col] = a[i][i] === 0 ? 0 : a[i][n] / a[i][i]));
  return x;
}

export function fitCalibration(
  samples: readonly CalibrationSample[],
  shape: Omit<LearnShape, "rowsPerToken">,
  measured: string,
): Calibration {
  const rows: Vec3[] = [];
  const ys: number[] = [];
  for (const s of samples) {
    const w = learnWork(s.tokens, s, { ...shape, rowsPerToken: s.rowsPerToken });
    // Weighted by 1/y: each equation is "prediction / measurement = 1".
    rows.push([1 / s.p95, (w.recurrent * 1e-6) / s.p95, (w.output * 1e-6) / s.p95]);
    ys.push(1);
  }
  // The best non-negative fit over every subset of the three prices (there are only 7).
  let best: Vec3 = [0, 0, 0];
  let bestErr = Infinity;
  for (let mask = 1; mask < 8; mask++) {
    const x = leastSquares(
      rows,
      ys,
      [0, 1, 2].map((i) => (mask & (1 << i)) !== 0),
    );
    if (x.some((v) => v < 0)) continue;
    const err = rows.reduce((e, r, k) => e + (r[0] * x[0] + r[1] * x[1] + r[2] * x[2] - ys[k]) ** 2, 0);
    if (err < bestErr) [best, bestErr] = [x, err];
  }
  const [fixedMs, nsPerRecurrentMac, nsPerOutputMac] = best;
  // rows[k] · x is prediction / measurement; the margin makes the worst of them 1.
  const margin = Math.max(
    1,
    ...rows.map((r) => 1 / (r[0] * fixedMs + r[1] * nsPerRecurrentMac + r[2] * nsPerOutputMac)),
  );
  return { fixedMs, nsPerRecurrentMac, nsPerOutputMac, margin, measured };
}
