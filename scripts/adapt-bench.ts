/**
 * The adaptation benchmark (docs/adaptation.md): start from the shipped base model, stream
 * e-mail sentences (SpamAssassin ham, src/corpus/email.ts) through learnSentence with /learn's
 * defaults (src/config.ts), and report domain and Brown figures before and after, phrase
 * recall and the learning cost.
 *
 *   npm run adapt-bench [-- --json]
 *   npm run adapt-bench -- --stream 500 --brown 2000 --lr 0.05 --steps 2 --truncate 4 --anchor 0
 *
 * --stream / --heldout / --brown / --recall shorten the runs (tuning on a subset); the
 * learning options override the defaults for experiments. Everything is deterministic
 * except learn_ms_per_sentence (Node, wall clock, on this machine).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_SPLIT, splitDomain } from "../src/corpus/email.ts";
import { LEARN_BOUNDS, LIMITS, UPDATE_GUARDS } from "../src/config.ts";
import { type EvalResult, evaluate } from "../src/eval/metrics.ts";
import { phraseRecall, PHRASE_RECALL } from "../src/eval/recall.ts";
import { RnnScorer } from "../src/eval/rnn-scorer.ts";
import { type LearnOptions, learnSentence, Workspace } from "../src/model/lm.ts";
import type { RnnLm } from "../src/model/model.ts";
import { tokenize } from "../src/model/tokenizer.ts";
import { encode, type Vocab, vocabFromJson, vocabHash, withMarkers } from "../src/model/vocab.ts";
import { decodeModel } from "../src/store/model-codec.ts";
import { flags } from "./lib/args.ts";
import { brownSplit } from "./lib/brown-data.ts";
import { hamEmails } from "./lib/email-data.ts";

const arg = flags(
  {
    model: "models/base",
    stream: String(DEFAULT_SPLIT.stream),
    heldout: String(DEFAULT_SPLIT.heldOut),
    brown: "0",
    recall: "50",
    lr: String(LEARN_BOUNDS.lr.default),
    truncate: String(LEARN_BOUNDS.truncate.default),
    steps: String(LEARN_BOUNDS.steps.default),
    anchor: String(UPDATE_GUARDS.anchor),
  },
  ["json"],
);
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The options /learn applies when a request sets none (src/http/learn.ts, src/writer/model-writer.ts). */
const options: LearnOptions = {
  lr: arg.num("lr"),
  truncate: arg.num("truncate"),
  steps: arg.num("steps"),
  ...UPDATE_GUARDS,
  anchor: arg.num("anchor"),
};

function loadModel(dir: string): { model: RnnLm; vocab: Vocab } {
  const vocab = vocabFromJson(JSON.parse(readFileSync(join(dir, "vocab.json"), "utf8")));
  const { model } = decodeModel(readFileSync(join(dir, "weights.safetensors")), { vocab: vocab.words.length, vocabHash: vocabHash(vocab) });
  return { model, vocab };
}

/** Text -> word ids, tokenized as /learn does (the split keeps only sentences within its token limit). */
function wordIds(sentence: string, vocab: Vocab): Int32Array {
  return encode(tokenize(sentence, LIMITS.maxSentenceTokens), vocab);
}

/** [<s>, ...words, </s>], what the writer learns (encodeSentence on ids). */
function figures(r: EvalResult) {
  return { perplexity: round(r.perplexity, 3), top1: round(r.top1, 5), top3: round(r.top3, 5) };
}

const { model, vocab } = loadModel(arg.str("model"));
const sizes = { stream: arg.num("stream"), heldOut: arg.num("heldout") };
const domain = splitDomain(hamEmails(), LIMITS.maxSentenceTokens, { ...DEFAULT_SPLIT, ...sizes });
const stream = domain.stream.map((s) => wordIds(s, vocab));
const heldOut = domain.heldOut.map((s) => wordIds(s, vocab));
const brownTest = brownSplit().test.map((s) => encode(s, vocab));
const brown = arg.num("brown") > 0 ? brownTest.slice(0, arg.num("brown")) : brownTest;

const score = (sentences: Int32Array[]) => figures(evaluate(new RnnScorer(model), sentences, vocab));
const before = { domain: score(heldOut), brown: score(brown) };
log(`before: domain ${JSON.stringify(before.domain)} brown ${JSON.stringify(before.brown)}`);

const ws = new Workspace(model, LIMITS.maxSentenceTokens + 2);
const learn = (words: Int32Array) => learnSentence(model, withMarkers(words), options, ws);
const started = performance.now();
let refused = 0;
for (const ids of stream) if (learn(ids).applied < options.steps) refused++;
const learnMs = (performance.now() - started) / stream.length;

const after = { domain: score(heldOut), brown: score(brown) };
log(`after:  domain ${JSON.stringify(after.domain)} brown ${JSON.stringify(after.brown)}`);
const recall = phraseRecall(model, vocab, heldOut.slice(0, arg.num("recall")), learn, PHRASE_RECALL);

const result = {
  domain: { before: before.domain, after: after.domain },
  brown: { before: before.brown, after: after.brown },
  recall: { ...PHRASE_RECALL, sentences: recall.sentences, positions: recall.positions, before: round(recall.before, 5), after: round(recall.after, 5) },
  learn_ms_per_sentence: round(learnMs, 3),
  options,
  data: {
    stream_sentences: stream.length,
    stream_tokens: stream.reduce((n, s) => n + s.length, 0),
    heldout_sentences: heldOut.length,
    brown_sentences: brown.length,
    refused,
  },
};

if (arg.bool("json")) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
else {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`.padStart(8);
  const row = (name: string, r: ReturnType<typeof figures>) => `${name.padEnd(14)} ${r.perplexity.toFixed(1).padStart(10)} ${pct(r.top1)} ${pct(r.top3)}`;
  console.log(
    [
      `${"".padEnd(14)} ${"perplexity".padStart(10)} ${"top1".padStart(8)} ${"top3".padStart(8)}`,
      row("domain before", before.domain),
      row("domain after", after.domain),
      row("brown before", before.brown),
      row("brown after", after.brown),
      `recall (${recall.sentences} sentences, ${recall.positions} positions): ${pct(recall.before)} -> ${pct(recall.after)}`,
      `learn: ${learnMs.toFixed(2)} ms per sentence (${refused} refused); options ${JSON.stringify(options)}`,
    ].join("\n"),
  );
}
