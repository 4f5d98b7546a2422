/**
 * Scores a trained model on the Brown test split beside a unigram and an interpolated
 * modified Kneser-Ney trigram trained on the training split with the model's vocabulary,
 * and writes <model>/eval.json (see src/eval/metrics.ts for what each figure counts).
 *
 *   npm run eval [-- --json] [-- --model models/base]
 *
 * eval.json holds only figures that follow from the model file and the corpus, rounded,
 * so rerunning on the same model reproduces it byte for byte; timings go to stderr.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { KneserNey } from "../src/eval/kneser-ney.ts";
import { type EvalResult, evaluate, type NextWordModel } from "../src/eval/metrics.ts";
import { RnnScorer } from "../src/eval/rnn-scorer.ts";
import { Unigram } from "../src/eval/unigram.ts";
import { encode, vocabHash } from "../src/model/vocab.ts";
import { readModelDir } from "./lib/model-dir.ts";
import { flags } from "./lib/args.ts";
import { brownSplit } from "./lib/brown-data.ts";

const arg = flags({ model: "models/base" }, ["json"]);
const dir = arg.str("model");

/** Seconds spent in f, logged to stderr. */
function timed<T>(label: string, f: () => T): T {
  const start = performance.now();
  const value = f();
  console.error(`${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return value;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The required figures: perplexity to 3 decimals, accuracies to 5 (about one test position). */
function figures(r: EvalResult) {
  return { perplexity: round(r.perplexity, 3), top1: round(r.top1, 5), top3: round(r.top3, 5), top5: round(r.top5, 5) };
}

const { model, vocab } = readModelDir(dir);
const hash = vocabHash(vocab);
const split = timed("load corpus", () => brownSplit());
const train = split.train.map((s) => encode(s, vocab));
const test = split.test.map((s) => encode(s, vocab));

const score = (label: string, m: NextWordModel) => timed(`${label} test`, () => evaluate(m, test, vocab));
const rnn = score("rnn", new RnnScorer(model));
const unigram = score("unigram", timed("unigram train", () => new Unigram(train, vocab.words.length)));
const kn3 = score("kn3", timed("kn3 train", () => new KneserNey(train, vocab.words.length)));

const result = {
  split: "test",
  tokens: rnn.tokens,
  ...figures(rnn),
  baselines: { unigram: figures(unigram), kn3: figures(kn3) },
  unkTargets: rnn.unkTargets,
  wordPositions: rnn.wordPositions,
  sentences: test.length,
  model: {
    output: model.output.kind,
    hidden: model.hidden,
    vocab: model.vocab,
    classes: model.output.kind === "class" ? model.output.classes : 0,
    vocabHash: hash,
  },
};
const json = JSON.stringify(result, null, 2) + "\n";
writeFileSync(join(dir, "eval.json"), json);

if (arg.bool("json")) process.stdout.write(json);
else {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`.padStart(8);
  const row = (name: string, r: EvalResult) =>
    `${name.padEnd(8)} ${r.perplexity.toFixed(1).padStart(10)} ${pct(r.top1)} ${pct(r.top3)} ${pct(r.top5)}`;
  console.log(
    [
      `Brown test split: ${rnn.tokens} predicted tokens (${rnn.unkTargets} <unk>) in ${test.length} sentences; ` +
        `top-k over ${rnn.wordPositions} word positions`,
      `${"model".padEnd(8)} ${"perplexity".padStart(10)} ${"top1".padStart(8)} ${"top3".padStart(8)} ${"top5".padStart(8)}`,
      row("rnn", rnn),
      row("kn3", kn3),
      row("unigram", unigram),
      `rnn vs kn3: perplexity ${((100 * (rnn.perplexity - kn3.perplexity)) / kn3.perplexity).toFixed(1)}%, ` +
        `top3 ${((100 * (rnn.top3 - kn3.top3))).toFixed(2)} points`,
      `wrote ${join(dir, "eval.json")}`,
    ].join("\n"),
  );
}
