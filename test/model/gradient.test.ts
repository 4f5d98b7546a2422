import { describe, expect, it } from "vitest";
import { initModel } from "../../src/model/init.ts";
import { sentenceGradient, Workspace } from "../../src/model/lm.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { seededRng } from "../../src/model/rng.ts";
import { referenceStepLosses } from "./reference.ts";

/**
 * The packed dL/dV storage: touched output rows live in slots that grow past
 * their initial room (256 rows) when a learn touches more rows than before.
 */
const HIDDEN = 6;

function model(output: "full" | "class"): RnnLm {
  // Three classes of 200 words: one sentence can touch 600 rows.
  const classStart = output === "class" ? Int32Array.from([0, 200, 400, 600]) : undefined;
  return initModel({ vocab: 600, hidden: HIDDEN, classStart }, seededRng(5));
}

/** Central difference of the summed loss in one V entry, on the independent reference. */
function numericV(m: RnnLm, ids: number[], index: number): number {
  const loss = (delta: number) => referenceStepLosses(m, ids, { tensor: "V", index, delta }).reduce((a, b) => a + b, 0);
  return (loss(1e-4) - loss(-1e-4)) / 2e-4;
}

describe.each(["full", "class"] as const)("%s output", (output) => {
  // Targets in class 2, then 0, then 1: each class range is claimed in turn.
  const SENTENCE = [0, 450, 17, 250, 451, 1];

  it("grows the packed rows without losing what was already summed", () => {
    const m = model(output);
    const ws = new Workspace(m, 16);
    sentenceGradient(m, SENTENCE, 4, ws);
    const first = ws.grad.dV;
    // Again, now that the room is there: the same gradient.
    sentenceGradient(m, SENTENCE, 4, ws);
    expect(ws.grad.dV).toEqual(first);
    for (const row of [450, 17, 250, 1, 599]) {
      const index = row * HIDDEN + 2;
      expect(first[index]).toBeCloseTo(numericV(m, SENTENCE, index), 6);
    }
  });

  it("resets every touched row between sentences", () => {
    const m = model(output);
    const ws = new Workspace(m, 16);
    sentenceGradient(m, SENTENCE, 4, ws);
    const other = [0, 300, 1];
    sentenceGradient(m, other, 4, ws);
    const fresh = new Workspace(m, 16);
    sentenceGradient(m, other, 4, fresh);
    expect(ws.grad.dV).toEqual(fresh.grad.dV);
  });
});

/**
 * dL/dD lives in slots found through a small open-addressing table that grows while a learn
 * touches more hashed entries than it has room for (past 2,048 here: ~800 per position).
 */
describe("direct weights' sparse gradient", () => {
  const SENTENCE = [0, 450, 17, 250, 451, 88, 320, 1];
  const direct = () =>
    initModel(
      {
        vocab: 600,
        hidden: HIDDEN,
        classStart: Int32Array.from([0, 200, 400, 600]),
        direct: { order: 4, size: 1 << 16 },
      },
      seededRng(5),
    );

  function numericD(m: RnnLm, index: number): number {
    const loss = (delta: number) =>
      referenceStepLosses(m, SENTENCE, { tensor: "D", index, delta }).reduce((a, b) => a + b, 0);
    return (loss(1e-4) - loss(-1e-4)) / 2e-4;
  }

  it("gives each touched entry one slot, holding its whole sum, through the table's growth", () => {
    const m = direct();
    const ws = new Workspace(m, 16);
    sentenceGradient(m, [0, 7, 300, 1], 4, ws); // something to reset first
    sentenceGradient(m, SENTENCE, 4, ws);
    const g = ws.grad;
    expect(g.dEntries).toBeGreaterThan(4096);
    const indexes = Array.from(g.dIndex.subarray(0, g.dEntries));
    expect(new Set(indexes).size).toBe(g.dEntries);
    for (const slot of [0, 1, 2000, g.dEntries - 1]) {
      expect(g.dD[slot]).toBeCloseTo(numericD(m, g.dIndex[slot]), 6);
    }
    const fresh = new Workspace(m, 16);
    sentenceGradient(m, SENTENCE, 4, fresh);
    expect(Array.from(fresh.grad.dIndex.subarray(0, fresh.grad.dEntries))).toEqual(indexes);
    expect(fresh.grad.dD.subarray(0, g.dEntries)).toEqual(g.dD.subarray(0, g.dEntries));
  });
});
