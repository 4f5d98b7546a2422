import { describe, expect, it } from "vitest";
import { CALIBRATION } from "../../src/budget/calibration.ts";
import {
  type Calibration,
  estimateLearnMs,
  type LearnShape,
  learnShape,
  learnWork,
  parseCalibration,
  planLearn,
} from "../../src/budget/cost-model.ts";
import { initModel } from "../../src/model/init.ts";
import { withLearnedCount, withWordSlots } from "../../src/model/new-words.ts";
import { seededRng } from "../../src/model/rng.ts";

const CAL: Calibration = { fixedMs: 0.1, nsPerRecurrentMac: 0.5, nsPerOutputMac: 0.7, margin: 1.2, measured: "test" };
/** The shipped model's shape: V = 10k, H = 100, K = 100, about 135 output rows per token, direct order 3. */
const SHIPPED: LearnShape = { hidden: 100, vocab: 10_000, classes: 100, rowsPerToken: 135, directOrder: 3 };
const DEFAULTS = { truncate: 4, steps: 1 };

describe("learnWork", () => {
  it("counts the multiply-adds of a tiny learn by hand", () => {
    // 2 words: 3 predicted steps; truncation 1 sends steps 1 and 2 back one step each.
    const shape = { hidden: 2, vocab: 10, classes: 3, rowsPerToken: 5, directOrder: 0 };
    const w = learnWork(2, { truncate: 1, steps: 1 }, shape);
    // (3 forward + 2 propagated + 2 outer products + 1 update) * H² + 3 loss-after forwards * H².
    expect(w.recurrent).toBe((3 + 2 + 2 + 1) * 4 + 3 * 4);
    // 15 rows: (3 * 15 scores and backward + 10 updated rows (at most V) + 3 class rows + 2 U columns) * H,
    // + 15 loss-after rows * H.
    expect(w.output).toBe((45 + 10 + 3 + 2) * 2 + 15 * 2);
    // Direct weights widen every scored row (not the U columns) by the order.
    const direct = learnWork(2, { truncate: 1, steps: 1 }, { ...shape, directOrder: 3 });
    expect(direct.recurrent).toBe(w.recurrent);
    expect(direct.output).toBe((45 + 10 + 3) * 5 + 2 * 2 + 15 * 5);
  });

  it("grows with every knob", () => {
    const base = estimateLearnMs(20, DEFAULTS, SHIPPED, CAL);
    expect(estimateLearnMs(21, DEFAULTS, SHIPPED, CAL)).toBeGreaterThan(base);
    expect(estimateLearnMs(20, { truncate: 5, steps: 1 }, SHIPPED, CAL)).toBeGreaterThan(base);
    expect(estimateLearnMs(20, { truncate: 4, steps: 2 }, SHIPPED, CAL)).toBeGreaterThan(base);
    expect(estimateLearnMs(20, DEFAULTS, { ...SHIPPED, rowsPerToken: 200 }, CAL)).toBeGreaterThan(base);
    expect(estimateLearnMs(20, DEFAULTS, { ...SHIPPED, hidden: 128 }, CAL)).toBeGreaterThan(base);
    expect(estimateLearnMs(20, DEFAULTS, { ...SHIPPED, directOrder: 4 }, CAL)).toBeGreaterThan(base);
  });

  it("stops counting propagation at the sentence's start", () => {
    // Truncation beyond the sentence changes nothing.
    expect(learnWork(5, { truncate: 6, steps: 1 }, SHIPPED)).toEqual(learnWork(5, { truncate: 60, steps: 1 }, SHIPPED));
    expect(learnWork(5, { truncate: 4, steps: 1 }, SHIPPED).recurrent).toBeLessThan(
      learnWork(5, { truncate: 5, steps: 1 }, SHIPPED).recurrent,
    );
  });
});

describe("planLearn", () => {
  it("keeps the whole sentence when it fits", () => {
    const plan = planLearn(20, DEFAULTS, 100, SHIPPED, CAL);
    expect(plan).toEqual({ tokens: 20, truncated: false, estimateMs: estimateLearnMs(20, DEFAULTS, SHIPPED, CAL) });
  });

  it("keeps the longest recent window that fits, and says so", () => {
    const budget = estimateLearnMs(30, DEFAULTS, SHIPPED, CAL) + 1e-9;
    const plan = planLearn(64, DEFAULTS, budget, SHIPPED, CAL);
    expect(plan.tokens).toBe(30);
    expect(plan.truncated).toBe(true);
    expect(plan.estimateMs).toBeLessThanOrEqual(budget);
    expect(estimateLearnMs(31, DEFAULTS, SHIPPED, CAL)).toBeGreaterThan(budget);
  });

  it("learns nothing when not even one token fits", () => {
    expect(planLearn(10, DEFAULTS, 0.01, SHIPPED, CAL)).toEqual({ tokens: 0, truncated: true, estimateMs: 0 });
    expect(planLearn(0, DEFAULTS, 10, SHIPPED, CAL)).toEqual({ tokens: 0, truncated: false, estimateMs: 0 });
  });

  it("with the shipped calibration, fits a default 20-token learn in the Free plan's 10 ms but not 5 steps of 64 tokens at truncation 16", () => {
    expect(planLearn(20, DEFAULTS, 10, SHIPPED, CALIBRATION).truncated).toBe(false);
    const heavy = planLearn(64, { truncate: 16, steps: 5 }, 10, SHIPPED, CALIBRATION);
    expect(heavy.truncated).toBe(true);
    expect(heavy.tokens).toBeGreaterThan(0);
    expect(heavy.tokens).toBeLessThan(64);
  });
});

describe("learnShape", () => {
  it("counts the class rows each target scores", () => {
    const classStart = Int32Array.from([0, 3, 10, 40]);
    const m = initModel({ vocab: 40, hidden: 4, classStart }, seededRng(1));
    // Targets 5 (class 1, 7 words) and 1 (class 0, 3 words): 3 classes each.
    expect(learnShape(m, [0, 5, 1])).toEqual({
      hidden: 4,
      vocab: 40,
      classes: 3,
      rowsPerToken: (3 + 7 + 3 + 3) / 2,
      directOrder: 0,
    });
  });

  it("scores the whole vocabulary with a full softmax", () => {
    const m = initModel({ vocab: 40, hidden: 4 }, seededRng(1));
    expect(learnShape(m, [0, 5, 1])).toEqual({ hidden: 4, vocab: 40, classes: 0, rowsPerToken: 40, directOrder: 0 });
  });

  it("counts the learned words' fast step once the model has learned words", () => {
    const classStart = Int32Array.from([0, 3, 10, 40]);
    const slots = withWordSlots(
      initModel({ vocab: 40, hidden: 4, classStart, direct: { order: 3, size: 256 } }, seededRng(1)),
      8,
    );
    expect(learnShape(slots, [0, 5, 1]).newWordStep).toBeUndefined();
    const learned = withLearnedCount(slots, 2);
    learned.learned?.words.push("zorblax", "quux");
    const shape = learnShape(learned, [0, 5, 40, 1]);
    expect(shape.newWordStep).toBe(true);
    // One more pass over the scored rows than the same learn without it.
    const plain = learnWork(3, DEFAULTS, { ...shape, newWordStep: undefined });
    const fast = learnWork(3, DEFAULTS, shape);
    expect(fast.output - plain.output).toBe(shape.rowsPerToken * 4 * (4 + 3));
    expect(fast.recurrent).toBe(plain.recurrent);
  });
});

describe("parseCalibration", () => {
  it("accepts the shipped file", () => {
    expect(CALIBRATION.margin).toBeGreaterThanOrEqual(1);
    expect(CALIBRATION.nsPerRecurrentMac + CALIBRATION.nsPerOutputMac).toBeGreaterThan(0);
  });

  it.each([
    [{ ...CAL, margin: 0.9 }, /margin/],
    [{ ...CAL, nsPerOutputMac: -1 }, /nsPerOutputMac/],
    [{ ...CAL, fixedMs: "1" }, /fixedMs/],
    [{ ...CAL, nsPerRecurrentMac: Infinity }, /nsPerRecurrentMac/],
    [null, /fixedMs/],
  ])("rejects %j", (json, message) => {
    expect(() => parseCalibration(json)).toThrow(message);
  });
});
