/**
 * The performance benchmark (docs/benchmarks.md), inside workerd through Miniflare:
 *
 *   npm run bench                    readable table on stderr
 *   npm run bench -- --json          and the issue's JSON summary on stdout
 *   npm run bench -- --calibrate     also fit src/budget/calibration.json (the CPU cost model)
 *   npm run bench -- --skip-node     without the Node comparison run
 *   npm run bench -- --model models/base --loads 5
 *   npm run bench -- --json --compare HEAD~1   also the same operations and cold starts on another
 *                                              commit's src/, in the same run and turns
 *
 * The model is models/base (weights.safetensors + vocab.json); without it, a random model of the
 * shipped shape (Brown vocabulary of 10k words, hidden 100, 100 sqrt-frequency classes, F16).
 * Sentences and prefixes are windows of the Brown test split.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { fitCalibration } from "../bench/fit.ts";
import { type Measured, measureAll, quantile, type Runner, type TimingOptions } from "../bench/stats.ts";
import {
  type CalibrationPoint,
  calibrationSentences,
  meanLearnMacs,
  type SuiteInput,
  suiteOps,
} from "../bench/suite.ts";
import type { ColdPhase, FirstCall, LoadReport, OpRequest, SetupInput } from "../bench/worker.ts";
import { estimateLearnMs, learnShape } from "../src/budget/cost-model.ts";
import { LEARN_BOUNDS, LIMITS, UPDATE_GUARDS } from "../src/config.ts";
import { isWord } from "../src/model/completion.ts";
import { initModel } from "../src/model/init.ts";
import { assignClasses } from "../src/model/output/class-softmax.ts";
import { seededRng } from "../src/model/rng.ts";
import { textModel } from "../src/model/text-model.ts";
import { sqrtCounts } from "../src/model/train.ts";
import {
  BOS,
  buildVocab,
  countWords,
  encode,
  isSuggestible,
  type Vocab,
  vocabHash,
  withMarkers,
} from "../src/model/vocab.ts";
import { DEFAULT_MODEL_ID, firstVersionFields, publishVersion } from "../src/store/kv-layout.ts";
import { decodeModel, encodeModel } from "../src/store/model-codec.ts";
import { readVocabFile, WEIGHTS_FILE } from "./lib/model-dir.ts";
import { flags } from "./lib/args.ts";
import { childPid, hasSchedstat, processCpuNs } from "./lib/cpu-time.ts";
import { brownSplit } from "./lib/brown-data.ts";

const arg = flags({ model: "models/base", loads: "5", samples: "15", compare: "" }, ["json", "calibrate", "skip-node"]);
const log = (s: string) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- inputs
const split = brownSplit();
const dir = arg.str("model");
const shipped = existsSync(join(dir, WEIGHTS_FILE));
let vocab: Vocab;
let bytes: Uint8Array;
if (shipped) {
  vocab = readVocabFile(dir);
  bytes = readFileSync(join(dir, WEIGHTS_FILE));
} else {
  const built = buildVocab(countWords(split.train), { maxSize: 10_000 });
  vocab = built.vocab;
  const classStart = assignClasses(sqrtCounts(built.counts), 100);
  const model = initModel({ vocab: vocab.words.length, hidden: 100, classStart }, seededRng(1));
  const meta = { ...firstVersionFields(vocabHash(vocab)), hyperparameters: {} };
  bytes = encodeModel(model, meta, { dtype: "F16" });
}
const { model: probe } = decodeModel(bytes.slice());
const modelInfo = { vocab: probe.vocab, hidden: probe.hidden, output: probe.output.kind };
const stream = Array.from(encode(split.test.flat(), vocab));

/** `count` windows of n tokens from the test stream, spread over it. */
function windows(n: number, count: number, wrap: (w: number[]) => number[]): number[][] {
  const stride = Math.floor((stream.length - n) / count);
  return Array.from({ length: count }, (_, i) => wrap(stream.slice(i * stride, i * stride + n)));
}
const byLength = (lengths: number[], wrap: (w: number[]) => number[]) =>
  Object.fromEntries(lengths.map((n) => [String(n), windows(n, 16, wrap)]));

/**
 * `count` prefixes of n tokens spread over the test stream, each followed by a word, with that
 * word's first 1 or 2 characters (alternately) as the partial.
 */
function completions(n: number, count: number): { ids: number[]; partial: string }[] {
  const stride = Math.floor((stream.length - n - 64) / count);
  return Array.from({ length: count }, (_, i) => {
    let at = i * stride;
    while (!(isSuggestible(stream[at + n]) && isWord(vocab.words[stream[at + n]]))) at++;
    return { ids: [BOS, ...stream.slice(at, at + n)], partial: vocab.words[stream[at + n]].slice(0, 1 + (i % 2)) };
  });
}

const samples = arg.num("samples");
const learn = {
  lr: LEARN_BOUNDS.lr.default,
  truncate: LEARN_BOUNDS.truncate.default,
  steps: LEARN_BOUNDS.steps.default,
  ...UPDATE_GUARDS,
};
const suite: SuiteInput = {
  sentences: byLength([10, 20, 40], (w) => Array.from(withMarkers(w))),
  prefixes: byLength([1, 10, 50], (w) => [BOS, ...w]),
  completions: { "10": completions(10, 16) },
  learn,
  k: LIMITS.defaultK,
  baselineLearn: "20",
  baselinePredict: "10",
};
const grid: CalibrationPoint[] = [];
for (const tokens of [5, 10, 20, 40, 64])
  for (const truncate of [0, 4, 16]) for (const steps of [1, 5]) grid.push({ tokens, truncate, steps });
const setup: SetupInput = { suite, calibration: arg.bool("calibrate") ? { stream, grid } : undefined };

const timing: TimingOptions = { minBatchMs: 30, samples, warmup: 20 };
const timingFor = (name: string): TimingOptions =>
  name.startsWith("baseline")
    ? { minBatchMs: 30, samples: Math.max(7, Math.round(samples / 2)), warmup: 2 }
    : name.startsWith("cal/")
      ? { minBatchMs: 25, samples: 9, warmup: 3 }
      : timing;

if (!hasSchedstat()) log("warning: no /proc schedstat here; CPU times are wall times");
const cpuNs = (pid: number | "self") => (hasSchedstat() ? processCpuNs(pid) : performance.now() * 1e6);

// ---------------------------------------------------------------- workerd
log(
  `model: ${shipped ? dir : "random stand-in"} ${JSON.stringify(modelInfo)}, ${(bytes.byteLength / 1e6).toFixed(2)} MB file`,
);
/** The bench worker's bundle, with or without warming the numerics up at startup. */
const bundle = async (warm: boolean, root = ".") =>
  (
    await build({
      entryPoints: [join(root, "bench/worker.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      write: false,
      define: { WARM_UP: String(warm) },
      // The kernels as workerd takes them: a compiled module beside the script (see worker() below).
      conditions: ["workerd"],
      external: ["./kernels.wasm"],
    })
  ).outputFiles[0].text;
const [cold, warmed] = [await bundle(false), await bundle(true)];
const kernelsWasm = readFileSync("src/kernels/kernels.wasm");

/**
 * --compare REF: REF's src/, bench/ and package.json (its kernels, if it has any) under
 * .bench-ref/, with this bench/worker.ts (which also times the cold phases) in place of REF's;
 * npm packages resolve to this checkout's.
 */
function refTree(ref: string): { sha: string; root: string } {
  const sha = execFileSync("git", ["rev-parse", "--short", ref]).toString().trim();
  const root = join(".bench-ref", sha);
  if (!existsSync(join(root, "src"))) {
    mkdirSync(root, { recursive: true });
    const tar = execFileSync("git", ["archive", sha, "src", "bench", "package.json"]);
    execFileSync("tar", ["-x", "-C", root], { input: tar });
  }
  cpSync("bench/worker.ts", join(root, "bench/worker.ts"));
  return { sha, root };
}
const ref = arg.str("compare") ? refTree(arg.str("compare")) : undefined;
const refWarmed = ref && (await bundle(true, ref.root));
const refWasm =
  ref && existsSync(join(ref.root, "src/kernels/kernels.wasm"))
    ? readFileSync(join(ref.root, "src/kernels/kernels.wasm"))
    : kernelsWasm;
const worker = (name: string, script: string, wasm = kernelsWasm) => ({
  config: {
    name,
    compatibilityDate: "2026-11-01",
    manifest: {
      mainModule: "worker.js",
      modules: {
        "worker.js": { type: "esm" as const, contents: script },
        "kernels.wasm": { type: "wasm" as const, contents: wasm },
      },
    },
    env: { MODELS: { type: "kv" as const, id: "bench-models" } },
  },
});
// Every load worker is its own isolate: each times one cold load and its first calls,
// half of them warmed up at startup (bench/worker.ts, warmUp in src/model/lm.ts), and every other
// one of those also rehearsed on the model after loading it (rehearse, as the writer does).
const loadNames = Array.from({ length: arg.num("loads") }, (_, i) => `load${i}`);
const warmNames = loadNames.map((n) => `warm-${n}`);
// A fresh isolate's first prediction taken apart (bench/worker.ts /cold), in isolates warmed up at
// startup as the service's (src/index.ts); with --compare, as many on REF.
const coldNames = loadNames.map((n) => `cold-${n}`);
const refColdNames = ref ? loadNames.map((n) => `ref-cold-${n}`) : [];
const mf = new Miniflare({
  workers: [
    worker("bench", cold),
    worker("warm-up-cost", cold),
    ...loadNames.map((n) => worker(n, cold)),
    ...warmNames.map((n) => worker(n, warmed)),
    ...coldNames.map((n) => worker(n, warmed)),
    ...(ref ? [worker("ref", refWarmed!, refWasm), ...refColdNames.map((n) => worker(n, refWarmed!, refWasm))] : []),
  ],
});

let workerd: Record<string, Measured>;
const loads: (LoadReport & { cpuMs: number })[] = [];
let learnBytes = 0;
/** CPU ms of a fresh isolate's first three predictions (10 tokens) and learns (20 tokens). */
const firsts: { warmed: boolean; rehearseMs?: number; predict: number[]; learn: number[] }[] = [];
/** CPU ms of warmUp() in an isolate that has run nothing yet. */
let warmUpCpuMs = 0;
/** CPU ms of each part of a fresh isolate's first prediction, by isolate; REF's under "ref". */
type ColdSplit = { kv: number; decode: number; buffers: number; predict: number };
const coldSplits: Record<"now" | "ref", ColdSplit[]> = { now: [], ref: [] };
try {
  const kv = await mf.getKVNamespace("MODELS", "bench");
  const fields = firstVersionFields(vocabHash(vocab));
  await publishVersion(kv as unknown as KVNamespace, DEFAULT_MODEL_ID, bytes, fields, { vocab });
  const pid = childPid("workerd");
  const call = async <T>(name: string, path: string, body?: unknown): Promise<T> => {
    const w = await mf.getWorker(name);
    const res = await w.fetch(
      `http://bench${path}`,
      body === undefined ? {} : { method: "POST", body: JSON.stringify(body) },
    );
    if (!res.ok) throw new Error(`${name}${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const cpuOf = async <T>(name: string, path: string, body?: unknown): Promise<[T, number]> => {
    const c0 = cpuNs(pid);
    const out = await call<T>(name, path, body);
    return [out, (cpuNs(pid) - c0) / 1e6];
  };
  for (const name of [...loadNames, ...warmNames]) {
    const [report, cpuMs] = await cpuOf<LoadReport>(name, "/load");
    if (loadNames.includes(name)) loads.push({ ...report, cpuMs });
    // Then the isolate's first calls, each its own request, less what a request costs alone.
    const [, overhead] = await cpuOf(name, "/first", { kind: "none" } satisfies FirstCall);
    const firstCpu = async (c: FirstCall) => Math.max(0, (await cpuOf(name, "/first", c))[1] - overhead);
    const rehearsed = warmNames.indexOf(name) % 2 === 1;
    const rehearseMs = rehearsed ? await firstCpu({ kind: "rehearse" }) : undefined;
    const predict: number[] = [];
    const learnMs: number[] = [];
    for (let i = 0; i < 3; i++) predict.push(await firstCpu({ kind: "predict", ids: suite.prefixes["10"][i] }));
    for (let i = 0; i < 3; i++) learnMs.push(await firstCpu({ kind: "learn", ids: suite.sentences["20"][i], learn }));
    firsts.push({ warmed: warmNames.includes(name), rehearseMs, predict, learn: learnMs });
  }
  for (const name of [...coldNames, ...refColdNames]) {
    const [, overhead] = await cpuOf(name, "/cold", { phase: "none" } satisfies ColdPhase);
    const split: ColdSplit = { kv: 0, decode: 0, buffers: 0, predict: 0 };
    for (const phase of ["kv", "decode", "buffers", "predict"] as const) {
      const body: ColdPhase = phase === "predict" ? { phase, ids: suite.prefixes["10"][0] } : { phase };
      split[phase] = Math.max(0, (await cpuOf(name, "/cold", body))[1] - overhead);
    }
    coldSplits[refColdNames.includes(name) ? "ref" : "now"].push(split);
  }
  {
    await call("warm-up-cost", "/load");
    const [, overhead] = await cpuOf("warm-up-cost", "/first", { kind: "none" } satisfies FirstCall);
    warmUpCpuMs = (await cpuOf("warm-up-cost", "/first", { kind: "warm-up" } satisfies FirstCall))[1] - overhead;
  }
  learnBytes = await call<number>("bench", "/bytes");
  const names = (await call<string[]>("bench", "/setup", setup)).filter((n) => n !== "noop");
  // REF times what both have, except the baseline (the same code in both) and the calibration.
  const refNames = ref
    ? (await call<string[]>("ref", "/setup", { suite })).filter(
        (n) => names.includes(n) && /^(learn|predict|gradient|sgd|loss)\//.test(n),
      )
    : [];
  const batch = async (name: string, reps: number) => {
    const c0 = cpuNs(pid);
    const [w, op] = name.startsWith("ref:") ? ["ref", name.slice(4)] : ["bench", name];
    const { wallMs } = await call<{ wallMs: number }>(w, "/op", { name: op, reps } satisfies OpRequest);
    return { cpuMs: (cpuNs(pid) - c0) / 1e6, wallMs };
  };
  // What a request costs by itself, taken off every batch.
  const noop: number[] = [];
  for (let i = 0; i < 15; i++) noop.push((await batch("noop", 1)).cpuMs);
  const overheadMs = quantile(noop, 0.5);
  log(`workerd: pid ${pid}, ${overheadMs.toFixed(3)} ms CPU per request; timing ${names.length} operations...`);
  const runner =
    (name: string): Runner =>
    async (reps) => {
      const t = await batch(name, reps);
      return { cpuMs: Math.max(0, t.cpuMs - overheadMs), wallMs: t.wallMs };
    };
  workerd = await measureAll(
    Object.fromEntries([...names, ...refNames.map((n) => `ref:${n}`)].map((n) => [n, runner(n)])),
    timingFor,
  );
} finally {
  await mf.dispose();
}

// ---------------------------------------------------------------- Node, for comparison
let node: Record<string, Measured> | undefined;
if (!arg.bool("skip-node")) {
  log("node: timing the suite...");
  const { model } = decodeModel(bytes.slice());
  const tm = textModel(model, vocab, LIMITS.maxSentenceTokens);
  const ops = suiteOps(tm.model, tm.ws, suite, tm.vocab.words);
  let calls = 0;
  const runner =
    (name: string): Runner =>
    async (reps) => {
      const c0 = cpuNs("self");
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) ops[name](calls++);
      return { cpuMs: (cpuNs("self") - c0) / 1e6, wallMs: performance.now() - t0 };
    };
  node = await measureAll(Object.fromEntries(Object.keys(ops).map((n) => [n, runner(n)])), timingFor);
}

// ---------------------------------------------------------------- report
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const cpu = (prefix: string) =>
  Object.fromEntries(
    Object.entries(workerd)
      .filter(([k]) => k.startsWith(`${prefix}/`))
      .map(([k, v]) => [k.slice(prefix.length + 1), r3(v.cpu.median)]),
  );
const learn20 = workerd["learn/20"].cpu.median;
const predict10 = workerd["predict/10"].cpu.median;
const loadMs = loads.map((l) => l.loadMs + l.workspaceMs);
/** Medians over fresh isolates: each part of the first prediction, and the isolate's own work (all but the KV transfer). */
const coldSummary = (splits: ColdSplit[]) => {
  const med = (f: (c: ColdSplit) => number) => r3(quantile(splits.map(f), 0.5));
  return {
    first_predict_ms: med((c) => c.decode + c.buffers + c.predict),
    split_ms: {
      kv: med((c) => c.kv),
      decode: med((c) => c.decode),
      buffers: med((c) => c.buffers),
      predict: med((c) => c.predict),
    },
  };
};
const refCpu = (prefix: string) =>
  Object.fromEntries(
    Object.entries(workerd)
      .filter(([k]) => k.startsWith(`ref:${prefix}/`))
      .map(([k, v]) => [k.slice(prefix.length + 5), r3(v.cpu.median)]),
  );
const gflops = (ms: number) => r3((2 * meanLearnMacs(probe, suite.sentences["20"], learn)) / (ms * 1e6));
const now = coldSummary(coldSplits.now);
const firstLearnMs = r3(
  quantile(
    firsts.filter((f) => f.warmed && f.rehearseMs !== undefined).map((f) => f.learn[0]),
    0.5,
  ),
);
const compare = ref && {
  ref: ref.sha,
  learn_ms: refCpu("learn"),
  predict_ms: refCpu("predict"),
  parts_ms: { gradient: refCpu("gradient"), sgd: refCpu("sgd"), loss: refCpu("loss") },
  cold: coldSummary(coldSplits.ref),
  gflops: { learn_20: gflops(workerd["ref:learn/20"].cpu.median) },
  /** REF's time over this commit's, same run (> 1: this commit is faster). */
  speedup: Object.fromEntries(
    Object.keys(workerd)
      .filter((k) => k.startsWith("ref:"))
      .map((k) => [k.slice(4), r3(workerd[k].cpu.median / workerd[k.slice(4)].cpu.median)]),
  ),
};
const isolateMb = r3(learnBytes / 2 ** 20);
/** The issue's targets (#16) against this run. */
const targets = {
  learn_20_ms: { target: 0.8, value: r3(learn20) },
  predict_10_ms: { target: 0.05, value: r3(predict10) },
  first_predict_ms: { target: 10, value: now.first_predict_ms },
  first_learn_ms: { target: 10, value: firstLearnMs },
  gflops_learn_20: { target: 8, value: gflops(learn20), atLeast: true },
  isolate_mb: { target: 24, value: isolateMb },
};
const summary = {
  model: modelInfo,
  targets: Object.fromEntries(
    Object.entries(targets).map(([k, t]) => [
      k,
      { ...t, met: "atLeast" in t ? t.value >= t.target : t.value <= t.target },
    ]),
  ),
  cold: { ...now, first_learn_ms: firstLearnMs },
  learn_ms: cpu("learn"),
  predict_ms: cpu("predict"),
  complete_ms: cpu("complete"),
  load_ms: r3(quantile(loadMs, 0.5)),
  isolate_mb: isolateMb,
  baseline: { learn_ms: cpu("baseline-learn"), predict_ms: cpu("baseline-predict") },
  speedup: {
    learn_20: r3(workerd["baseline-learn/20"].cpu.median / learn20),
    predict_10: r3(workerd["baseline-predict/10"].cpu.median / predict10),
  },
  gflops: { learn_20: gflops(learn20) },
  ...(compare && { compare }),
};

const f = (x: number | undefined, w = 9) => (x === undefined ? "" : x.toFixed(3)).padStart(w);
log(
  `\n${"ms per call".padEnd(24)}${"cpu med".padStart(9)}${"cpu p95".padStart(9)}${"wall med".padStart(9)}  batch${node ? "  node cpu med" : ""}`,
);
for (const [name, m] of Object.entries(workerd)) {
  if (name.startsWith("cal/")) continue;
  log(
    `${name.padEnd(24)}${f(m.cpu.median)}${f(m.cpu.p95)}${f(m.wall.median)}  x${String(m.batch).padEnd(5)}${f(node?.[name]?.cpu.median, 13)}`,
  );
}
log(
  `cold loads, ms (KV + decode + workspace, wall / workerd CPU): ${loads.map((l) => `${l.loadMs + l.workspaceMs}/${l.cpuMs.toFixed(0)}`).join(", ")}`,
);
const list = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
const after = (f: (typeof firsts)[number]) =>
  f.rehearseMs === undefined
    ? f.warmed
      ? " after warmUp()"
      : ""
    : ` after warmUp() and rehearse() (${f.rehearseMs.toFixed(1)} ms)`;
for (const f of firsts)
  log(
    `a fresh isolate's first calls${after(f)}, CPU ms: predict 10 [${list(f.predict)}], then learn 20 [${list(f.learn)}]`,
  );
const firstLearn = (rehearsed: boolean) =>
  quantile(
    firsts.filter((f) => f.warmed && (f.rehearseMs !== undefined) === rehearsed).map((f) => f.learn[0]),
    0.5,
  );
log(
  `median first learn after warmUp(): ${firstLearn(false).toFixed(1)} ms CPU; after warmUp() and rehearse(): ${firstLearn(true).toFixed(1)} ms`,
);
log(`warmUp() itself in a fresh isolate: ${warmUpCpuMs.toFixed(1)} ms CPU`);
const splitLine = (c: ColdSplit) =>
  `kv ${c.kv.toFixed(1)} decode ${c.decode.toFixed(1)} buffers ${c.buffers.toFixed(1)} predict ${c.predict.toFixed(1)}`;
for (const c of coldSplits.now) log(`a fresh isolate's first prediction, CPU ms: ${splitLine(c)}`);
for (const c of coldSplits.ref) log(`... on ${ref!.sha}: ${splitLine(c)}`);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
log(
  `buffers: ${mib(learnBytes)} after a learn, ${mib(loads[0].bytes)} to predict; the model's tensors ${mib(loads[0].weightBytes)}`,
);

if (setup.calibration) {
  const classes = probe.output.kind === "class" ? probe.output.classes : 0;
  const points = grid.map((p, i) => {
    const m = workerd[`cal/${i}`].cpu;
    let rows = 0;
    const sentences = calibrationSentences(stream, p.tokens);
    for (const ids of sentences) rows += learnShape(probe, ids).rowsPerToken;
    return { ...p, rowsPerToken: rows / sentences.length, median: m.median, p95: m.p95 };
  });
  const where = `workerd CPU time, ${new Date().toISOString().slice(0, 10)}, ${modelInfo.output} V=${modelInfo.vocab} H=${modelInfo.hidden}`;
  const shape = { hidden: modelInfo.hidden, vocab: modelInfo.vocab, classes, directOrder: probe.direct?.order ?? 0 };
  const cal = fitCalibration(points, shape, where);
  writeFileSync(
    "src/budget/calibration.json",
    `${JSON.stringify(cal, (_, v) => (typeof v === "number" ? Number(v.toPrecision(4)) : v), 2)}\n`,
  );
  log(`calibration from ${points.length} grid points -> src/budget/calibration.json: ${JSON.stringify(cal)}`);
  log("  tokens truncate steps   p95 ms  estimate");
  for (const p of points) {
    const est = estimateLearnMs(p.tokens, p, { ...shape, rowsPerToken: p.rowsPerToken }, cal);
    log(
      `  ${String(p.tokens).padStart(6)} ${String(p.truncate).padStart(8)} ${String(p.steps).padStart(5)} ${f(p.p95)} ${f(est)}`,
    );
  }
}
if (arg.bool("json")) process.stdout.write(`${JSON.stringify(summary)}\n`);
