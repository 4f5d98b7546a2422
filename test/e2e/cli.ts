/** End-to-end tests of `edge-rnnlm` (bin/edge-rnnlm.js) against a running server. */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { encodeSafetensors } from "../../src/store/safetensors.ts";
import type { DevServer } from "../../scripts/lib/dev-server.ts";

const bin = resolve(import.meta.dirname, "../../bin/edge-rnnlm.js");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with EDGE_RNNLM_URL/TOKEN set (unless `env` overrides them). */
function cli(args: string[], env: Record<string, string>, stdin?: string): Promise<Run> {
  return new Promise((ok) => {
    const child = execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        ok({ code, stdout, stderr });
      },
    );
    child.stdin?.end(stdin ?? "");
  });
}

interface LearnSummary {
  sentences: number;
  learned: number;
  tokens: number;
  lossBefore: number;
  lossAfter: number;
  model: { id: string; version: number };
  failures: { line: number; status: number; code: string }[];
}

/** Registers the CLI tests; `server()` is the running server, `token` its LEARN_TOKEN. */
export function cliTests(server: () => DevServer, token: string): void {
  const model = "cli";
  let dir = "";
  let env: Record<string, string> = {};
  const run = (args: string[], stdin?: string) => cli([...args, "--model", model], env, stdin);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "edge-rnnlm-cli-"));
    env = { EDGE_RNNLM_URL: server().url, EDGE_RNNLM_TOKEN: token };
    // A model of its own (a copy of the default one), so the browser test sees the default untouched.
    const r = await fetch(`${server().url}/models`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ id: model }),
    });
    assert.equal(r.status, 201, await r.text());
  });
  after(() => rm(dir, { recursive: true, force: true }));

  describe("predict", () => {
    it("prints k words with their probabilities, best first, and the model on stderr", async () => {
      const r = await run(["predict", "the president of the", "-k", "3"]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 3);
      const ps = lines.map((l) => Number(/ ([0-9.]+)%$/.exec(l)?.[1]));
      assert.ok(
        ps.every((p) => p > 0 && p < 100),
        r.stdout,
      );
      assert.deepEqual(
        [...ps].sort((a, b) => b - a),
        ps,
      );
      assert.match(r.stderr, /^model cli version 1$/m);
    });

    it("--partial completes the word being typed, each word as written", async () => {
      const r = await run(["predict", "the president of the", "--partial", "Un", "-k", "3"]);
      assert.equal(r.code, 0, r.stderr);
      const words = r.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(/\s+/)[0]);
      assert.equal(words.length, 3);
      assert.ok(
        words.every((w) => /^un/i.test(w)),
        r.stdout,
      );
      assert.ok(words.includes("United"), r.stdout);
    });

    it("--json prints the server's answer", async () => {
      const r = await run(["predict", "I would like to", "-k", "4", "--json", "--fresh"]);
      assert.equal(r.code, 0, r.stderr);
      const a = JSON.parse(r.stdout) as { prefix: string[]; predictions: unknown[]; model: { id: string } };
      assert.deepEqual(a.prefix, ["i", "would", "like", "to"]);
      assert.equal(a.predictions.length, 4);
      assert.equal(a.model.id, model);
    });

    it("a refused request exits 1 with the server's code and message", async () => {
      const r = await run(["predict", "the", "-k", "0"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^edge-rnnlm: 400 invalid_parameter: k must be an integer from 1 to 50/);
    });
  });

  describe("learn", () => {
    const tooLong = Array.from({ length: 70 }, () => "word").join(" ");
    const file = () => join(dir, "sentences.txt");
    const text = [
      "we went to the river",
      "",
      "she plays the piano every day",
      tooLong,
      "  i would like to see you again  ",
      "the dog sat on the mat",
    ].join("\n");

    it("teaches each non-blank line, reports failures by line and exits 1 when one failed", async () => {
      await writeFile(file(), text);
      const r = await run(["learn", file(), "--json"]);
      assert.equal(r.code, 1, r.stderr);
      const s = JSON.parse(r.stdout) as LearnSummary;
      assert.equal(s.sentences, 5);
      assert.equal(s.learned, 4);
      assert.equal(s.tokens, 5 + 6 + 7 + 6);
      assert.deepEqual(
        s.failures.map((f) => [f.line, f.status, f.code]),
        [[4, 413, "sentence_too_long"]],
      );
      assert.ok(s.lossAfter < s.lossBefore, `${s.lossBefore} -> ${s.lossAfter}`);
      assert.equal(s.model.id, model);
      assert.ok(s.model.version >= 2);
    });

    it("prints a readable summary, reads stdin for -, and exits 0 when all were learned", async () => {
      const r = await run(["learn", "-"], "we went to the river\nwe went to the river\n");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^learned 2 of 2 sentences \(10 tokens\) into model cli, version \d+/);
      assert.match(r.stdout, /mean loss per token: [0-9.]+ before -> [0-9.]+ after/);
    });

    it("stops at the first sentence when the token is refused", async () => {
      await writeFile(file(), "one sentence\nanother sentence\n");
      const r = await cli(["learn", file(), "--model", model, "--token", "wrong"], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^edge-rnnlm: 401 unauthorized: /);
      assert.equal(r.stdout, "");
    });

    it("the server logged each learn as one JSON line with the model, version and tokens", () => {
      const lines = server()
        .output()
        .split("\n")
        .filter((l) => l.startsWith('{"event":"request"'))
        .map((l) => JSON.parse(l) as { route: string; status: number; model: string; version: number; tokens: number });
      const learns = lines.filter((l) => l.route === "/models/:id/learn" && l.model === model);
      assert.deepEqual(
        learns.filter((l) => l.status === 200).map((l) => l.tokens),
        [5, 6, 7, 6, 5, 5],
      );
      assert.deepEqual(
        learns.filter((l) => l.status !== 200).map((l) => l.status),
        [413, 401],
      );
      assert.ok(learns.every((l) => l.status !== 200 || l.version >= 2));
    });

    it("--user teaches a user's layer and predict --user sees it at once; user <id> shows and --delete erases it", async () => {
      const taught = await run(
        ["learn", "-", "--user", "cli-bob"],
        "we feed the quokka every day\nwe feed the quokka every day\nwe feed the quokka every day\n",
      );
      assert.equal(taught.code, 0, taught.stderr);
      assert.match(
        taught.stdout,
        /^learned 3 of 3 sentences \(18 tokens\) into model cli, version \d+ \(a personal layer over it\)/,
      );
      const p = await run(["predict", "we feed the", "--user", "cli-bob", "--json"]);
      assert.equal(p.code, 0, p.stderr);
      assert.equal(JSON.parse(p.stdout).predictions[0].word, "quokka");
      const shown = await run(["user", "cli-bob", "--json"]);
      assert.equal(shown.code, 0, shown.stderr);
      assert.deepEqual(
        { ...JSON.parse(shown.stdout), bytes: 0, storageBytes: 0, createdAt: null, updatedAt: null, layers: [] },
        {
          id: "cli-bob",
          bytes: 0,
          storageBytes: 0,
          learns: 3,
          tokens: 18,
          learnedWords: 1,
          createdAt: null,
          updatedAt: null,
          layers: [],
        },
      );
      const erased = await run(["user", "cli-bob", "--delete", "--json"]);
      assert.deepEqual(JSON.parse(erased.stdout), { id: "cli-bob", erased: true });
    });
  });

  describe("export and import", () => {
    it("export writes the published weights' bytes", async () => {
      const out = join(dir, "cli.safetensors");
      const r = await run(["export", out]);
      assert.equal(r.code, 0, r.stderr);
      // The CLI sends the admin token, which downloads the stored file (without it the phrase memory
      // is left out: docs/limits.md); compare with that, as bytes (a diff of 18 MB arrays would not fit in memory).
      const weights = await fetch(`${server().url}/models/${model}/model/weights`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const served = Buffer.from(await weights.arrayBuffer());
      assert.ok(served.equals(await readFile(out)), "the exported file differs from the admin download");
      assert.match(r.stdout, new RegExp(`^exported model cli version \\d+: ${served.byteLength} bytes to `));
    });

    it("import uploads a model file and reports the new version", async () => {
      const file = join(dir, "cli.safetensors");
      const before = (await (await fetch(`${server().url}/models/${model}/model`)).json()) as { version: number };
      const r = await run(["import", file]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^imported .* into model cli, now version (\d+)/);
      assert.ok(Number(/now version (\d+)/.exec(r.stdout)?.[1]) > before.version);
    });

    it("import prints the server's refusal of a file that is not this model's (exit 1)", async () => {
      const file = join(dir, "other.safetensors");
      await writeFile(file, encodeSafetensors({ U: { dtype: "F32", shape: [2, 2], data: new Float32Array(4) } }, {}));
      const r = await run(["import", file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^edge-rnnlm: 4\d\d [a-z_]+: ./);
    });

    it("import refuses a file that is not safetensors without sending it (exit 4)", async () => {
      const file = join(dir, "not.safetensors");
      await writeFile(file, "hello");
      const r = await run(["import", file]);
      assert.equal(r.code, 4);
      assert.match(r.stderr, /is not a safetensors file/);
      assert.ok((await stat(file)).size === 5);
    });
  });

  describe("usage and connection errors", () => {
    it("exit 2 for an unknown command or a missing argument, with the usage", async () => {
      for (const args of [["frobnicate"], ["predict"], ["learn"], ["predict", "x", "-k", "many"]]) {
        const r = await cli(args, env);
        assert.equal(r.code, 2, args.join(" "));
        assert.match(r.stderr, /usage: edge-rnnlm <command>/);
      }
    });

    it("exit 3 when nothing answers at --url", async () => {
      const r = await cli(["predict", "the", "--url", "http://127.0.0.1:9", "--timeout", "5"], env);
      assert.equal(r.code, 3);
      assert.match(r.stderr, /^edge-rnnlm: cannot reach http:\/\/127\.0\.0\.1:9: /);
    });

    it("exit 3 when the URL answers but is not the API", async () => {
      const other = createServer((_, res) =>
        res.writeHead(404, { "content-type": "text/html" }).end("<h1>Not found</h1>"),
      );
      await new Promise<void>((ok) => other.listen(0, "127.0.0.1", ok));
      try {
        const { port } = other.address() as AddressInfo;
        const r = await cli(["predict", "the", "--url", `http://127.0.0.1:${port}`], env);
        assert.equal(r.code, 3, r.stderr);
        assert.match(
          r.stderr,
          /HTTP 404 \(text\/html\) without the API's JSON error; is http:\/\/127\.0\.0\.1:\d+ an edge-rnnlm server\?/,
        );
      } finally {
        other.close();
      }
    });
  });
}
