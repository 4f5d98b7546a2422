import type { RnnLm } from "../../src/model/model.ts";
import { DirectScores, setHistory } from "../../src/model/output/direct.ts";

/**
 * An independent, deliberately naive reference of the model's forward pass,
 * written from the equations with nothing shared with src/model: per-step
 * losses of an unrolled network where one parameter may be perturbed at one
 * single time step only (to measure the truncated BPTT sum by brute force).
 * Only the direct layer's hashing (which weight a feature reads, a matter of
 * definition rather than numerics) comes from src/model.
 */
export interface Perturbation {
  tensor: "U" | "W" | "V" | "C" | "D";
  index: number;
  delta: number;
  /** Only at this step; undefined = at every step (tied perturbation). */
  step?: number;
}

export function referenceStepLosses(m: RnnLm, ids: number[], p?: Perturbation): number[] {
  const H = m.hidden;
  // U's row stride: the vocabulary, or more in a model with room for learned words.
  const stride = m.U.length / H;
  const at = (tensor: Perturbation["tensor"], arr: Float32Array, index: number, t: number): number =>
    arr[index] +
    (p && p.tensor === tensor && p.index === index && (p.step === undefined || p.step === t) ? p.delta : 0);
  let s = new Array<number>(H).fill(0);
  const losses: number[] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    const x = ids[t];
    const next: number[] = [];
    for (let i = 0; i < H; i++) {
      let z = at("U", m.U, i * stride + x, t);
      for (let j = 0; j < H; j++) z += at("W", m.W, i * H + j, t) * s[j];
      next.push(Math.tanh(z));
    }
    s = next;
    // The direct weights' bases for the history ids[0..t] (none without a direct layer).
    const words = new DirectScores(m.direct?.order ?? 0);
    const classes = new DirectScores(m.direct?.order ?? 0);
    if (m.direct) setHistory(m.direct, ids, t, words, classes);
    const direct = (x: DirectScores, output: number) => {
      let z = 0;
      for (let n = 0; n < x.count; n++) {
        const i = (x.bases[n] + output) % x.D.length;
        z += at("D", x.D, i, t);
      }
      return z;
    };
    const score = (tensor: "V" | "C", arr: Float32Array, row: number) => {
      let z = direct(tensor === "V" ? words : classes, row);
      for (let j = 0; j < H; j++) z += at(tensor, arr, row * H + j, t) * s[j];
      return z;
    };
    const logSoftmaxAt = (scores: number[], target: number) => {
      const max = Math.max(...scores);
      const lse = max + Math.log(scores.reduce((a, z) => a + Math.exp(z - max), 0));
      return scores[target] - lse;
    };
    const y = ids[t + 1];
    if (m.output.kind === "full") {
      const scores = Array.from({ length: m.vocab }, (_, v) => score("V", m.V, v));
      losses.push(-logSoftmaxAt(scores, y));
    } else {
      const { classStart, classes, C } = m.output;
      let c = 0;
      while (classStart[c + 1] <= y) c++;
      const classScores = Array.from({ length: classes }, (_, k) => score("C", C, k));
      const from = classStart[c];
      const wordScores = Array.from({ length: classStart[c + 1] - from }, (_, i) => score("V", m.V, from + i));
      losses.push(-logSoftmaxAt(classScores, c) - logSoftmaxAt(wordScores, y - from));
    }
  }
  return losses;
}
