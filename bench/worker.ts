/**
 * The benchmark's Worker, run inside workerd by scripts/bench.ts through
 * Miniflare. It loads the model exactly as the service does (KV manifest,
 * weights and vocabulary through a ModelCache, then the text model's work
 * buffers) and answers:
 *   GET  /load       one cold load, timed (call once per fresh isolate)
 *   POST /run        the suite (bench/suite.ts) on the loaded model
 *   POST /calibrate  the cost model's calibration grid
 */
import { LIMITS } from "../src/config.ts";
import type { LearnOptions } from "../src/model/lm.ts";
import { type TextModel, textModel } from "../src/model/text-model.ts";
import { ModelCache } from "../src/store/model-cache.ts";
import type { TimingOptions } from "./stats.ts";
import { bufferBytes, type CalibrationPoint, runCalibration, runSuite, type SuiteInput } from "./suite.ts";

interface BenchEnv {
  MODELS: KVNamespace;
}

export interface LoadReport {
  /** Manifest, weights and vocabulary read from KV, weights decoded and validated. */
  loadMs: number;
  /** The work buffers (Workspace) built. */
  workspaceMs: number;
  /** Bytes of weights and work buffers (distinct ArrayBuffers). */
  bytes: number;
  /** Of which weights (model tensors) alone. */
  weightBytes: number;
}

export interface CalibrateInput {
  stream: number[];
  grid: CalibrationPoint[];
  learn: LearnOptions;
  timing: TimingOptions;
}

const cache = new ModelCache();
let loaded: TextModel | undefined;

async function load(env: BenchEnv): Promise<{ tm: TextModel; report: LoadReport }> {
  const t0 = performance.now();
  const result = await cache.load(env.MODELS, "default");
  if (result.status !== "ready") throw new Error("no model seeded under id 'default'");
  const t1 = performance.now();
  const tm = textModel(result.model, result.vocab, LIMITS.maxSentenceTokens);
  const t2 = performance.now();
  loaded = tm;
  const report = { loadMs: t1 - t0, workspaceMs: t2 - t1, bytes: bufferBytes(tm.model, tm.ws), weightBytes: bufferBytes(tm.model) };
  return { tm, report };
}

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/load") return Response.json((await load(env)).report);
    const tm = loaded ?? (await load(env)).tm;
    if (pathname === "/run") {
      const input = await request.json<SuiteInput>();
      return Response.json(runSuite(tm.model, tm.ws, input, () => performance.now()));
    }
    if (pathname === "/calibrate") {
      const c = await request.json<CalibrateInput>();
      return Response.json(runCalibration(tm.model, tm.ws, c.stream, c.grid, c.learn, c.timing, () => performance.now()));
    }
    return new Response("not found", { status: 404 });
  },
};
