/**
 * The adaptation benchmark (docs/adaptation.md): start from the shipped base model, stream
 * e-mail sentences (SpamAssassin ham, src/corpus/email.ts) through learnSentence with /learn's
 * defaults (src/config.ts), and report domain and Brown figures before and after, phrase
 * recall and the learning cost.
 *
 *   npm run adapt-bench [-- --json]
 *   npm run adapt-bench -- --stream 500 --brown 2000 --lr 0.05 --steps 2 --truncate 4 --anchor 0
 *   npm run adapt-bench -- --new-word-rate 0 --no-memory     (no new words, no phrase memory)
 *   npm run adapt-bench -- --no-damping                      (no damping of repeated content, src/trust/)
 *
 * --stream / --heldout / --brown / --recall shorten the runs (tuning on a subset); the
 * learning options override the defaults for experiments. Everything is deterministic
 * except learn_ms_per_sentence (Node, wall clock, on this machine).
 */
import { DEFAULT_SPLIT, splitDomain } from "../src/corpus/email.ts";
import { LEARN_BOUNDS, LIMITS, UPDATE_GUARDS } from "../src/config.ts";
import { BaseVocabView } from "../src/eval/base-vocab-view.ts";
import { countsForTopK, evaluate } from "../src/eval/metrics.ts";
import { phraseRecall, PHRASE_RECALL } from "../src/eval/recall.ts";
import { RnnScorer } from "../src/eval/rnn-scorer.ts";
import { cloneModel } from "../src/model/init.ts";
import type { LearnOptions } from "../src/model/lm.ts";
import { baseVocab } from "../src/model/model.ts";
import { withWordSlots } from "../src/model/new-words.ts";
import { learnWords, type TextModel, textModel } from "../src/model/text-model.ts";
import { tokenize } from "../src/model/tokenizer.ts";
import { encode, type Vocab } from "../src/model/vocab.ts";
import { WORD_SLOTS } from "../src/model/word-slots.ts";
import { LearnPolicy } from "../src/trust/shared-learn.ts";
import { readModelDir } from "./lib/model-dir.ts";
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
    "new-word-rate": String(UPDATE_GUARDS.newWordRate),
  },
  ["json", "no-memory", "no-damping"],
);
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The options /learn applies when a request sets none (src/http/learn.ts, src/writer/model-writer.ts); --new-word-rate 0: no new words. */
const newWordRate = arg.num("new-word-rate");
const { newWordRate: _default, remember, ...guards } = UPDATE_GUARDS;
const options: LearnOptions = {
  lr: arg.num("lr"),
  truncate: arg.num("truncate"),
  steps: arg.num("steps"),
  ...guards,
  anchor: arg.num("anchor"),
  ...(newWordRate > 0 && { newWordRate }),
  ...(!arg.bool("no-memory") && { remember }),
};

function loadModel(dir: string): { tm: TextModel; vocab: Vocab } {
  const { model, vocab } = readModelDir(dir);
  // The writer gives every model it learns with its word slots (src/writer/model-writer.ts).
  return { tm: textModel(newWordRate > 0 ? withWordSlots(model, WORD_SLOTS) : model, vocab, LIMITS.maxSentenceTokens), vocab };
}

/**
 * Perplexity and top-k as npm run eval defines them, perplexity in the base vocabulary's event
 * space (BaseVocabView: a learned word counts as <unk>), top-k on the model's vocabulary at the
 * time (learned words included), plus top-k over every word position: a word the model cannot
 * name counts as a miss, so before and after share one denominator.
 */
function score(tm: TextModel, sentences: readonly string[][]) {
  const scorer = new BaseVocabView(new RnnScorer(tm.model), baseVocab(tm.model));
  const r = evaluate(scorer, sentences.map((s) => encode(s, tm.vocab)), tm.vocab);
  const words = sentences.reduce((n, s) => n + s.filter(countsForTopK).length, 0);
  return {
    perplexity: round(r.perplexity, 3),
    top1: round(r.top1, 5),
    top3: round(r.top3, 5),
    top3_all_words: round((r.top3 * r.wordPositions) / words, 5),
  };
}

const loaded = loadModel(arg.str("model"));
let tm = loaded.tm;
const sizes = { stream: arg.num("stream"), heldOut: arg.num("heldout") };
const domain = splitDomain(hamEmails(), LIMITS.maxSentenceTokens, { ...DEFAULT_SPLIT, ...sizes });
const words = (sentence: string) => tokenize(sentence, LIMITS.maxSentenceTokens);
const stream = domain.stream.map(words);
const heldOut = domain.heldOut.map(words);
const brownTest = brownSplit().test;
const brown = arg.num("brown") > 0 ? brownTest.slice(0, arg.num("brown")) : brownTest;

const before = { domain: score(tm, heldOut), brown: score(tm, brown) };
log(`before: domain ${JSON.stringify(before.domain)} brown ${JSON.stringify(before.brown)}`);

const started = performance.now();
let refused = 0;
// The stream goes through the writer's policy: repeated content is damped (src/trust/).
const policy = new LearnPolicy({ damping: !arg.bool("no-damping") });
let damped = 0;
for (const tokens of stream) {
  const { lr, truncate, steps, ...guards } = options;
  const applied = policy.options(tokens, { lr, truncate, steps }, guards);
  if (applied.lr < lr) damped++;
  const r = learnWords(tm, tokens, applied);
  tm = r.tm;
  if (r.outcome.applied < options.steps) refused++;
  else policy.applied(tokens, applied);
}
const learnMs = (performance.now() - started) / stream.length;

const after = { domain: score(tm, heldOut), brown: score(tm, brown) };
log(`after:  domain ${JSON.stringify(after.domain)} brown ${JSON.stringify(after.brown)}`);
const streamed = tm;
const recall = phraseRecall(
  () => textModel(cloneModel(streamed.model), loaded.vocab, LIMITS.maxSentenceTokens),
  heldOut.slice(0, arg.num("recall")),
  (t, tokens) => learnWords(t, tokens, options).tm,
  PHRASE_RECALL,
);
const learnedWords = streamed.model.learned?.words.length ?? 0;

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
    damped,
    learned_words: learnedWords,
  },
};

if (arg.bool("json")) process.stdout.write(JSON.stringify(result, null, 2) + "\n");
else {
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`.padStart(8);
  const row = (name: string, r: ReturnType<typeof score>) =>
    `${name.padEnd(14)} ${r.perplexity.toFixed(1).padStart(10)} ${pct(r.top1)} ${pct(r.top3)} ${pct(r.top3_all_words)}`;
  console.log(
    [
      `${"".padEnd(14)} ${"perplexity".padStart(10)} ${"top1".padStart(8)} ${"top3".padStart(8)} ${"top3 all".padStart(8)}`,
      row("domain before", before.domain),
      row("domain after", after.domain),
      row("brown before", before.brown),
      row("brown after", after.brown),
      `recall (${recall.sentences} sentences, ${recall.positions} positions): ${pct(recall.before)} -> ${pct(recall.after)}`,
      `learn: ${learnMs.toFixed(2)} ms per sentence (${refused} refused, ${learnedWords} words in slots); options ${JSON.stringify(options)}`,
    ].join("\n"),
  );
}
