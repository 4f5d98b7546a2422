/**
 * The performance benchmark (docs/benchmarks.md), inside workerd through Miniflare:
 *
 *   npm run bench                    readable table on stderr
 *   npm run bench -- --json          and the issue's JSON summary on stdout
 *   npm run bench -- --calibrate     also fit src/budget/calibration.json (the CPU cost model)
 *   npm run bench -- --skip-node     without the Node comparison run
 *   npm run bench -- --model models/base --loads 5
 *
 * The model is models/base (weights.safetensors + vocab.json); without it, a random model of the
 * shipped shape (Brown vocabulary of 10k words, hidden 100, 100 sqrt-frequency classes, F16).
 * Sentences and prefixes are windows of the Brown test split.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { fitCalibration } from "../bench/fit.ts";
import type { Timing } from "../bench/stats.ts";
import { bufferBytes, type CalibrationPoint, type CalibrationSample, runSuite, type SuiteInput, type SuiteResult } from "../bench/suite.ts";
import type { CalibrateInput, LoadReport } from "../bench/worker.ts";
import { LEARN_BOUNDS, LIMITS, UPDATE_GUARDS } from "../src/config.ts";
import { initModel } from "../src/model/init.ts";
import { assignClasses } from "../src/model/output/class-softmax.ts";
import { seededRng } from "../src/model/rng.ts";
import { textModel } from "../src/model/text-model.ts";
import { sqrtCounts } from "../src/model/train.ts";
import { buildVocab, countWords, encode, type Vocab, vocabFromJson, vocabHash } from "../src/model/vocab.ts";
import { DEFAULT_MODEL_ID, publishVersion } from "../src/store/kv-layout.ts";
import { decodeModel, encodeModel } from "../src/store/model-codec.ts";
import { flags } from "./lib/args.ts";
import { brownSplit } from "./lib/brown-data.ts";

const arg = flags({ model: "models/base", loads: "5", samples: "15" }, ["json", "calibrate", "skip-node"]);
const log = (s: string) => process.stderr.write(s + "\n");

// ---------------------------------------------------------------- inputs
const split = brownSplit();
const dir = arg.str("model");
const shipped = existsSync(join(dir, "weights.safetensors"));
let vocab: Vocab;
let bytes: Uint8Array;
if (shipped) {
  vocab = vocabFromJson(JSON.parse(readFileSync(join(dir, "vocab.json"), "utf8")));
  bytes = readFileSync(join(dir, "weights.safetensors"));
} else {
  const built = buildVocab(countWords(split.train), { maxSize: 10_000 });
  vocab = built.vocab;
  const classStart = assignClasses(sqrtCounts(built.counts), 100);
  const model = initModel({ vocab: vocab.words.length, hidden: 100, classStart }, seededRng(1));
  const now = new Date().toISOString();
  const meta = { version: 1, vocabHash: vocabHash(vocab), createdAt: now, updatedAt: now, tokensLearned: 0, learns: 0, hyperparameters: {} };
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

const samples = arg.num("samples");
const learn = {
  lr: LEARN_BOUNDS.lr.default,
  truncate: LEARN_BOUNDS.truncate.default,
  steps: LEARN_BOUNDS.steps.default,
  ...UPDATE_GUARDS,
};
const input: SuiteInput = {
  sentences: byLength([10, 20, 40], (w) => [0, ...w, 1]),
  prefixes: byLength([1, 10, 50], (w) => [0, ...w]),
  learn,
  k: LIMITS.defaultK,
  timing: { minBatchMs: 25, samples, warmup: 20 },
  baselineTiming: { minBatchMs: 25, samples: Math.max(5, Math.round(samples / 2)), warmup: 2 },
  baselineLearn: "20",
  baselinePredict: "10",
};

// ---------------------------------------------------------------- workerd
log(`model: ${shipped ? dir : "random stand-in"} ${JSON.stringify(modelInfo)}, ${(bytes.byteLength / 1e6).toFixed(2)} MB file`);
const bundle = await build({
  entryPoints: ["bench/worker.ts"],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  write: false,
});
const script = bundle.outputFiles[0].text;
const loads = arg.num("loads");
const worker = (name: string) => ({
  config: {
    name,
    compatibilityDate: "2026-11-01",
    manifest: { mainModule: "worker.js", modules: { "worker.js": { type: "esm" as const, contents: script } } },
    env: { MODELS: { type: "kv" as const, id: "bench-models" } },
  },
});
// Every load worker is its own isolate: each times one cold load.
const loadNames = Array.from({ length: loads }, (_, i) => `load${i}`);
const mf = new Miniflare({ workers: [worker("bench"), ...loadNames.map(worker)] });

let workerd: SuiteResult;
let loadReports: LoadReport[];
let calibration: CalibrationSample[] | undefined;
try {
  const kv = await mf.getKVNamespace("MODELS", "bench");
  const now = new Date().toISOString();
  await publishVersion(kv as unknown as KVNamespace, DEFAULT_MODEL_ID, bytes, {
    version: 1,
    vocabHash: vocabHash(vocab),
    createdAt: now,
    updatedAt: now,
    tokensLearned: 0,
    learns: 0,
  }, { vocab });
  const call = async <T>(name: string, path: string, body?: unknown): Promise<T> => {
    const w = await mf.getWorker(name);
    const res = await w.fetch(`http://bench${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${name}${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  loadReports = [];
  for (const name of loadNames) loadReports.push(await call<LoadReport>(name, "/load"));
  log("workerd: running the suite...");
  workerd = await call<SuiteResult>("bench", "/run", input);
  if (arg.bool("calibrate")) {
    log("workerd: calibrating the cost model...");
    const grid: CalibrationPoint[] = [];
    for (const tokens of [5, 10, 20, 40, 64]) for (const truncate of [0, 4, 16]) for (const steps of [1, 3]) grid.push({ tokens, truncate, steps });
    const c: CalibrateInput = { stream, grid, learn, timing: { minBatchMs: 25, samples: 7, warmup: 3 } };
    calibration = await call<CalibrationSample[]>("bench", "/calibrate", c);
  }
} finally {
  await mf.dispose();
}

// ---------------------------------------------------------------- Node, for comparison
let node: SuiteResult | undefined;
if (!arg.bool("skip-node")) {
  log("node: running the suite...");
  const { model } = decodeModel(bytes.slice());
  const tm = textModel(model, vocab, LIMITS.maxSentenceTokens);
  node = runSuite(tm.model, tm.ws, input, () => performance.now());
  log(`node: ${bufferBytes(tm.model, tm.ws)} bytes of buffers`);
}

// ---------------------------------------------------------------- report
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r3 = (x: number) => Math.round(x * 1000) / 1000;
const ms = (t: Record<string, Timing>) => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, r3(v.median)]));
const learn20 = workerd.learn["20"].median;
const predict10 = workerd.predict["10"].median;
const summary = {
  model: modelInfo,
  learn_ms: ms(workerd.learn),
  predict_ms: ms(workerd.predict),
  load_ms: r3(median(loadReports.map((r) => r.loadMs + r.workspaceMs))),
  isolate_mb: r3(loadReports[0].bytes / 2 ** 20),
  baseline: { learn_ms: ms(workerd.baseline.learn), predict_ms: ms(workerd.baseline.predict) },
  speedup: {
    learn_20: r3(workerd.baseline.learn["20"].median / learn20),
    predict_10: r3(workerd.baseline.predict["10"].median / predict10),
  },
  gflops: { learn_20: r3((2 * workerd.learnMacs["20"]) / (learn20 * 1e6)) },
};

const row = (label: string, t: Timing | undefined, n?: Timing) =>
  t ? `${label.padEnd(22)} ${t.median.toFixed(3).padStart(9)} ${t.p95.toFixed(3).padStart(9)}   x${String(t.batch).padEnd(5)}` +
    (n ? ` ${n.median.toFixed(3).padStart(9)} ${n.p95.toFixed(3).padStart(9)}` : "") : "";
log(`\n${"ms".padEnd(22)} ${"median".padStart(9)} ${"p95".padStart(9)}   batch ${node ? "node med   node p95" : ""}`);
for (const n of Object.keys(workerd.learn)) log(row(`learn ${n} tokens`, workerd.learn[n], node?.learn[n]));
for (const n of Object.keys(workerd.predict)) log(row(`predict ${n} tokens`, workerd.predict[n], node?.predict[n]));
log(row("baseline learn 20", workerd.baseline.learn["20"], node?.baseline.learn["20"]));
log(row("baseline predict 10", workerd.baseline.predict["10"], node?.baseline.predict["10"]));
log(`cold loads (ms, KV + decode / workspace): ${loadReports.map((r) => `${r.loadMs}/${r.workspaceMs}`).join(", ")}`);
log(`buffers: ${(loadReports[0].bytes / 2 ** 20).toFixed(2)} MiB, of which weights ${(loadReports[0].weightBytes / 2 ** 20).toFixed(2)} MiB`);

if (calibration) {
  const { output, ...dims } = modelInfo;
  const classes = probe.output.kind === "class" ? probe.output.classes : 0;
  const cal = fitCalibration(calibration, { hidden: dims.hidden, vocab: dims.vocab, classes }, `workerd via miniflare, ${new Date().toISOString().slice(0, 10)}, ${output} V=${dims.vocab} H=${dims.hidden}`);
  writeFileSync("src/budget/calibration.json", JSON.stringify(cal, null, 2) + "\n");
  log(`calibration: ${JSON.stringify(cal)} (from ${calibration.length} grid points) -> src/budget/calibration.json`);
}
if (arg.bool("json")) process.stdout.write(JSON.stringify(summary) + "\n");
