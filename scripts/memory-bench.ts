/**
 * What a full phrase memory costs (docs/adaptation.md): filling it, decoding a model file that
 * holds it, its bytes, a recollection and forgetting a word; Node wall clock, medians of --runs.
 *
 *   npx node scripts/memory-bench.ts [--runs 7]
 *
 * Sentences are random words of the shipped model's vocabulary (Zipf-distributed, so contexts
 * repeat somewhat), 2,048 of 20 words and of 64 (the most a learn takes), with markers.
 */
import { quantile } from "../bench/stats.ts";
import { footprintBytes, rnnLm } from "../src/model/model.ts";
import { withWordSlots } from "../src/model/new-words.ts";
import { MEMORY_SENTENCES, PhraseMemory } from "../src/model/phrase-memory.ts";
import { seededRng } from "../src/model/rng.ts";
import { WORD_SLOTS } from "../src/model/word-slots.ts";
import { decodeModel, encodeModel } from "../src/store/model-codec.ts";
import { flags } from "./lib/args.ts";
import { readModelDir } from "./lib/model-dir.ts";

const arg = flags({ runs: "7", model: "models/base" });
const runs = arg.num("runs");
const { model, meta } = readModelDir(arg.str("model"));
const slotted = withWordSlots(model, WORD_SLOTS);
const rng = seededRng(1);
const word = () => 3 + Math.floor(Math.exp(rng() * Math.log(model.vocab - 3)));

/** Median ms of f(input) over the runs (after one run to warm the code up); the input is made untimed. */
function ms<T>(f: (input: T) => void, input: () => T): number {
  f(input());
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const x = input();
    const t = performance.now();
    f(x);
    times.push(performance.now() - t);
  }
  return quantile(times, 0.5);
}

const nothing = () => undefined;
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(2);
const file = encodeModel(slotted, meta);
console.log(
  `no memory: decode ${ms(decodeModel, () => file.slice()).toFixed(1)} ms, ${mib(footprintBytes(slotted))} MiB`,
);
for (const words of [20, 64]) {
  const sentences = Array.from({ length: MEMORY_SENTENCES }, () => [0, ...Array.from({ length: words }, word), 1]);
  const fill = () => {
    const memory = new PhraseMemory();
    for (const s of sentences) memory.add(s);
    return memory;
  };
  const memory = fill();
  const withMemory = encodeModel(rnnLm({ ...slotted, memory }), meta);
  const prefixes = sentences.slice(0, 1000).map((s) => s.slice(0, 4 + (s.length % 8)));
  const recollectUs =
    (ms(() => prefixes.forEach((p) => memory.recollect(p, p.length)), nothing) * 1000) / prefixes.length;
  // A word in every sentence: the worst a learned word's eviction can ask.
  const everywhere = () => {
    const m = new PhraseMemory();
    for (const s of sentences) m.add([s[0], model.vocab, ...s.slice(2)]);
    return m;
  };
  const forgetMs = ms((m) => m.forget(model.vocab), everywhere);
  console.log(
    `${MEMORY_SENTENCES} sentences of ${words} words: fill ${ms(fill, nothing).toFixed(1)} ms; decode ${ms(decodeModel, () => withMemory.slice()).toFixed(1)} ms; ` +
      `memory ${mib(memory.footprintBytes())} MiB; recollect ${recollectUs.toFixed(2)} µs; forget a word in all of them ${forgetMs.toFixed(1)} ms`,
  );
}
