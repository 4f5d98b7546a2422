/**
 * The benchmark's Worker, run inside workerd by scripts/bench.ts through
 * Miniflare. It loads the model exactly as the service does (KV manifest,
 * weights and vocabulary through a ModelCache, then the text model's work
 * buffers) and answers:
 *   GET  /load   one cold load, timed (call it once, in a fresh isolate)
 *   POST /first  FirstCall: one prediction, learn or warm-up, as the isolate's first ones
 *   GET  /bytes  buffer bytes after a learn (which adds the gradient accumulators)
 *   POST /setup  SetupInput: builds the operations to time (bench/suite.ts)
 *   POST /op     OpRequest: runs one operation `reps` times; answers its wall ms
 *   POST /cold   ColdPhase: one part of a fresh isolate's first prediction, each its own request
 *                (KV transfer, decode, work buffers, the first prediction), so the caller can
 *                read the CPU of each
 * The caller reads workerd's CPU time around /op.
 */
import { LIMITS } from "../src/config.ts";
import { type LearnOptions, learnSentence, predictNext, rehearse, warmUp } from "../src/model/lm.ts";
import { type TextModel, textModel } from "../src/model/text-model.ts";
import { BOS, EOS, isSuggestible, UNK } from "../src/model/vocab.ts";
import { readManifest, readVocab, readWeights } from "../src/store/kv-layout.ts";
import { ModelCache } from "../src/store/model-cache.ts";
import { decodeModel } from "../src/store/model-codec.ts";
import type { Vocab } from "../src/model/vocab.ts";
import type { RnnLm } from "../src/model/model.ts";
import { bufferBytes, type CalibrationPoint, calibrationOps, type Op, type SuiteInput, suiteOps } from "./suite.ts";

interface BenchEnv {
  MODELS: KVNamespace;
}

export interface LoadReport {
  /** Manifest, weights and vocabulary read from KV, weights decoded and validated, ms. */
  loadMs: number;
  /** The work buffers (Workspace) built, ms. */
  workspaceMs: number;
  /** Bytes of weights and work buffers (distinct ArrayBuffers) after loading: what predicting needs. */
  bytes: number;
  /** Of which the model's tensors. */
  weightBytes: number;
}

export interface SetupInput {
  suite: SuiteInput;
  /** The cost model's calibration grid over windows of `stream`. */
  calibration?: { stream: number[]; grid: CalibrationPoint[] };
}

/**
 * One call in a freshly loaded isolate (code not yet optimised by the JIT);
 * "none" measures the request alone, "warm-up" runs warmUp(), "rehearse" rehearse() on the model
 * (as the writer does when it loads one).
 */
export type FirstCall =
  | { kind: "predict"; ids: number[] }
  | { kind: "learn"; ids: number[]; learn: LearnOptions }
  | { kind: "warm-up" }
  | { kind: "rehearse" }
  | { kind: "none" };

/** The parts of a fresh isolate's first prediction, in order ("none": a request alone). */
export type ColdPhase =
  | { phase: "none" }
  | { phase: "kv" }
  | { phase: "decode" }
  | { phase: "buffers" }
  | { phase: "predict"; ids: number[] };

export interface OpRequest {
  name: string;
  reps: number;
}

/** Set by the bundler: whether this isolate warms the numerics up at startup, as the service may. */
declare const WARM_UP: boolean;
if (WARM_UP) warmUp();

const cache = new ModelCache();
let loaded: TextModel | undefined;
let ops: Record<string, Op> = {};
let calls = 0;

async function load(env: BenchEnv): Promise<LoadReport> {
  const t0 = performance.now();
  const result = await cache.load(env.MODELS, "default");
  if (result.status !== "ready") throw new Error("no model seeded under id 'default'");
  const t1 = performance.now();
  const tm = textModel(result.model, result.vocab, LIMITS.maxSentenceTokens);
  const t2 = performance.now();
  loaded = tm;
  return {
    loadMs: t1 - t0,
    workspaceMs: t2 - t1,
    bytes: bufferBytes(tm.model, tm.ws),
    weightBytes: bufferBytes(tm.model),
  };
}

/** What the cold phases so far have made (ModelCache's load, taken apart). */
const cold: { bytes?: ArrayBuffer; vocab?: Vocab; hash?: string; model?: RnnLm; tm?: TextModel } = {};

async function coldPhase(env: BenchEnv, p: ColdPhase): Promise<void> {
  if (p.phase === "kv") {
    const manifest = await readManifest(env.MODELS, "default");
    if (!manifest) throw new Error("no model seeded under id 'default'");
    [cold.vocab, cold.bytes] = await Promise.all([
      readVocab(env.MODELS, manifest.vocabHash),
      readWeights(env.MODELS, manifest),
    ]);
    cold.hash = manifest.vocabHash;
  }
  if (p.phase === "decode")
    cold.model = decodeModel(cold.bytes!, { vocab: cold.vocab!.words.length, vocabHash: cold.hash }).model;
  if (p.phase === "buffers") cold.tm = textModel(cold.model!, cold.vocab!, LIMITS.maxSentenceTokens);
  if (p.phase === "predict") predictNext(cold.tm!.model, p.ids, LIMITS.defaultK, isSuggestible, cold.tm!.ws);
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/cold") {
      await coldPhase(env, await request.json<ColdPhase>());
      return Response.json({});
    }
    if (pathname === "/load") return Response.json(await load(env));
    if (!loaded) await load(env);
    const tm = loaded!;
    if (pathname === "/first") {
      const call = await request.json<FirstCall>();
      const t0 = performance.now();
      if (call.kind === "predict") predictNext(tm.model, call.ids, LIMITS.defaultK, isSuggestible, tm.ws);
      if (call.kind === "learn") learnSentence(tm.model, call.ids, call.learn, tm.ws);
      if (call.kind === "warm-up") warmUp();
      if (call.kind === "rehearse") rehearse(tm.model, tm.ws);
      return Response.json({ wallMs: performance.now() - t0 });
    }
    if (pathname === "/bytes") {
      learnSentence(tm.model, [BOS, UNK, EOS], { lr: 0, truncate: 1, steps: 1, clipNorm: 1, maxStepNorm: 1 }, tm.ws);
      return Response.json(bufferBytes(tm.model, tm.ws));
    }
    if (pathname === "/setup") {
      const input = await request.json<SetupInput>();
      ops = suiteOps(tm.model, tm.ws, input.suite, tm.vocab.words);
      const c = input.calibration;
      if (c) Object.assign(ops, calibrationOps(tm.model, tm.ws, c.stream, c.grid, input.suite.learn));
      // The cost of a request that does nothing, subtracted by the caller.
      ops.noop = () => {};
      return Response.json(Object.keys(ops));
    }
    if (pathname === "/op") {
      const { name, reps } = await request.json<OpRequest>();
      const op = ops[name];
      if (!op) return new Response(`no operation ${name}`, { status: 404 });
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) op(calls++);
      return Response.json({ wallMs: performance.now() - t0 });
    }
    return new Response("not found", { status: 404 });
  },
};
