import { describe, expect, it } from "vitest";
import { LEARN_BOUNDS } from "../../src/config.ts";
import { tokenize } from "../../src/model/tokenizer.ts";
import { DAMPING_WINDOW, RepeatDamper, trigrams } from "../../src/trust/repeat-damper.ts";
import { LearnPolicy } from "../../src/trust/shared-learn.ts";

const words = (s: string) => tokenize(s);
const DEFAULTS = {
  lr: LEARN_BOUNDS.lr.default,
  truncate: LEARN_BOUNDS.truncate.default,
  steps: LEARN_BOUNDS.steps.default,
};

describe("RepeatDamper", () => {
  it("damps the n-th copy of a template by 1 / (1 + n)^2, so fifty copies weigh under two learns", () => {
    const d = new RepeatDamper();
    const scales: number[] = [];
    for (let i = 0; i < 50; i++) {
      const tokens = words(`sentence number ${i} is about the weather in the city`);
      scales.push(d.scale(tokens));
      d.record(tokens, 1);
    }
    expect(scales.slice(0, 4)).toEqual([1, 1 / 4, 1 / 9, 1 / 16]);
    const total = scales.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(1.5);
    expect(total).toBeLessThan(Math.PI ** 2 / 6);
  });

  it("does not damp distinct sentences that share common phrases", () => {
    const d = new RepeatDamper();
    const honest = [
      "i think one of the servers is down again",
      "one of the users said the patch works for him",
      "thanks for the help , i think it works now",
      "the new version of the list software is out",
      "i think the problem is in one of the scripts",
    ];
    for (const s of honest) {
      expect(d.scale(words(s)), s).toBe(1);
      d.record(words(s), 1);
    }
  });

  it("counts a stronger learn as several copies, and forgets learns older than the window", () => {
    const d = new RepeatDamper(4);
    const spam = words("buy cheap pills now");
    d.record(spam, 5);
    expect(d.repetition(spam)).toBe(5);
    for (let i = 0; i < 4; i++) d.record(words(`an unrelated sentence number ${i}`), 1);
    expect(d.repetition(spam)).toBe(0);
  });

  it("is case-blind, and a one-word sentence still has a trigram", () => {
    expect(trigrams(["Hello", "World"])).toEqual(trigrams(["hello", "world"]));
    expect(trigrams(["hi"])).toHaveLength(1);
  });
});

describe("LearnPolicy", () => {
  it("rebuilt from a log's tail damps the next learn exactly as the policy that saw those learns", () => {
    const live = new LearnPolicy();
    const log: { sentence: string; lr: number; steps: number }[] = [];
    for (let i = 0; i < DAMPING_WINDOW + 20; i++) {
      const tokens = words(i % 3 === 0 ? "sent from my phone" : `note ${i} about the meeting on day ${i}`);
      const o = live.options(tokens, DEFAULTS, "u");
      live.applied(tokens, o);
      log.push({ sentence: tokens.join(" "), lr: o.lr, steps: o.steps });
    }
    const rebuilt = LearnPolicy.after(log);
    const next = words("sent from my phone");
    expect(rebuilt.options(next, DEFAULTS, "u")).toEqual(live.options(next, DEFAULTS, "u"));
    expect(live.options(next, DEFAULTS, "u").lr).toBeLessThan(DEFAULTS.lr / 100);
  });

  it("without damping passes the request through with the guards", () => {
    const p = new LearnPolicy({ damping: false });
    const t = words("the same sentence");
    p.applied(t, DEFAULTS);
    expect(p.options(t, DEFAULTS, "u")).toMatchObject(DEFAULTS);
  });
});
