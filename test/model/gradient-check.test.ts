import { describe, expect, it } from "vitest";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { initModel } from "../../src/model/init.ts";
import { sentenceGradient, Workspace } from "../../src/model/lm.ts";
import { inputStride, type RnnLm } from "../../src/model/model.ts";
import { withLearnedCount, withWordSlots } from "../../src/model/new-words.ts";
import { seededRng } from "../../src/model/rng.ts";
import { type Perturbation, referenceStepLosses } from "./reference.ts";

const VOCAB = 9;
const HIDDEN = 5;
const EPS = 1e-4;

type Variant = "full" | "class" | "full+direct" | "class+direct" | "full+direct+slots" | "class+direct+slots";

/** <s> ... </s>: 7 steps; with word slots, through the learned words 9 and 10 as well. */
const sentenceFor = (variant: Variant) =>
  variant.endsWith("+slots") ? [0, 4, 9, 3, 10, 9, 5, 1] : [0, 4, 7, 3, 8, 3, 5, 1];

function smallModel(variant: Variant, seed: number): RnnLm {
  const rng = seededRng(seed);
  const classStart = variant.startsWith("class") ? assignClasses([0, 5, 3, 9, 2, 2, 1, 1, 1], 3) : undefined;
  // A 32-entry table: small enough that features collide and share weights, as they do at scale.
  const direct = variant.includes("+direct") ? { order: 3, size: 32 } : undefined;
  let m = initModel({ vocab: VOCAB, hidden: HIDDEN, classStart, direct }, rng);
  // As the writer learns: 3 word slots (U's stride is 12), 2 of them used (ids 9, 10; with classes, a class of their own).
  if (variant.endsWith("+slots")) m = withLearnedCount(withWordSlots(m, 3), 2);
  // Larger recurrent weights than the default init so errors really flow back several steps.
  for (let i = 0; i < m.W.length; i++) m.W[i] *= 3;
  for (let i = 0; i < m.U.length; i++) m.U[i] *= 4;
  // Non-zero direct weights, so their effect on the scores is tested too.
  if (m.direct) for (let i = 0; i < m.direct.D.length; i++) m.direct.D[i] = rng() - 0.5;
  // Learned words start with blank output rows: give them some, so they are tested as the base words' are.
  for (let i = VOCAB * HIDDEN; i < m.V.length; i++) m.V[i] = rng() - 0.5;
  return m;
}

/** The analytic gradient as dense arrays, read out of the sparse accumulators. */
function denseGradient(m: RnnLm, ws: Workspace): Record<Perturbation["tensor"], Float64Array> {
  const g = ws.grad;
  const dU = new Float64Array(m.U.length);
  const stride = inputStride(m);
  for (let slot = 0; slot < g.uColumns; slot++) {
    for (let h = 0; h < m.hidden; h++) dU[h * stride + g.uColumn[slot]] = g.dU[slot * m.hidden + h];
  }
  const dD = new Float64Array(m.direct?.D.length ?? 0);
  for (let slot = 0; slot < g.dEntries; slot++) dD[g.dIndex[slot]] = g.dD[slot];
  return { U: dU, W: g.dW, V: g.dV, C: g.dC, D: dD };
}

function relativeError(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(1e-7, Math.abs(a) + Math.abs(b));
}

/** Central difference of a sum of step losses, in float64 on the reference network. */
function numeric(m: RnnLm, sentence: number[], p: Omit<Perturbation, "delta">, steps: (t: number) => boolean): number {
  const total = (delta: number) =>
    referenceStepLosses(m, sentence, { ...p, delta }).reduce((a, l, t) => a + (steps(t) ? l : 0), 0);
  return (total(EPS) - total(-EPS)) / (2 * EPS);
}

function tensorsOf(m: RnnLm): [Perturbation["tensor"], Float32Array][] {
  const list: [Perturbation["tensor"], Float32Array][] = [
    ["U", m.U],
    ["W", m.W],
    ["V", m.V],
  ];
  if (m.output.kind === "class") list.push(["C", m.output.C]);
  if (m.direct) list.push(["D", m.direct.D]);
  return list;
}

describe.each(["full", "class", "full+direct", "class+direct", "full+direct+slots", "class+direct+slots"] as const)(
  "%s softmax gradient",
  (output) => {
    const SENTENCE = sentenceFor(output);
    it("matches central differences with full BPTT (truncation >= T)", () => {
      const m = smallModel(output, 1);
      const ws = new Workspace(m, 16);
      sentenceGradient(m, SENTENCE, SENTENCE.length, ws);
      const analytic = denseGradient(m, ws);
      let worst = 0;
      for (const [name, arr] of tensorsOf(m)) {
        for (let i = 0; i < arr.length; i++) {
          const num = numeric(m, SENTENCE, { tensor: name, index: i }, () => true);
          worst = Math.max(worst, relativeError(analytic[name][i], num));
          expect(Math.abs(analytic[name][i] - num), `${name}[${i}]`).toBeLessThan(1e-6 + 1e-5 * Math.abs(num));
        }
      }
      expect(worst).toBeLessThan(1e-4);
    });

    it.each([1, 2])("truncation %i equals the brute-force truncated sum", (truncate) => {
      const m = smallModel(output, 2);
      const ws = new Workspace(m, 16);
      sentenceGradient(m, SENTENCE, truncate, ws);
      const analytic = denseGradient(m, ws);
      const steps = SENTENCE.length - 1;
      // Truncated gradient of a recurrent weight: sum over output steps t of the
      // derivative of L(t) with respect to that weight's copy at steps t-truncate..t only.
      for (const [name, arr] of tensorsOf(m)) {
        for (let i = 0; i < arr.length; i++) {
          let expected = 0;
          if (name === "U" || name === "W") {
            for (let t = 0; t < steps; t++) {
              for (let tau = Math.max(0, t - truncate); tau <= t; tau++) {
                expected += numeric(m, SENTENCE, { tensor: name, index: i, step: tau }, (u) => u === t);
              }
            }
          } else {
            expected = numeric(m, SENTENCE, { tensor: name, index: i }, () => true);
          }
          expect(Math.abs(analytic[name][i] - expected), `${name}[${i}]`).toBeLessThan(
            1e-6 + 1e-5 * Math.abs(expected),
          );
        }
      }
      // And truncation really changes the answer here, so the check above has teeth.
      const truncatedW = Float64Array.from(analytic.W);
      sentenceGradient(m, SENTENCE, steps, ws);
      const fullW = ws.grad.dW;
      const diff = truncatedW.reduce((a, v, i) => a + Math.abs(v - fullW[i]), 0);
      expect(diff).toBeGreaterThan(1e-3);
    });
  },
);
