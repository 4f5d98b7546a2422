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
 *   npm run adapt-bench -- --personal [--layer-bits 14 --layer-rate 0.01 --own-rate 0.05]
 *                                    (the stream into one user's personal layer, docs/personal.md)
 *
 * --stream / --heldout / --brown / --recall shorten the runs (tuning on a subset); the
 * learning options override the defaults for experiments. Everything is deterministic
 * except learn_ms_per_sentence (Node, wall clock, on this machine).
 */
import { DEFAULT_SPLIT, splitDomain } from "../src/corpus/email.ts";
import { LEARN_BOUNDS, LIMITS, PERSONAL_LEARN, UPDATE_GUARDS } from "../src/config.ts";
import { BaseVocabView } from "../src/eval/base-vocab-view.ts";
import { evaluate, topKOverAllWords, wordTokens } from "../src/eval/metrics.ts";
import { phraseRecall, PHRASE_RECALL } from "../src/eval/recall.ts";
import { RnnScorer } from "../src/eval/rnn-scorer.ts";
import { cloneModel } from "../src/model/init.ts";
import type { LearnOptions } from "../src/model/lm.ts";
import { baseVocab } from "../src/model/model.ts";
import { withWordSlots } from "../src/model/new-words.ts";
import { cloneLayer, DELTA_BITS, emptyLayer, type PersonalLearnOptions, personalBase } from "../src/model/personal.ts";
import { asTextModel, learnPersonalWords, type PersonalText, personalText } from "../src/model/personal-text.ts";
import { learnWords, type TextModel, textModel } from "../src/model/text-model.ts";
import { tokenize } from "../src/model/tokenizer.ts";
import { encode, type Vocab } from "../src/model/vocab.ts";
import { WORD_SLOTS } from "../src/model/word-slots.ts";
import { LearnPolicy } from "../src/trust/shared-learn.ts";
import { subjectHash } from "../src/trust/subject.ts";
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
    "layer-bits": String(DELTA_BITS),
    "layer-rate": String(PERSONAL_LEARN.rate),
    "own-rate": String(PERSONAL_LEARN.ownRate),
    "layer-step": String(PERSONAL_LEARN.maxStepNorm),
    "layer-bias": String(PERSONAL_LEARN.biasScale),
  },
  ["json", "no-memory", "no-damping", "personal"],
);
const log = (s: string) => process.stderr.write(`${s}\n`);
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

/** --personal: what a personal learn applies (PERSONAL_LEARN, overridable for experiments). */
const personalOptions: PersonalLearnOptions = {
  rate: arg.num("layer-rate"),
  ownRate: newWordRate > 0 ? arg.num("own-rate") : 0,
  biasScale: arg.num("layer-bias"),
  maxStepNorm: arg.num("layer-step"),
  remember: !arg.bool("no-memory"),
};

/**
 * How the stream is learned: into the model itself (as /learn without user), or with --personal
 * into one user's layer over the read-only model (as /learn with user=). `tm` is what is scored.
 */
interface Learner {
  tm: TextModel;
  /**
   * A learn taught by `sub` (undefined: anonymous, each learn its own teacher, as before subjects);
   * whether it was applied, and whether the policy damped it (shared learns only).
   */
  learn(tokens: readonly string[], sub?: string): { applied: boolean; damped: boolean };
  /** A fresh learner from a copy of this one's state, for phrase recall. */
  copy(): Learner;
}

/**
 * Learns into the model, as the writer does: through its policy, which damps repeated content
 * (src/trust/); phrase recall's copies learn without it (null).
 */
function modelLearner(tm: TextModel, policy: LearnPolicy | null): Learner {
  const learner: Learner = {
    tm,
    learn(tokens, sub) {
      const { lr, truncate, steps, ...guards } = options;
      const applied = policy
        ? policy.options(tokens, { lr, truncate, steps }, sub, guards)
        : { ...options, subject: sub === undefined ? undefined : subjectHash(sub) };
      const r = learnWords(learner.tm, tokens, applied);
      learner.tm = r.tm;
      const ok = r.outcome.applied === options.steps;
      if (ok) policy?.applied(tokens, applied);
      return { applied: ok, damped: applied.lr < lr };
    },
    copy: () => modelLearner(textModel(cloneModel(learner.tm.model), loaded.vocab, LIMITS.maxSentenceTokens), null),
  };
  return learner;
}

function personalLearner(pt: PersonalText): Learner {
  const learner: Learner = {
    get tm() {
      return asTextModel(pt);
    },
    learn(tokens) {
      // Without own words (--new-word-rate 0), a new word stays <unk> and takes no slot.
      const learned = newWordRate > 0 ? tokens : tokens.map((w) => (pt.vocab.index.has(w) ? w : "<unk>"));
      return { applied: learnPersonalWords(pt, learned, personalOptions).outcome.applied, damped: false };
    },
    copy: () => personalLearner(personalText(pt.pbase, loaded.vocab, cloneLayer(pt.layer), LIMITS.maxSentenceTokens)),
  };
  return learner;
}

function loadModel(dir: string): { tm: TextModel; vocab: Vocab } {
  const { model, vocab } = readModelDir(dir);
  // The writer gives every model it learns with its word slots (src/writer/model-writer.ts).
  return {
    tm: textModel(newWordRate > 0 ? withWordSlots(model, WORD_SLOTS) : model, vocab, LIMITS.maxSentenceTokens),
    vocab,
  };
}

/**
 * Perplexity and top-k as npm run eval defines them, perplexity in the base vocabulary's event
 * space (BaseVocabView: a learned word counts as <unk>), top-k on the model's vocabulary at the
 * time (learned words included), plus top-k over every word position: a word the model cannot
 * name counts as a miss, so before and after share one denominator.
 */
function score(tm: TextModel, sentences: readonly string[][]) {
  const scorer = new BaseVocabView(new RnnScorer(tm.model), baseVocab(tm.model));
  const r = evaluate(
    scorer,
    sentences.map((s) => encode(s, tm.vocab)),
    tm.vocab,
  );
  return {
    perplexity: round(r.perplexity, 3),
    top1: round(r.top1, 5),
    top3: round(r.top3, 5),
    top3_all_words: round(topKOverAllWords(r, wordTokens(sentences)).top3, 5),
  };
}

const loaded = loadModel(arg.str("model"));
const learner = arg.bool("personal")
  ? personalLearner(
      personalText(
        personalBase(loaded.tm.model, WORD_SLOTS),
        loaded.vocab,
        emptyLayer(baseVocab(loaded.tm.model), WORD_SLOTS, arg.num("layer-bits")),
        LIMITS.maxSentenceTokens,
      ),
    )
  : modelLearner(loaded.tm, new LearnPolicy({ damping: !arg.bool("no-damping") }));
const sizes = { stream: arg.num("stream"), heldOut: arg.num("heldout") };
const domain = splitDomain(hamEmails(), LIMITS.maxSentenceTokens, { ...DEFAULT_SPLIT, ...sizes });
const words = (sentence: string) => tokenize(sentence, LIMITS.maxSentenceTokens);
const stream = domain.stream.map(words);
const heldOut = domain.heldOut.map(words);
const brownTest = brownSplit().test;
const brown = arg.num("brown") > 0 ? brownTest.slice(0, arg.num("brown")) : brownTest;

const before = { domain: score(learner.tm, heldOut), brown: score(learner.tm, brown) };
log(`before: domain ${JSON.stringify(before.domain)} brown ${JSON.stringify(before.brown)}`);

const started = performance.now();
let refused = 0;
let damped = 0;
// Each sentence is taught by its message's sender: new words and the phrase memory need two of them.
for (const [i, tokens] of stream.entries()) {
  const r = learner.learn(tokens, domain.streamSenders[i]);
  if (!r.applied) refused++;
  if (r.damped) damped++;
}
const learnMs = (performance.now() - started) / stream.length;

const after = { domain: score(learner.tm, heldOut), brown: score(learner.tm, brown) };
log(`after:  domain ${JSON.stringify(after.domain)} brown ${JSON.stringify(after.brown)}`);
// Phrase recall learns each sentence into a copy of the streamed state, 3 times: anonymously (as
// a personal model counts its one user's learns), and by one subject of the shared model.
const recallBy = (sub: string | undefined) => {
  let copy = learner;
  return phraseRecall(
    () => (copy = learner.copy()).tm,
    heldOut.slice(0, arg.num("recall")),
    (_tm, tokens) => (copy.learn(tokens, sub), copy.tm),
    PHRASE_RECALL,
  );
};
const recall = recallBy(undefined);
const recallOneSubject = recallBy("one-subject");
const learnedWords = learner.tm.model.learned?.words.length ?? 0;

const result = {
  domain: { before: before.domain, after: after.domain },
  brown: { before: before.brown, after: after.brown },
  recall: {
    ...PHRASE_RECALL,
    sentences: recall.sentences,
    positions: recall.positions,
    before: round(recall.before, 5),
    after: round(recall.after, 5),
  },
  recall_one_subject: { before: round(recallOneSubject.before, 5), after: round(recallOneSubject.after, 5) },
  learn_ms_per_sentence: round(learnMs, 3),
  options: arg.bool("personal") ? { personal: personalOptions, layer_bits: arg.num("layer-bits") } : options,
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

if (arg.bool("json")) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
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
      `recall (${recall.sentences} sentences, ${recall.positions} positions): ${pct(recall.before)} -> ${pct(recall.after)}; taught by one subject ${pct(recallOneSubject.after)}`,
      `learn: ${learnMs.toFixed(2)} ms per sentence (${refused} refused, ${learnedWords} words in slots); options ${JSON.stringify(options)}`,
    ].join("\n"),
  );
}
