import { describe, expect, it } from "vitest";
import { cloneModel, initModel } from "../../src/model/init.ts";
import { sentenceGradient, Workspace } from "../../src/model/lm.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { seededRng } from "../../src/model/rng.ts";
import { sgdStep } from "../../src/model/sgd.ts";

/**
 * sgdStep skips its per-weight finiteness pass when ‖w‖ + step norm is far
 * below float32's range; these cover the other side of that shortcut.
 */
const SENTENCE = [0, 5, 9, 12, 7, 30, 1];

function model(): RnnLm {
  const counts = Array.from({ length: 40 }, (_, i) => (i === 0 ? 0 : 100 / i));
  return initModel({ vocab: 40, hidden: 12, classStart: assignClasses(counts, 6) }, seededRng(3));
}

function maxAbsChange(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

describe("sgdStep near float32's range", () => {
  it("applies a huge update that stays finite, after checking every weight", () => {
    const m = model();
    const before = cloneModel(m);
    const ws = new Workspace(m, 16);
    sentenceGradient(m, SENTENCE, 4, ws);
    const probe = sgdStep(cloneModel(m), ws.grad, { lr: 0, clipNorm: Infinity, maxStepNorm: Infinity });
    // A step of norm 1e38 (past the shortcut's bound) whose largest entry still fits in float32.
    const r = sgdStep(m, ws.grad, { lr: 1e38 / probe.gradNorm, clipNorm: Infinity, maxStepNorm: Infinity });
    expect(r.applied).toBe(true);
    expect(r.stepNorm).toBeCloseTo(1e38, -33);
    expect(maxAbsChange(m.V, before.V)).toBeGreaterThan(1e30);
    for (const a of [m.U, m.W, m.V]) expect(a.every(Number.isFinite)).toBe(true);
  });

  it("refuses one that would overflow, leaving the weights bit-identical", () => {
    const m = model();
    const ws = new Workspace(m, 16);
    sentenceGradient(m, SENTENCE, 4, ws);
    const probe = sgdStep(cloneModel(m), ws.grad, { lr: 0, clipNorm: Infinity, maxStepNorm: Infinity });
    const before = cloneModel(m);
    const r = sgdStep(m, ws.grad, { lr: 1e40 / probe.gradNorm, clipNorm: Infinity, maxStepNorm: Infinity });
    expect(r.applied).toBe(false);
    for (const [a, b] of [
      [m.U, before.U],
      [m.W, before.W],
      [m.V, before.V],
    ] as const) {
      expect(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).toEqual(
        new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
      );
    }
  });
});
