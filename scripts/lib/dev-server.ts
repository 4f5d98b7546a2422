/**
 * A `wrangler dev` of this Worker for scripts: a temporary persist dir seeded with a model, a free
 * loopback port, and stop(), which ends the process group it started (wrangler and its workerd),
 * also when the script ends another way.
 */
import { execFile, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" };

export interface DevServer {
  url: string;
  /** The last part of what wrangler printed (for diagnostics). */
  output(): string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** Folder of the model to seed as "default" (weights.safetensors + vocab.json). */
  model: string;
  /** Worker variables and secrets (`wrangler dev --var NAME:value`). */
  vars?: Record<string, string>;
  startTimeoutMs?: number;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

const OUTPUT_KEEP = 64 * 1024;

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const dir = await mkdtemp(join(tmpdir(), "edge-rnnlm-dev-"));
  const persist = join(dir, "state");
  await run(process.execPath, ["scripts/seed.ts", "--model", options.model, "--persist-to", persist], {
    cwd: root,
    env,
    timeout: 120_000,
  });

  const [port, inspector] = [await freePort(), await freePort()];
  const vars = Object.entries(options.vars ?? {}).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(port),
    "--inspector-port",
    String(inspector),
    "--persist-to",
    persist,
    ...vars,
  ];
  const child = spawn(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), ...args], {
    cwd: root,
    env,
    detached: true, // its own process group, so stop() reaches workerd too
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-OUTPUT_KEEP);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  // On the way out (Ctrl-C included: onSignal exits, which runs this), the state folder goes too.
  const onExit = () => {
    killGroup("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    killGroup("SIGKILL");
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.once("exit", onExit);
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const stop = async () => {
    process.removeListener("exit", onExit);
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (child.exitCode === null && child.signalCode === null) {
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 90_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
      if (Date.now() > deadline) throw new Error("wrangler dev did not answer /predict in time");
      try {
        const r = await fetch(`${url}/predict`, { signal: AbortSignal.timeout(5_000) });
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- wrangler output ---\n${output}`);
  }
  return { url, output: () => output, stop };
}
