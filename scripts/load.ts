/**
 * Load test over HTTP: `wrangler dev` on a free loopback port with a fresh local state seeded
 * with the shipped base model, several connections of mixed predict / fresh predict / learn
 * traffic for a fixed time, then the checks: no 5xx, and no acknowledged learn lost (the writer's
 * learn count, and the published manifest's after the next publish, equal the learns answered
 * 200). Prints latency percentiles and throughput; --write puts them in docs/benchmarks.md
 * ("## Load", the rest of that file untouched).
 *
 *   npm run load                                      60 s, 8 connections
 *   npm run load -- --seconds 10 --connections 4
 *   npm run load -- --write                           also updates docs/benchmarks.md
 *
 * Every request carries its own client address (CF-Connecting-IP, which local dev does not
 * overwrite) from a pool of 1,024, as if many clients shared the load: the per-client rate
 * limits stay on and are checked on every request, but no client reaches its budget.
 */
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { quantile } from "../bench/stats.ts";
import { seededRng } from "../src/model/rng.ts";
import { flags } from "./lib/args.ts";
import { startDevServer } from "./lib/dev-server.ts";
import { readVocabFile } from "./lib/model-dir.ts";

const arg = flags(
  { seconds: "60", connections: "8", "learn-share": "0.2", "fresh-share": "0.1", model: "models/base", seed: "1" },
  ["write"],
);
const seconds = arg.num("seconds");
const connections = arg.num("connections");
const learnShare = arg.num("learn-share");
const freshShare = arg.num("fresh-share");
const rng = seededRng(arg.num("seed"));

type Kind = "predict" | "fresh" | "learn";
const KINDS: Kind[] = ["predict", "fresh", "learn"];

interface Sample {
  kind: Kind;
  ms: number;
  status: number;
}

// ---------------------------------------------------------------------------------------------
// Traffic: sentences and prefixes Zipf-sampled from the model's 2,000 most frequent words

const words = readVocabFile(arg.str("model")).words.slice(3, 2003);
const cdf = (() => {
  const w = words.map((_, r) => 1 / (r + 1));
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  return w.map((x) => (acc += x / total));
})();

function word(): string {
  const u = rng();
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return words[lo];
}

const phrase = (min: number, max: number) =>
  Array.from({ length: min + Math.floor(rng() * (max - min + 1)) }, word).join(" ");

let nextClient = 0;
/** Addresses from 198.18.0.0/15, the range set aside for benchmarks (RFC 2544). */
const clientAddress = () => `198.18.${(nextClient >> 8) & 3}.${nextClient++ & 255}`;

// ---------------------------------------------------------------------------------------------
// Run

const token = randomUUID();
const loadAtStart = loadavg()[0];
console.error(`starting wrangler dev with ${arg.str("model")} ...`);
const server = await startDevServer({ model: arg.str("model"), vars: { LEARN_TOKEN: token } });
let failed = false;
try {
  const { url } = server;
  const getJson = async <T>(path: string): Promise<T> => {
    const r = await fetch(url + path);
    if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as T;
  };
  // Warm both paths (the isolate's model cache, the writer's load) outside the measurement.
  await getJson("/predict?prefix=the");
  const start = await getJson<{ model: { learns: number } }>("/predict?prefix=the&fresh=1");
  // The local HTTP stack alone (GET /health: no limiter, no model), one request at a time.
  const stack: number[] = [];
  for (let i = 0; i < 100; i++) {
    const t = performance.now();
    await (await fetch(`${url}/health`)).arrayBuffer();
    stack.push(performance.now() - t);
  }
  const stackP50 = quantile(stack, 0.5).toFixed(1);

  const samples: Sample[] = [];
  const failures = new Map<string, number>();
  let acked = 0;
  const count = (key: string) => failures.set(key, (failures.get(key) ?? 0) + 1);

  async function one(): Promise<void> {
    const u = rng();
    const kind: Kind = u < learnShare ? "learn" : u < learnShare + freshShare ? "fresh" : "predict";
    const headers: Record<string, string> = { "cf-connecting-ip": clientAddress() };
    let request: Request;
    if (kind === "learn") {
      headers.authorization = `Bearer ${token}`;
      headers["content-type"] = "application/json";
      request = new Request(`${url}/learn`, {
        method: "POST",
        headers,
        body: JSON.stringify({ sentence: phrase(8, 16) }),
      });
    } else {
      const q = new URLSearchParams({ prefix: phrase(1, 8), k: "5", ...(kind === "fresh" && { fresh: "1" }) });
      request = new Request(`${url}/predict?${q}`, { headers });
    }
    const t0 = performance.now();
    try {
      const r = await fetch(request);
      await r.arrayBuffer();
      samples.push({ kind, ms: performance.now() - t0, status: r.status });
      if (r.status === 200 && kind === "learn") acked++;
      if (r.status !== 200) count(`${kind} ${r.status}`);
    } catch (e) {
      count(`${kind} network error: ${(e as Error).message}`);
    }
  }

  console.error(`${connections} connections for ${seconds} s ...`);
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;

  // No learn lost: the writer holds every acknowledged one now, and the next publish carries them.
  const fresh = await getJson<{ model: { learns: number } }>("/predict?prefix=the&fresh=1");
  const writerLearns = fresh.model.learns - start.model.learns;
  let published = { version: 0, learns: -1 };
  const publishDeadline = Date.now() + 60_000;
  while (Date.now() < publishDeadline) {
    published = await getJson<{ version: number; learns: number }>("/model");
    if (published.learns - start.model.learns >= acked) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const publishedLearns = published.learns - start.model.learns;

  const report = summarise(samples, elapsed);
  const fivexx = samples.filter((s) => s.status >= 500).length;
  const checks = {
    "no 5xx": fivexx === 0,
    "writer learns == acknowledged": writerLearns === acked,
    "published learns == acknowledged": publishedLearns === acked,
  };
  failed = Object.values(checks).some((ok) => !ok);

  const lines = [
    `| traffic | requests | per s | p50 ms | p99 ms |`,
    `| --- | --- | --- | --- | --- |`,
    ...report.rows.map((r) => `| ${r.name} | ${r.n} | ${r.perS} | ${r.p50} | ${r.p99} |`),
  ];
  const non200 = [...failures.entries()].map(([k, n]) => `${k}: ${n}`).join(", ") || "none";
  console.log(lines.join("\n"));
  console.log(
    `\nacknowledged learns ${acked}; in the writer ${writerLearns}; in published version ${published.version} ${publishedLearns}`,
  );
  console.log(`non-200 answers: ${non200}`);
  console.log(`GET /health alone, one at a time before the run: p50 ${stackP50} ms`);
  for (const [name, ok] of Object.entries(checks)) console.log(`${ok ? "ok  " : "FAIL"} ${name}`);

  if (arg.bool("write")) {
    writeLoadSection(
      [
        "## Load",
        "",
        "`npm run load -- --write` (scripts/load.ts): `wrangler dev` on loopback with a fresh local state seeded",
        `with the shipped base model; ${connections} connections of mixed traffic for ${seconds} s (${Math.round(100 * (1 - learnShare - freshShare))}% \`GET /predict\`,`,
        `${Math.round(100 * freshShare)}% \`GET /predict?fresh=1\`, ${Math.round(100 * learnShare)}% \`POST /learn\` of 8–16 Zipf-sampled words; prefixes of 1–8 words); each request`,
        "from its own client address, so the per-client rate limits are checked on every request but none",
        "is reached; default `PUBLISH_INTERVAL_MS` (10 s).",
        "",
        ...lines,
        "",
        `Checks: ${fivexx} 5xx; ${acked} learns acknowledged, ${writerLearns} in the writer right after the run,`,
        `${publishedLearns} in the next published version (${published.version}): none lost. Non-200 answers: ${non200}.`,
        "",
        `Measured ${new Date().toISOString().slice(0, 10)} on this project's machine (2 shared cores, load average ${loadAtStart.toFixed(1)} at`,
        "the start, the load generator on the same cores as wrangler and workerd). Before the run, `GET /health`",
        `(no limiter, no model) took ${stackP50} ms p50 one request at a time: most of each latency above is the local`,
        "HTTP stack (wrangler's proxy, workerd, a log line per request) queueing on two busy cores. Locally",
        "Miniflare also simulates the rate limiter with a SQLite-backed object (one more write per request),",
        "and every learn is a SQLite commit on disk; one model's writer serialises its learns (see",
        "[write-path.md](write-path.md)). So these figures bound the service's own cost from above.",
        "",
      ].join("\n"),
    );
    console.error("wrote the Load section of docs/benchmarks.md");
  }
} catch (e) {
  failed = true;
  console.error(e);
  console.error(`--- wrangler output (tail) ---\n${server.output().slice(-4000)}`);
} finally {
  await server.stop();
}
process.exit(failed ? 1 : 0);

// ---------------------------------------------------------------------------------------------

function summarise(all: Sample[], elapsed: number) {
  const row = (name: string, ss: Sample[]) => {
    const ms = ss.map((s) => s.ms);
    return {
      name,
      n: ss.length,
      perS: (ss.length / elapsed).toFixed(0),
      p50: quantile(ms, 0.5).toFixed(1),
      p99: quantile(ms, 0.99).toFixed(1),
    };
  };
  const label: Record<Kind, string> = {
    predict: "`GET /predict`",
    fresh: "`GET /predict?fresh=1`",
    learn: "`POST /learn`",
  };
  return {
    rows: [
      ...KINDS.map((k) =>
        row(
          label[k],
          all.filter((s) => s.kind === k),
        ),
      ),
      row("all", all),
    ],
  };
}

/** Replaces the "## Load" section of docs/benchmarks.md (up to the next "## "), or appends it. */
function writeLoadSection(section: string): void {
  const path = "docs/benchmarks.md";
  const doc = readFileSync(path, "utf8");
  const start = doc.search(/^## Load$/m);
  if (start < 0) {
    writeFileSync(path, `${doc.trimEnd()}\n\n${section}`);
    return;
  }
  const rest = doc.slice(start + 1);
  const next = rest.search(/^## /m);
  writeFileSync(path, doc.slice(0, start) + section + (next < 0 ? "" : `\n${rest.slice(next)}`));
}
