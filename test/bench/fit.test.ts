import { describe, expect, it } from "vitest";
import { type CalibrationSample, fitCalibration } from "../../bench/fit.ts";
import { estimateLearnMs, learnWork } from "../../src/budget/cost-model.ts";

const SHAPE = { hidden: 100, vocab: 10_000, classes: 100, directOrder: 3 };
const GRID = [5, 10, 20, 40, 64].flatMap((tokens) =>
  [0, 4, 16].flatMap((truncate) => [1, 5].map((steps) => ({ tokens, truncate, steps, rowsPerToken: 120 + tokens }))),
);

/** Samples priced by known coefficients, times a per-sample factor. */
function samples(noise: (i: number) => number): CalibrationSample[] {
  return GRID.map((p, i) => {
    const w = learnWork(p.tokens, p, { ...SHAPE, rowsPerToken: p.rowsPerToken });
    const ms = (0.2 + (w.recurrent * 0.6 + w.output * 0.9) * 1e-6) * noise(i);
    return { ...p, median: ms, p95: ms };
  });
}

describe("fitCalibration", () => {
  it("recovers the prices that made exact measurements, with no margin", () => {
    const cal = fitCalibration(
      samples(() => 1),
      SHAPE,
      "test",
    );
    expect(cal.fixedMs).toBeCloseTo(0.2, 6);
    expect(cal.nsPerRecurrentMac).toBeCloseTo(0.6, 6);
    expect(cal.nsPerOutputMac).toBeCloseTo(0.9, 6);
    expect(cal.margin).toBeCloseTo(1, 6);
  });

  it("sets the margin so every measured p95 is covered", () => {
    const measured = samples((i) => 1 + 0.3 * Math.sin(i * 1.7));
    const cal = fitCalibration(measured, SHAPE, "test");
    expect(cal.margin).toBeGreaterThan(1);
    for (const s of measured) {
      expect(estimateLearnMs(s.tokens, s, { ...SHAPE, rowsPerToken: s.rowsPerToken }, cal)).toBeGreaterThanOrEqual(
        s.p95 * (1 - 1e-9),
      );
    }
  });

  it("never prices anything below zero", () => {
    // Times that fall with size would fit a negative price; the fit keeps every price >= 0.
    const cal = fitCalibration(
      samples((i) => 10 / (1 + GRID[i].tokens)),
      SHAPE,
      "test",
    );
    expect(Math.min(cal.fixedMs, cal.nsPerRecurrentMac, cal.nsPerOutputMac)).toBeGreaterThanOrEqual(0);
  });
});
