/**
 * Scores a trained model on test sentences beside a unigram and an interpolated modified
 * Kneser-Ney trigram trained on the model's own training text with the model's vocabulary
 * (see src/eval/metrics.ts for what each figure counts).
 *
 *   npm run eval [-- --json] [-- --model models/base]      Brown's test split; writes <model>/eval.json
 *   npm run eval -- --model DIR --test FILE [--json]        FILE's lines; writes <model>/eval-<FILE's name>.json
 *
 * The baselines train on the text the model's train-report.json names: Brown's training split,
 * or the training lines of its --corpus file (which must be unchanged). `api` holds top-k over
 * every word of the first 500 test sentences, read as /predict reads a prefix, the figure a client
 * of the API measures; all three models on the same positions.
 *
 * The JSON holds only figures that follow from the model file and the text, rounded, so rerunning
 * on the same model reproduces it byte for byte; timings go to stderr.
 */
import { writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { LIMITS } from "../src/config.ts";
import { KneserNey } from "../src/eval/kneser-ney.ts";
import { type EvalResult, evaluate, type NextWordModel, topKOverAllWords, wordTokens } from "../src/eval/metrics.ts";
import { PrefixWindow } from "../src/eval/prefix-window.ts";
import { RnnScorer } from "../src/eval/rnn-scorer.ts";
import { Unigram } from "../src/eval/unigram.ts";
import { encode, vocabHash } from "../src/model/vocab.ts";
import { readModelDir, trainedOn } from "./lib/model-dir.ts";
import { CliError, EXIT } from "./cli/errors.ts";
import { flags, runScript } from "./lib/args.ts";
import { brownSplit } from "./lib/brown-data.ts";
import { readTextFile, recordedTrain } from "./lib/corpus-file.ts";

/** The sentences the API figure is measured on: the first of the test set. */
const API_SENTENCES = 500;

/** Seconds spent in f, logged to stderr. */
function timed<T>(label: string, f: () => T): T {
  const start = performance.now();
  const value = f();
  console.error(`${label}: ${((performance.now() - start) / 1000).toFixed(1)} s`);
  return value;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** Accuracies to 5 decimals (about one test position). */
function accuracies(r: { top1: number; top3: number; top5: number }) {
  return { top1: round(r.top1, 5), top3: round(r.top3, 5), top5: round(r.top5, 5) };
}

/** The required figures: perplexity to 3 decimals and the accuracies. */
function figures(r: EvalResult) {
  return { perplexity: round(r.perplexity, 3), ...accuracies(r) };
}

/** Baselines' training text and the test sentences, with the name the figures go under. */
function evalText(dir: string, testFile: string): { train: string[][]; test: string[][]; split: string; out: string } {
  const source = trainedOn(dir);
  if (testFile === "") {
    if (source !== "brown") {
      throw new CliError(
        EXIT.usage,
        `${dir} was trained on ${source.file}, not Brown: give the sentences to score with --test FILE`,
      );
    }
    const split = timed("load corpus", () => brownSplit());
    return { train: split.train, test: split.test, split: "test", out: "eval.json" };
  }
  const test = readTextFile(testFile).sentences;
  const train = timed("load training text", () => (source === "brown" ? brownSplit().train : recordedTrain(source)));
  return { train, test, split: testFile, out: `eval-${basename(testFile, extname(testFile))}.json` };
}

await runScript("eval", () => {
  const arg = flags({ model: "models/base", test: "" }, ["json"]);
  const dir = arg.str("model");
  const { model, vocab } = readModelDir(dir);
  const text = evalText(dir, arg.str("test"));
  const train = text.train.map((s) => encode(s, vocab));
  const test = text.test.map((s) => encode(s, vocab));

  const rnnModel = new RnnScorer(model);
  const unigramModel = timed("unigram train", () => new Unigram(train, vocab.words.length));
  const kn3Model = timed("kn3 train", () => new KneserNey(train, vocab.words.length));
  const score = (label: string, m: NextWordModel) => timed(`${label} test`, () => evaluate(m, test, vocab));
  const rnn = score("rnn", rnnModel);
  const unigram = score("unigram", unigramModel);
  const kn3 = score("kn3", kn3Model);

  // What a client of /predict measures: the prefix through its last prefixWindow tokens, every word a target.
  const first = test.slice(0, API_SENTENCES);
  const words = wordTokens(text.test.slice(0, API_SENTENCES));
  const apiScore = (label: string, m: NextWordModel) =>
    accuracies(
      topKOverAllWords(
        timed(`${label} api`, () => evaluate(new PrefixWindow(m, LIMITS.prefixWindow), first, vocab)),
        words,
      ),
    );
  const api = {
    sentences: first.length,
    prefixWindow: LIMITS.prefixWindow,
    words,
    ...apiScore("rnn", rnnModel),
    baselines: { unigram: apiScore("unigram", unigramModel), kn3: apiScore("kn3", kn3Model) },
  };

  const result = {
    split: text.split,
    tokens: rnn.tokens,
    ...figures(rnn),
    baselines: { unigram: figures(unigram), kn3: figures(kn3) },
    unkTargets: rnn.unkTargets,
    wordPositions: rnn.wordPositions,
    sentences: test.length,
    api,
    model: {
      output: model.output.kind,
      hidden: model.hidden,
      vocab: model.vocab,
      classes: model.output.kind === "class" ? model.output.classes : 0,
      vocabHash: vocabHash(vocab),
    },
  };
  const json = `${JSON.stringify(result, null, 2)}\n`;
  const out = join(dir, text.out);
  writeFileSync(out, json);

  if (arg.bool("json")) process.stdout.write(json);
  else {
    const pct = (x: number) => `${(100 * x).toFixed(2)}%`.padStart(8);
    const row = (name: string, r: EvalResult, a: { top1: number; top3: number; top5: number }) =>
      `${name.padEnd(8)} ${r.perplexity.toFixed(1).padStart(10)} ${pct(r.top1)} ${pct(r.top3)} ${pct(r.top5)}   ${pct(a.top1)} ${pct(a.top3)} ${pct(a.top5)}`;
    console.log(
      [
        `${text.split === "test" ? "Brown test split" : text.split}: ${rnn.tokens} predicted tokens (${rnn.unkTargets} <unk>) in ${test.length} sentences; ` +
          `top-k over ${rnn.wordPositions} word positions; api: top-k over all ${words} words of the first ${first.length} sentences`,
        `${"model".padEnd(8)} ${"perplexity".padStart(10)} ${"top1".padStart(8)} ${"top3".padStart(8)} ${"top5".padStart(8)}   ${"api top1".padStart(8)} ${"api top3".padStart(8)} ${"api top5".padStart(8)}`,
        row("rnn", rnn, api),
        row("kn3", kn3, api.baselines.kn3),
        row("unigram", unigram, api.baselines.unigram),
        `rnn vs kn3: perplexity ${((100 * (rnn.perplexity - kn3.perplexity)) / kn3.perplexity).toFixed(1)}%, ` +
          `top3 ${(100 * (rnn.top3 - kn3.top3)).toFixed(2)} points`,
        `wrote ${out}`,
      ].join("\n"),
    );
  }
});
