import { describe, expect, it } from "vitest";
import { PrefixWindow } from "../../src/eval/prefix-window.ts";
import { RnnScorer } from "../../src/eval/rnn-scorer.ts";
import { seededRng } from "../../src/model/rng.ts";
import { predictWords, textModel } from "../../src/model/text-model.ts";
import { encode } from "../../src/model/vocab.ts";
import { tinyModel, tinyVocab, WORDS } from "../helpers/tiny-model.ts";

const WINDOW = 4;
const K = 5;

describe("PrefixWindow", () => {
  it("scores each position as /predict answers for the prefix before it (predictWords over the last window tokens)", () => {
    const vocab = tinyVocab();
    const model = tinyModel(3);
    const tm = textModel(model, vocab, 64);
    const rng = seededRng(7);
    const sentence = Array.from({ length: 14 }, () => WORDS[Math.floor(rng() * WORDS.length)]);
    const ids = encode(sentence, vocab);
    const windowed = new PrefixWindow(new RnnScorer(model), WINDOW);
    const whole = new RnnScorer(model);
    windowed.startSentence();
    whole.startSentence();
    let differs = 0;
    for (let t = 0; t < ids.length; t++) {
      const predictions = predictWords(tm, sentence.slice(0, t), K, WINDOW).predictions;
      predictions.forEach(({ word, p }, rank) => {
        const id = vocab.index.get(word)!;
        expect(windowed.prob(id)).toBeCloseTo(p, 12);
        expect(windowed.rivals(id, K)).toBe(rank);
      });
      const best = vocab.index.get(predictions[0].word)!;
      if (Math.abs(whole.prob(best) - windowed.prob(best)) > 1e-9) differs++;
      windowed.advance(ids[t]);
      whole.advance(ids[t]);
    }
    // Past the window, reading the whole sentence would answer differently: the window is what is tested.
    expect(differs).toBeGreaterThan(0);
  });
});
