/**
 * The personal layers' benchmark (docs/personal.md, docs/scaling.md):
 *
 *   npm run users-bench [-- --json]            all three parts
 *   npm run users-bench -- --users 1000 --skip-quality --skip-numerics
 *
 * 1. quality: the per-user protocol on the SpamAssassin ham senders (grouped by the From:
 *    address, every sender with at least 40 clean sentences, in Date: order): each sentence is
 *    scored (top-3 over its word positions, every word counted) and then learned by that user;
 *    the mean over users for the shared model (no learning), the personal layer, and a full
 *    per-user copy of the model (POST /models, learning as /learn does).
 * 2. numerics (Node, CPU): a layer's load (decode + view) after 500 learns, a personal learn of
 *    20 tokens against a shared one, a personal prediction against a shared one.
 * 3. workerd: the real Worker in local workerd (Miniflare, SQLite Durable Objects, KV), --users
 *    users learning and predicting through the HTTP API: each user's stored bytes (GET /users),
 *    and workerd's CPU per personal learn and prediction against shared ones.
 */
import { readFileSync } from "node:fs";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { emailSentences } from "../src/corpus/email.ts";
import { LEARN_BOUNDS, LIMITS, PERSONAL_LEARN, UPDATE_GUARDS } from "../src/config.ts";
import { recalled } from "../src/eval/recall.ts";
import { cloneModel } from "../src/model/init.ts";
import type { LearnOptions } from "../src/model/lm.ts";
import { baseVocab } from "../src/model/model.ts";
import { withWordSlots } from "../src/model/new-words.ts";
import { DELTA_BITS, emptyLayer, personalBase } from "../src/model/personal.ts";
import { asTextModel, learnPersonalWords, personalText } from "../src/model/personal-text.ts";
import { learnWords, predictWords, type TextModel, textModel } from "../src/model/text-model.ts";
import { tokenize } from "../src/model/tokenizer.ts";
import { vocabHash } from "../src/model/vocab.ts";
import { WORD_SLOTS } from "../src/model/word-slots.ts";
import { DEFAULT_MODEL_ID, firstVersionFields, publishVersion } from "../src/store/kv-layout.ts";
import { decodeUserData, encodeUserData } from "../src/store/layer-codec.ts";
import { LearnPolicy } from "../src/trust/shared-learn.ts";
import { flags } from "./lib/args.ts";
import { childPid, hasSchedstat, processCpuNs } from "./lib/cpu-time.ts";
import { hamEmails } from "./lib/email-data.ts";
import { readModelDir } from "./lib/model-dir.ts";
import { quantile } from "../bench/stats.ts";

const arg = flags({ model: "models/base", users: "1000", "min-sentences": "40" }, [
  "json",
  "skip-quality",
  "skip-numerics",
  "skip-workerd",
]);
const log = (s: string) => process.stderr.write(`${s}\n`);
const round = (x: number, digits: number) => Number(x.toFixed(digits));
const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

const { model: shared, vocab } = readModelDir(arg.str("model"));
const words = (s: string) => tokenize(s, LIMITS.maxSentenceTokens);
const { newWordRate, remember, ...guards } = UPDATE_GUARDS;
/** What /learn applies without options (as adapt-bench). */
const sharedOptions: LearnOptions = {
  lr: LEARN_BOUNDS.lr.default,
  truncate: LEARN_BOUNDS.truncate.default,
  steps: LEARN_BOUNDS.steps.default,
  ...guards,
  newWordRate,
  remember,
};

// ---------------------------------------------------------------- the senders

/** A header's value in a raw message's header block (before the first blank line). */
function header(text: string, name: string): string | undefined {
  const head = text.split(/\r?\n\r?\n/, 1)[0];
  const m = new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(head);
  return m?.[1].trim();
}

/** The sender's address, lowercased: the <...> part of From:, or its bare address. */
function senderOf(text: string): string | undefined {
  const from = header(text, "From");
  const m = from && (/<([^>\s]+@[^>\s]+)>/.exec(from) ?? /([^\s<>()"]+@[^\s<>()"]+)/.exec(from));
  return m ? m[1].toLowerCase() : undefined;
}

interface Sender {
  address: string;
  sentences: string[][];
}

function senders(minSentences: number): Sender[] {
  const byAddress = new Map<string, { date: number; id: string; sentences: string[] }[]>();
  for (const e of hamEmails()) {
    const address = senderOf(e.text);
    const date = Date.parse(header(e.text, "Date") ?? "");
    if (!address || Number.isNaN(date)) continue;
    const list = byAddress.get(address) ?? [];
    list.push({ date, id: e.id, sentences: emailSentences(e.text, LIMITS.maxSentenceTokens) });
    byAddress.set(address, list);
  }
  const out: Sender[] = [];
  for (const [address, messages] of byAddress) {
    messages.sort((a, b) => a.date - b.date || (a.id < b.id ? -1 : 1));
    const sentences = messages.flatMap((m) => m.sentences).map(words);
    if (sentences.length >= minSentences) out.push({ address, sentences });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : 1));
}

// ---------------------------------------------------------------- 1. quality

/** Top-3 share of a user's word positions, each sentence scored before it is learned. */
function scoreThenLearn(
  start: () => { tm: () => TextModel; learn: (tokens: string[]) => void },
  sentences: string[][],
): number {
  const u = start();
  let hits = 0;
  let scored = 0;
  for (const tokens of sentences) {
    const [h, n] = recalled(u.tm(), tokens, { from: 1, k: 3 });
    hits += h;
    scored += n;
    u.learn(tokens);
  }
  return scored > 0 ? hits / scored : 0;
}

function quality() {
  const users = senders(arg.num("min-sentences"));
  log(
    `quality: ${users.length} senders with >= ${arg.num("min-sentences")} sentences (${users.reduce((n, u) => n + u.sentences.length, 0)} sentences)`,
  );
  const slotted = withWordSlots(shared, WORD_SLOTS);
  const frozen = textModel(slotted, vocab, LIMITS.maxSentenceTokens);
  const pbase = personalBase(shared, WORD_SLOTS);
  const rows: { sender: string; sentences: number; shared: number; personal: number; copy: number }[] = [];
  for (const user of users) {
    const sharedTop3 = scoreThenLearn(() => ({ tm: () => frozen, learn: () => undefined }), user.sentences);
    const personalTop3 = scoreThenLearn(() => {
      const pt = personalText(pbase, vocab, emptyLayer(baseVocab(shared), WORD_SLOTS), LIMITS.maxSentenceTokens);
      return { tm: () => asTextModel(pt), learn: (tokens) => void learnPersonalWords(pt, tokens, PERSONAL_LEARN) };
    }, user.sentences);
    const copyTop3 = scoreThenLearn(() => {
      let tm = textModel(withWordSlots(cloneModel(shared), WORD_SLOTS), vocab, LIMITS.maxSentenceTokens);
      const policy = new LearnPolicy({ damping: true });
      return {
        tm: () => tm,
        learn: (tokens) => {
          const { lr, truncate, steps, ...rest } = sharedOptions;
          // The user's own copy: anonymous learns, each its own teacher (word-slots.ts), as before subjects.
          const applied = policy.options(tokens, { lr, truncate, steps }, undefined, rest);
          const r = learnWords(tm, tokens, applied);
          tm = r.tm;
          if (r.outcome.applied === steps) policy.applied(tokens, applied);
        },
      };
    }, user.sentences);
    rows.push({
      sender: user.address,
      sentences: user.sentences.length,
      shared: round(sharedTop3, 5),
      personal: round(personalTop3, 5),
      copy: round(copyTop3, 5),
    });
    log(
      `  ${user.address}: ${user.sentences.length} sentences, top-3 shared ${(100 * sharedTop3).toFixed(2)}% personal ${(100 * personalTop3).toFixed(2)}% copy ${(100 * copyTop3).toFixed(2)}%`,
    );
  }
  const mean = (f: (r: (typeof rows)[number]) => number) =>
    round(rows.reduce((s, r) => s + f(r), 0) / Math.max(1, rows.length), 5);
  const m = { shared: mean((r) => r.shared), personal: mean((r) => r.personal), copy: mean((r) => r.copy) };
  const gain = (x: number) => round(100 * (x - m.shared), 3);
  return {
    users: rows.length,
    mean_top3: m,
    gain_points: { personal: gain(m.personal), copy: gain(m.copy) },
    personal_share_of_copy_gain: m.copy > m.shared ? round((m.personal - m.shared) / (m.copy - m.shared), 4) : null,
    per_user: rows,
  };
}

// ---------------------------------------------------------------- 2. numerics

/** Median CPU ms (this process) of fn over `runs` runs, after `warm` unmeasured ones. */
function cpuMs(fn: () => void, runs = 30, warm = 10): number {
  for (let i = 0; i < warm; i++) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t0);
    times.push((d.user + d.system) / 1000);
  }
  return round(median(times), 4);
}

function stream(): string[][] {
  const out: string[][] = [];
  for (const u of senders(1)) for (const s of u.sentences) if (s.length >= 15 && s.length <= 25) out.push(s);
  return out;
}

function numerics(sentences: string[][]) {
  const pbase = personalBase(shared, WORD_SLOTS);
  const pt = personalText(pbase, vocab, emptyLayer(baseVocab(shared), WORD_SLOTS), LIMITS.maxSentenceTokens);
  for (let i = 0; i < 500; i++) learnPersonalWords(pt, sentences[i % sentences.length], PERSONAL_LEARN);
  const record = {
    vocabHash: vocabHash(vocab),
    layer: pt.layer,
    forgotten: [],
    learns: 500,
    tokens: 0,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
  const file = encodeUserData(new Map([["default", record]]));
  const shape = { base: baseVocab(shared), vocabHash: vocabHash(vocab) };
  const load = cpuMs(() => {
    const r = decodeUserData(file, () => shape).get("default")!;
    personalText(pbase, vocab, r.layer, LIMITS.maxSentenceTokens);
  });
  // 20-token sentences (exactly), learned into the layer and into a copy of the shared model.
  const twenty = sentences.filter((s) => s.length === 20);
  let i = 0;
  const personalLearn = cpuMs(() => void learnPersonalWords(pt, twenty[i++ % twenty.length], PERSONAL_LEARN), 60, 20);
  let tm = textModel(withWordSlots(cloneModel(shared), WORD_SLOTS), vocab, LIMITS.maxSentenceTokens);
  const sharedLearn = cpuMs(() => void (tm = learnWords(tm, twenty[i++ % twenty.length], sharedOptions).tm), 60, 20);
  const prefixes = sentences.slice(0, 64).map((s) => s.slice(0, 10));
  const frozen = textModel(shared, vocab, LIMITS.maxSentenceTokens);
  const personalPredict = cpuMs(
    () => void predictWords(asTextModel(pt), prefixes[i++ % prefixes.length], LIMITS.defaultK, LIMITS.prefixWindow),
    200,
    50,
  );
  const sharedPredict = cpuMs(
    () => void predictWords(frozen, prefixes[i++ % prefixes.length], LIMITS.defaultK, LIMITS.prefixWindow),
    200,
    50,
  );
  return {
    layer_file_bytes_after_500_learns: file.byteLength,
    load_ms: load,
    learn20_ms: { personal: personalLearn, shared: sharedLearn },
    predict10_ms: {
      personal: personalPredict,
      shared: sharedPredict,
      ratio: round(personalPredict / sharedPredict, 3),
    },
  };
}

// ---------------------------------------------------------------- 3. workerd

async function workerd(sentences: string[][], users: number) {
  const script = (
    await build({
      entryPoints: ["src/index.ts"],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      write: false,
      conditions: ["workerd"],
      external: ["./kernels.wasm", "cloudflare:workers"],
    })
  ).outputFiles[0].text;
  const text = (value: string) => ({ type: "text" as const, value });
  // The service as wrangler.toml declares it: KV, the two SQLite Durable Object classes, a token.
  const mf = new Miniflare({
    workers: [
      {
        config: {
          name: "users",
          compatibilityDate: "2026-11-01",
          compatibilityFlags: ["nodejs_compat"],
          manifest: {
            mainModule: "worker.js",
            modules: {
              "worker.js": { type: "esm" as const, contents: script },
              "kernels.wasm": { type: "wasm" as const, contents: readFileSync("src/kernels/kernels.wasm") },
            },
          },
          exports: {
            ModelWriter: { type: "durable-object" as const, storage: "sqlite" as const },
            UserStore: { type: "durable-object" as const, storage: "sqlite" as const },
          },
          env: {
            MODELS: { type: "kv" as const, id: "users-bench-models" },
            WRITER: { type: "durable-object" as const, worker: "users", exportName: "ModelWriter" },
            USERS: { type: "durable-object" as const, worker: "users", exportName: "UserStore" },
            LEARN_TOKEN: text("bench"),
            PUBLISH_INTERVAL_MS: text("10000"),
            KEEP_VERSIONS: text("10"),
            LEARN_CPU_MS: text("10"),
          },
        },
      },
    ],
  });
  try {
    const kv = (await mf.getKVNamespace("MODELS", "users")) as unknown as KVNamespace;
    const bytes = readFileSync(`${arg.str("model")}/weights.safetensors`);
    const now = new Date().toISOString();
    await publishVersion(kv, DEFAULT_MODEL_ID, bytes, firstVersionFields(vocabHash(vocab), now), { vocab });
    const pid = childPid("workerd");
    const cpu = () => (hasSchedstat() ? processCpuNs(pid) : performance.now() * 1e6);
    const auth = { authorization: "Bearer bench" };
    const call = async (path: string, init: RequestInit = {}) => {
      const w = await mf.getWorker("users");
      const r = await w.fetch(`http://bench${path}`, {
        method: init.method,
        body: init.body as string | undefined,
        headers: { ...auth, ...(init.headers as Record<string, string>) },
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${path}: ${r.status} ${text}`);
      return text;
    };
    const learn = (user: string | null, tokens: string[]) =>
      call("/learn", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sentence: tokens.join(" "), ...(user && { user }) }),
      });
    const predict = (user: string | null, tokens: string[]) =>
      call(`/predict?k=3&prefix=${encodeURIComponent(tokens.join(" "))}${user ? `&user=${user}` : ""}`);
    await predict(null, ["the"]); // the shared model's first load

    // Learns per user: 1% heavy users with 500, the rest 1 to 40 (a long tail), 13 on average.
    const learnsOf = (u: number) => (u % 100 === 0 ? 500 : 1 + Math.floor(40 * ((u * 0.61803) % 1) ** 2));
    const perLearn: number[] = [];
    const perPredict: number[] = [];
    let s = 0;
    const started = Date.now();
    for (let u = 0; u < users; u++) {
      const id = `u${u}`;
      for (let j = 0; j < learnsOf(u); j++) {
        const c0 = cpu();
        await learn(id, sentences[s++ % sentences.length]);
        perLearn.push((cpu() - c0) / 1e6);
      }
      for (let j = 0; j < 3; j++) {
        const c0 = cpu();
        await predict(id, sentences[(s + j * 7) % sentences.length].slice(0, 10));
        perPredict.push((cpu() - c0) / 1e6);
      }
      if (u % 100 === 99)
        log(`  workerd: ${u + 1} users, ${perLearn.length} learns, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    // The same requests without user: the shared model (published) and its writer.
    const sharedPredict: number[] = [];
    const sharedLearn: number[] = [];
    for (let j = 0; j < 600; j++) {
      const c0 = cpu();
      await predict(null, sentences[(j * 7) % sentences.length].slice(0, 10));
      sharedPredict.push((cpu() - c0) / 1e6);
    }
    for (let j = 0; j < 300; j++) {
      const c0 = cpu();
      await learn(null, sentences[j % sentences.length]);
      sharedLearn.push((cpu() - c0) / 1e6);
    }
    const info: { bytes: number; storageBytes: number; learns: number }[] = [];
    for (let u = 0; u < users; u++) info.push(JSON.parse(await call(`/users/u${u}`)));
    const dist = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return {
        p50: round(quantile(sorted, 0.5), 3),
        p90: round(quantile(sorted, 0.9), 3),
        p99: round(quantile(sorted, 0.99), 3),
        max: round(sorted.at(-1) ?? 0, 3),
      };
    };
    const heavy = info.filter((x) => x.learns === 500);
    return {
      users,
      learns: perLearn.length,
      bytes_per_user: dist(info.map((x) => x.bytes)),
      storage_bytes_per_user: dist(info.map((x) => x.storageBytes)),
      after_500_learns: {
        users: heavy.length,
        bytes: dist(heavy.map((x) => x.bytes)),
        storage_bytes: dist(heavy.map((x) => x.storageBytes)),
      },
      kv_bytes_per_user: 0,
      cpu_ms_per_request: {
        personal_learn: dist(perLearn),
        shared_learn: dist(sharedLearn),
        personal_predict: dist(perPredict),
        shared_predict: dist(sharedPredict),
      },
    };
  } finally {
    await mf.dispose();
  }
}

// ---------------------------------------------------------------- run

// workerd's output comes through this process's stdout: the Worker's request log (a JSON line a
// request, tens of thousands here) is dropped, so that stdout holds the figures.
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
  const text = typeof chunk === "string" ? chunk : new TextDecoder().decode(chunk);
  const kept = text
    .split("\n")
    .filter((line) => !line.startsWith('{"event":"request"'))
    .join("\n");
  return kept.trim() === "" ? true : write(kept, ...rest);
}) as typeof process.stdout.write;

const result: Record<string, unknown> = {
  model: arg.str("model"),
  delta_bits: DELTA_BITS,
  personal_learn: PERSONAL_LEARN,
};
if (!arg.bool("skip-quality")) result.quality = quality();
const sentences = stream();
if (!arg.bool("skip-numerics")) {
  result.numerics = numerics(sentences);
  log(`numerics: ${JSON.stringify(result.numerics)}`);
}
if (!arg.bool("skip-workerd")) result.workerd = await workerd(sentences, arg.num("users"));
if (arg.bool("json")) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else console.log(JSON.stringify(result, null, 2));
