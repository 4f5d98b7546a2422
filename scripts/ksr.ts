/**
 * Keystroke savings (src/eval/ksr.ts) on the first 100 sentences of the Brown test split, with
 * 6 suggestions: the model's completion (completeWords, what GET /predict?partial= serves), the
 * same with each sentence learned after it is typed (through the writer's learn path), and an
 * interpolated modified Kneser-Ney trigram trained on the training split, on the same simulation.
 *
 *   npm run ksr [-- --json] [-- --model models/base --sentences 100 --k 6]
 *   npm run ksr -- --url http://localhost:8787 [--token dev-token]   the model through the HTTP API
 *                                                                      (learning through /learn and fresh=1)
 *
 * CPU per request is this process's CPU (process.cpuUsage) around each completion call.
 */
import { LEARN_BOUNDS, LIMITS } from "../src/config.ts";
import { KneserNey } from "../src/eval/kneser-ney.ts";
import { ksrCeiling, type KsrResult, simulateTyping, type Suggester } from "../src/eval/ksr.ts";
import { isWord } from "../src/model/completion.ts";
import { completeWords, learnWords, type TextModel, textModel } from "../src/model/text-model.ts";
import { encode, isSuggestible, type Vocab } from "../src/model/vocab.ts";
import { LearnPolicy } from "../src/trust/shared-learn.ts";
import { ADMIN } from "../src/trust/subject.ts";
import { learningModel } from "../src/writer/replay.ts";
import { flags } from "./lib/args.ts";
import { brownSplit } from "./lib/brown-data.ts";
import { readModelDir } from "./lib/model-dir.ts";

const arg = flags({ model: "models/base", sentences: "100", k: "6", url: "", token: "dev-token" }, ["json", "skip-kn"]);
const k = arg.num("k");
const split = brownSplit();
const sentences = split.test.slice(0, arg.num("sentences"));
const { model, vocab } = readModelDir(arg.str("model"));

/** CPU time of calls to f, per call. */
class CpuMeter {
  private readonly samples: number[] = [];
  measure<T>(f: () => T): T {
    const start = process.cpuUsage();
    const value = f();
    const used = process.cpuUsage(start);
    this.samples.push((used.user + used.system) / 1000);
    return value;
  }
  summary() {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
    return { cpuMsPerRequest: round(mean, 4), cpuMsMedian: round(sorted[Math.floor(sorted.length / 2)] ?? 0, 4) };
  }
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

/** The model in this process, as the Worker serves it; with `learn`, as its writer learns. */
function rnnSuggester(learn: boolean, cpu: CpuMeter): Suggester {
  let tm: TextModel = learn ? learningModel(model, vocab) : textModel(model, vocab, LIMITS.maxSentenceTokens);
  const policy = new LearnPolicy();
  const defaults = {
    lr: LEARN_BOUNDS.lr.default,
    truncate: LEARN_BOUNDS.truncate.default,
    steps: LEARN_BOUNDS.steps.default,
  };
  return {
    suggest: (before, partial, n) =>
      cpu.measure(() => completeWords(tm, before, partial, n, LIMITS.prefixWindow).predictions.map((p) => p.word)),
    typed: learn
      ? (sentence) => {
          // As POST /learn with its defaults, through the writer's policy: at most 64 tokens (the
          // CPU budget's truncation of a long learn is not simulated; --url goes through it).
          if (sentence.length > LIMITS.maxSentenceTokens) return;
          // Taught with the admin token, as --url's learns are (one subject: src/trust/subject.ts).
          const options = policy.options(sentence, defaults, ADMIN);
          tm = learnWords(tm, sentence, options).tm;
          policy.applied(sentence, options);
        }
      : undefined,
  };
}

/** The model through the HTTP API, as a client would (published model; fresh=1 when learning). */
function httpSuggester(url: string, learn: boolean): Suggester {
  const auth = { authorization: `Bearer ${arg.str("token")}` };
  return {
    suggest: async (before, partial, n) => {
      const q = new URLSearchParams({ prefix: before.join(" "), partial, k: String(n), ...(learn && { fresh: "1" }) });
      const r = await fetch(`${url}/predict?${q}`);
      if (!r.ok) throw new Error(`GET /predict: ${r.status} ${await r.text()}`);
      return ((await r.json()) as { predictions: { word: string }[] }).predictions.map((p) => p.word);
    },
    typed: learn
      ? async (sentence) => {
          if (sentence.length > LIMITS.maxSentenceTokens) return;
          const r = await fetch(`${url}/learn`, {
            method: "POST",
            headers: { ...auth, "content-type": "text/plain" },
            body: sentence.join(" "),
          });
          if (!r.ok) throw new Error(`POST /learn: ${r.status} ${await r.text()}`);
        }
      : undefined,
  };
}

/**
 * The Kneser-Ney trigram on the same simulation: the exact k best words that start with the
 * partial, from its whole distribution (computed once per position, sorted, then filtered).
 */
function knSuggester(kn: KneserNey, v: Vocab, cpu: CpuMeter): Suggester {
  let key = "";
  let ranked: number[] = [];
  const words = v.words.map((w, id) => (isSuggestible(id) && isWord(w) ? id : -1)).filter((id) => id >= 0);
  return {
    suggest: (before, partial, n) =>
      cpu.measure(() => {
        const context = before.join(" ");
        if (context !== key || ranked.length === 0) {
          key = context;
          kn.startSentence();
          for (const id of encode(before, v)) kn.advance(id);
          const p = new Float64Array(v.words.length);
          for (const id of words) p[id] = kn.prob(id);
          ranked = [...words].sort((a, b) => p[b] - p[a] || a - b);
        }
        const out: string[] = [];
        for (const id of ranked) {
          if (out.length === n) break;
          if (v.words[id].startsWith(partial)) out.push(v.words[id]);
        }
        return out;
      }),
  };
}

function summary(r: KsrResult, cpu?: CpuMeter) {
  const { keystrokes, typed, selections, requests, takenAfter } = r;
  return { ksr: round(r.ksr, 4), keystrokes, typed, selections, takenAfter, requests, ...cpu?.summary() };
}

const url = arg.str("url");
const results: Record<string, unknown> = {};
const ceiling = ksrCeiling(sentences, (w) => vocab.index.has(w));
for (const learn of [false, true]) {
  const cpu = new CpuMeter();
  const suggester = url ? httpSuggester(url, learn) : rnnSuggester(learn, cpu);
  const start = Date.now();
  const r = await simulateTyping(sentences, suggester, k);
  console.error(
    `rnn${learn ? " + learning" : ""}: KSR ${(100 * r.ksr).toFixed(2)}% in ${((Date.now() - start) / 1000).toFixed(1)} s`,
  );
  results[learn ? "rnnLearning" : "rnn"] = summary(r, url ? undefined : cpu);
}
if (!arg.bool("skip-kn")) {
  const kn = new KneserNey(
    split.train.map((s) => encode(s, vocab)),
    vocab.words.length,
  );
  const cpu = new CpuMeter();
  const r = await simulateTyping(sentences, knSuggester(kn, vocab, cpu), k);
  console.error(`kn3: KSR ${(100 * r.ksr).toFixed(2)}%`);
  results.kn3 = summary(r, cpu);
}
const out = {
  sentences: sentences.length,
  k,
  chars: ceiling.chars,
  via: url ? `HTTP ${url}` : "in process",
  ...results,
  ceiling: {
    ksr: round(ceiling.ksr, 4),
    keystrokes: ceiling.keystrokes,
    note: "every in-vocabulary word taken at its first request; other words and punctuation typed",
  },
};
if (arg.bool("json")) process.stdout.write(`${JSON.stringify(out)}\n`);
else console.log(JSON.stringify(out, null, 2));
