/**
 * End to end on your own text (README "A model for your app"): `npm run train -- --corpus` on the
 * Korean fixture with a tiny network, `npm run eval -- --model DIR --test FILE`, then the folder
 * seeded into local KV (scripts/seed.ts, as `npm run dev` seeds) behind `wrangler dev`, and
 * /predict answers in the corpus's words. Also every way a corpus file is refused.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { type DevServer, startDevServer } from "../../scripts/lib/dev-server.ts";

const root = resolve(import.meta.dirname, "../..");
const CORPUS = "test/fixtures/corpus-ko.txt";
const TEST = "test/fixtures/corpus-ko-test.txt";
/** A network small enough to train in seconds. */
const TINY = ["--hidden", "8", "--classes", "8", "--direct-size", "4096", "--epochs", "4"];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function script(name: string, args: string[]): Promise<Run> {
  return new Promise((ok) => {
    execFile(
      process.execPath,
      [`scripts/${name}.ts`, ...args],
      { cwd: root, timeout: 120_000 },
      (error, stdout, stderr) => {
        ok({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

/** A refusal: the exit code, one line naming the problem, no stack trace. */
function assertRefused(r: Run, code: number, message: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}

export function ownCorpusTests(): void {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "edge-rnnlm-own-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  describe("refuses a corpus it cannot train on", () => {
    const train = (file: string) => script("train", ["--corpus", file, "--out", join(dir, "refused"), ...TINY]);

    it("a missing file, a directory, an empty file (exit 4)", async () => {
      assertRefused(await train(join(dir, "missing.txt")), 4, /missing\.txt: no such file/);
      assertRefused(await train(dir), 4, /a directory/);
      await writeFile(join(dir, "empty.txt"), "");
      assertRefused(await train(join(dir, "empty.txt")), 4, /empty\.txt: the file is empty/);
      await writeFile(join(dir, "blank.txt"), "\n  \n\n");
      assertRefused(await train(join(dir, "blank.txt")), 4, /every line is blank/);
    });

    it("a binary file and text that is not UTF-8 (exit 4)", async () => {
      await writeFile(join(dir, "model.bin"), await readFile(join(root, "models/base/weights.safetensors")));
      assertRefused(await train(join(dir, "model.bin")), 4, /a binary file \(NUL byte at offset \d+\)/);
      await writeFile(join(dir, "latin1.txt"), Buffer.from("caf\xe9 cr\xe8me br\xfbl\xe9e\n".repeat(300), "latin1"));
      assertRefused(await train(join(dir, "latin1.txt")), 4, /not UTF-8 \(invalid byte sequence at offset 3\)/);
    });

    it("a corpus too small to train (exit 1), and bad flags (exit 2)", async () => {
      const lines = (await readFile(join(root, CORPUS), "utf8")).split("\n").slice(0, 30);
      await writeFile(join(dir, "small.txt"), lines.join("\n"));
      assertRefused(
        await train(join(dir, "small.txt")),
        1,
        /too small to train a model: \d+ training tokens in 27 lines, at least 1000 needed/,
      );
      assertRefused(await script("train", ["--corpus", CORPUS, "--hidden", "big"]), 2, /--hidden must be a number/);
      assertRefused(await script("train", ["--corpus", CORPUS, "--direct-size", "1000"]), 2, /power of two/);
      assertRefused(await script("train", ["--valid", CORPUS]), 2, /--valid goes with --corpus/);
      assert.equal(existsSync(join(dir, "refused")), false, "nothing written");
    });
  });

  describe("train, eval, seed, predict", () => {
    let model = "";
    let words = 0;
    let server: DevServer | undefined;
    after(() => server?.stop());

    it("trains a model folder with a progress bar and validation perplexity per epoch", async () => {
      model = join(dir, "ko");
      const r = await script("train", ["--corpus", CORPUS, "--out", model, ...TINY]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /epoch 1 \[#*\.*\] /);
      const epochs = [...r.stderr.matchAll(/^epoch (\d+): .* valid ppl ([0-9.]+)/gm)];
      assert.equal(epochs.length, 4, r.stderr);
      const report = JSON.parse(await readFile(join(model, "train-report.json"), "utf8")) as {
        corpus: { file: string; heldOutEvery: number };
        sentences: { train: number; valid: number };
        bestValidPerplexity: number;
      };
      // 420 lines, every 10th held out.
      assert.deepEqual(report.sentences, { train: 378, valid: 42 });
      assert.equal(report.corpus.heldOutEvery, 10);
      // The report's best is the lowest of the printed ones (printed to 1 decimal).
      assert.ok(Math.abs(report.bestValidPerplexity - Math.min(...epochs.map((e) => Number(e[2])))) <= 0.05, r.stderr);
      const vocab = JSON.parse(await readFile(join(model, "vocab.json"), "utf8")) as {
        words: string[];
        forms: Record<string, string>;
      };
      assert.ok(
        vocab.words.includes("마셨다") && vocab.words.includes("카페에서"),
        "the vocabulary is the corpus's words",
      );
      // Tokens are lower case; the corpus's own spelling is kept as the words' written forms.
      assert.deepEqual(vocab.forms, { seoul에서: "Seoul에서", ktx를: "KTX를" });
      words = vocab.words.length;
    });

    it("eval scores it on a test file beside the unigram and KN3 on the same vocabulary", async () => {
      const r = await script("eval", ["--model", model, "--test", TEST, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const e = JSON.parse(r.stdout) as {
        split: string;
        sentences: number;
        perplexity: number;
        baselines: { unigram: { perplexity: number }; kn3: { perplexity: number } };
        api: { sentences: number; words: number; top3: number };
      };
      assert.equal(e.split, TEST);
      assert.equal(e.sentences, 40);
      assert.ok(
        e.perplexity < e.baselines.unigram.perplexity / 2,
        `rnn ${e.perplexity} vs unigram ${e.baselines.unigram.perplexity}`,
      );
      assert.ok(Number.isFinite(e.baselines.kn3.perplexity));
      assert.deepEqual([e.api.sentences, e.api.words], [40, 200]);
      assert.deepEqual(JSON.parse(await readFile(join(model, "eval-corpus-ko-test.json"), "utf8")), e);
      assertRefused(
        await script("eval", ["--model", model]),
        2,
        /not Brown: give the sentences to score with --test FILE/,
      );
    });

    it("seeds into local KV and /predict answers in the corpus's words", { timeout: 240_000 }, async () => {
      server = await startDevServer({ model });
      const r = await fetch(`${server.url}/predict?k=3&prefix=${encodeURIComponent("나는 주말에 도서관에서 책을")}`);
      assert.equal(r.status, 200);
      const a = (await r.json()) as { prefix: string[]; predictions: { word: string }[] };
      assert.deepEqual(a.prefix, ["나는", "주말에", "도서관에서", "책을"]);
      // In the corpus "책을" is always followed by "읽었다".
      assert.equal(a.predictions[0].word, "읽었다");
      // The written forms travel with the vocabulary into KV: every suggestion of the word shows its spelling.
      const all = (await (
        await fetch(`${server.url}/predict?k=50&prefix=${encodeURIComponent("친구는 어제 Seoul에서")}`)
      ).json()) as {
        predictions: { word: string; text: string }[];
      };
      assert.equal(all.predictions.find((x) => x.word === "ktx를")?.text, "KTX를");
      const m = (await (await fetch(`${server.url}/model`)).json()) as { vocab: number; hidden: number };
      assert.deepEqual([m.hidden, m.vocab], [8, words]);
    });
  });
}
