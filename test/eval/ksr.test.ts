import { describe, expect, it } from "vitest";
import { ksrCeiling, simulateTyping, type Suggester } from "../../src/eval/ksr.ts";

const SENTENCES = [
  ["the", "cat", ","],
  ["a", "dog", "sat", "."],
];

describe("simulateTyping", () => {
  it("counts a hand-worked sentence: characters typed, one keystroke per selection", async () => {
    const asked: string[] = [];
    const suggester: Suggester = {
      suggest: (before, partial) => {
        asked.push(`${before.join(" ")}|${partial}`);
        return partial === "ca" ? ["car", "cat"] : ["x"];
      },
    };
    const r = await simulateTyping([SENTENCES[0]], suggester, 6);
    // "the " typed (3 letters, then the space after the last request); "cat" taken after "ca"; ", " typed.
    expect(asked).toEqual(["|", "|t", "|th", "|the", "the|", "the|c", "the|ca"]);
    expect(r).toEqual({
      sentences: 1,
      chars: 10,
      typed: 8,
      selections: 1,
      keystrokes: 9,
      requests: 7,
      takenAfter: [0, 0, 1, 0],
      ksr: 1 - 9 / 10,
    });
  });

  it("saves nothing without suggestions, and reaches the ceiling when every word is suggested at once", async () => {
    const none = await simulateTyping(SENTENCES, { suggest: () => [] }, 6);
    expect(none.ksr).toBe(0);
    expect(none.keystrokes).toBe(none.chars);
    const oracle: Suggester = { suggest: () => ["the", "cat", "a", "dog", "sat"] };
    const best = await simulateTyping(SENTENCES, oracle, 6);
    expect(best).toEqual({ ...ksrCeiling(SENTENCES, () => true), requests: 5 });
    expect(best.ksr).toBeCloseTo(1 - (5 + 2 + 2) / 22, 12);
    // A word the vocabulary lacks is typed.
    expect(ksrCeiling(SENTENCES, (w) => w !== "cat").keystrokes).toBe(best.keystrokes + 3);
  });

  it("hands each sentence to the suggester once it is typed, before the next one", async () => {
    const events: string[] = [];
    await simulateTyping(
      SENTENCES,
      {
        suggest: (before) => (events.push(`ask ${before.length}`), []),
        typed: (s) => void events.push(`typed ${s.join(" ")}`),
      },
      6,
    );
    expect(events.indexOf("typed the cat ,")).toBeLessThan(events.indexOf("ask 0", 5));
    expect(events.at(-1)).toBe("typed a dog sat .");
  });
});
