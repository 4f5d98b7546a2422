/**
 * The poisoning benchmark (docs/limits.md, "A shared model that stays good"): start from the
 * shipped base model, score top-3 on held-out Brown valid sentences, run each attack on a fresh
 * copy through the writer's own learn path (src/trust/shared-learn.ts: the request's bounds, the
 * damping of repeated content, the guards), and score again.
 *
 *   npm run poison-bench [-- --json] [--valid 500]
 *
 * Attacks (one subject each):
 * - template: 50 learns of "sentence number i is about the weather in the city", i = 0..49,
 *   default options (the report: -3.8 points before the defence);
 * - repeat:   200 learns of one sentence at the largest lr a request may set;
 * - extreme:  one learn at the most extreme options a request may set (lr, steps, truncate).
 * Deterministic: no wall clock in the figures.
 */
import { LEARN_BOUNDS, LIMITS } from "../src/config.ts";
import { BaseVocabView } from "../src/eval/base-vocab-view.ts";
import { evaluate } from "../src/eval/metrics.ts";
import { RnnScorer } from "../src/eval/rnn-scorer.ts";
import { cloneModel } from "../src/model/init.ts";
import { baseVocab } from "../src/model/model.ts";
import { withWordSlots } from "../src/model/new-words.ts";
import { learnWords, predictWords, type TextModel, textModel } from "../src/model/text-model.ts";
import { tokenize } from "../src/model/tokenizer.ts";
import { encode } from "../src/model/vocab.ts";
import { WORD_SLOTS } from "../src/model/word-slots.ts";
import { LearnPolicy } from "../src/trust/shared-learn.ts";
import { flags } from "./lib/args.ts";
import { brownSplit } from "./lib/brown-data.ts";
import { readModelDir } from "./lib/model-dir.ts";

const arg = flags({ model: "models/base", valid: "500" }, ["json", "no-defence"]);
const log = (s: string) => process.stderr.write(`${s}\n`);
const round = (x: number, digits: number) => Number(x.toFixed(digits));

interface Attack {
  name: string;
  learns: { sentence: string; lr: number; truncate: number; steps: number }[];
}

const defaults = {
  lr: LEARN_BOUNDS.lr.default,
  truncate: LEARN_BOUNDS.truncate.default,
  steps: LEARN_BOUNDS.steps.default,
};
const extreme = { lr: LEARN_BOUNDS.lr.max, truncate: LEARN_BOUNDS.truncate.max, steps: LEARN_BOUNDS.steps.max };
const ATTACKS: Attack[] = [
  {
    name: "template",
    learns: Array.from({ length: 50 }, (_, i) => ({
      sentence: `sentence number ${i} is about the weather in the city`,
      ...defaults,
    })),
  },
  {
    name: "repeat",
    learns: Array.from({ length: 200 }, () => ({
      sentence: "the president of the company is a crook",
      ...defaults,
      lr: LEARN_BOUNDS.lr.max,
    })),
  },
  { name: "extreme", learns: [{ sentence: "buy cheap pills now", ...extreme }] },
];

/** Prefixes whose suggestions show what an attack did. */
const PROBES = ["the", "i went to the", "the president of the", "he is a"];

const { model, vocab } = readModelDir(arg.str("model"));
const base = withWordSlots(model, WORD_SLOTS);
const valid = brownSplit().valid.slice(0, arg.num("valid"));

function top3(tm: TextModel): number {
  const scorer = new BaseVocabView(new RnnScorer(tm.model), baseVocab(tm.model));
  return evaluate(
    scorer,
    valid.map((s) => encode(s, tm.vocab)),
    tm.vocab,
  ).top3;
}

function probe(tm: TextModel): Record<string, string[]> {
  const words = (p: string) =>
    predictWords(tm, tokenize(p, LIMITS.maxSentenceTokens), 3, LIMITS.prefixWindow).predictions.map((x) => x.word);
  return Object.fromEntries(PROBES.map((p) => [p, words(p)]));
}

const fresh = () => textModel(cloneModel(base), vocab, LIMITS.maxSentenceTokens);
const before = top3(fresh());
log(`before: top-3 ${(100 * before).toFixed(2)}% on ${valid.length} Brown valid sentences`);

const attacks = ATTACKS.map((attack) => {
  const policy = new LearnPolicy({ damping: !arg.bool("no-defence") });
  let tm = fresh();
  for (const l of attack.learns) {
    const tokens = tokenize(l.sentence, LIMITS.maxSentenceTokens);
    const options = policy.options(tokens, l, "attacker");
    const r = learnWords(tm, tokens, options);
    tm = r.tm;
    if (r.outcome.applied === options.steps) policy.applied(tokens, options);
  }
  const after = top3(tm);
  const r = {
    name: attack.name,
    learns: attack.learns.length,
    top3: round(after, 5),
    delta_points: round(100 * (after - before), 2),
    probes: probe(tm),
  };
  log(
    `${attack.name}: top-3 ${(100 * after).toFixed(2)}% (${r.delta_points >= 0 ? "+" : ""}${r.delta_points} points) ${JSON.stringify(r.probes)}`,
  );
  return r;
});

const result = {
  valid_sentences: valid.length,
  before: { top3: round(before, 5), probes: probe(fresh()) },
  attacks,
  defence: !arg.bool("no-defence"),
};
if (arg.bool("json")) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else for (const a of attacks) console.log(`${a.name.padEnd(10)} ${a.learns} learns: ${a.delta_points} points of top-3`);
