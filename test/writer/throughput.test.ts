/**
 * Throughput of one writer, the figures in docs/write-path.md:
 *
 *   npx vitest run test/writer/throughput.test.ts
 *
 * Learns go through the whole Worker in-process (route, validation, tokenizer, RPC to the
 * Durable Object, SGD, SQLite log append, reply after the write is durable). Each model gets
 * a publish interval of 250 ms for the run, so several publishes happen and their KV writes,
 * counted inside the Durable Object, can be put per 100 learns.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { initModel } from "../../src/model/init.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { seededRng } from "../../src/model/rng.ts";
import { SPECIALS, type Vocab, vocabHash } from "../../src/model/vocab.ts";
import { firstVersionFields, publishVersion } from "../../src/store/kv-layout.ts";
import { encodeModel } from "../../src/store/model-codec.ts";
import { countKvWrites, learn, publishNow } from "./support.ts";

const INTERVAL_MS = 250;

/** "a", "b", ..., "z", "ba", ...: distinct lowercase words the tokenizer keeps whole. */
const word = (i: number): string => (i < 26 ? "" : word(Math.floor(i / 26) - 1)) + String.fromCharCode(97 + (i % 26));

async function seed(id: string, words: number, hidden: number, classes: number): Promise<Vocab> {
  const all = [...SPECIALS, ...Array.from({ length: words }, (_, i) => word(i))];
  const vocab: Vocab = { words: all, index: new Map(all.map((w, i) => [w, i])) };
  const counts = all.map((_, i) => (i === 0 ? 0 : 1 / i));
  const model: RnnLm = initModel(
    { vocab: all.length, hidden, classStart: assignClasses(counts, classes) },
    seededRng(3),
  );
  const fields = firstVersionFields(vocabHash(vocab));
  await publishVersion(env.MODELS, id, encodeModel(model, { ...fields, hyperparameters: {} }), fields, { vocab });
  return vocab;
}

/** 12-word sentences drawn Zipf-like from the vocabulary (frequent words more often). */
function sentences(vocab: Vocab, n: number): string[] {
  const rng = seededRng(9);
  const words = vocab.words.length - SPECIALS.length;
  return Array.from({ length: n }, () =>
    Array.from({ length: 12 }, () => vocab.words[SPECIALS.length + Math.floor(words ** rng()) - 1]).join(" "),
  );
}

async function timed(run: () => Promise<Response[]>): Promise<{ ms: number; rate: number }> {
  const t = performance.now();
  const replies = await run();
  const ms = performance.now() - t;
  expect(replies.every((r) => r.status === 200)).toBe(true);
  await Promise.all(replies.map((r) => r.arrayBuffer()));
  return { ms, rate: (replies.length / ms) * 1000 };
}

describe("learn throughput through one Durable Object", () => {
  it.each([
    { name: "tiny", words: 42, hidden: 16, classes: 6, n: 200 },
    { name: "shipped-shape", words: 10_000, hidden: 100, classes: 100, n: 100 },
  ])(
    "$name model: learns per second and KV writes per 100 learns",
    { timeout: 30_000 },
    async ({ name, words, hidden, classes, n }) => {
      const id = `tp-${name}`;
      const vocab = await seed(id, words, hidden, classes);
      const writes = await countKvWrites(id, { PUBLISH_INTERVAL_MS: String(INTERVAL_MS) });
      const text = sentences(vocab, 2 * n + 5);
      for (const s of text.slice(0, 5)) await learn(id, s); // load and warm up

      const started = performance.now();
      const serial = await timed(async () => {
        const out = [];
        for (const s of text.slice(5, 5 + n)) out.push(await learn(id, s));
        return out;
      });
      const concurrent = await timed(() => Promise.all(text.slice(5 + n).map((s) => learn(id, s))));
      await publishNow(id); // the last, pending learns
      const elapsed = performance.now() - started;

      const learns = 2 * n + 5;
      const publishes = writes.puts.filter((k) => k.endsWith(":manifest")).length;
      const kvWrites = writes.puts.length + writes.deletes.length;
      console.log(
        `[throughput] ${name} (V=${vocab.words.length}, H=${hidden}, K=${classes}, 12-word sentences): ` +
          `sequential ${serial.rate.toFixed(0)} learns/s (${(serial.ms / n).toFixed(2)} ms each), ` +
          `concurrent ${concurrent.rate.toFixed(0)} learns/s; ${learns} learns in ${(elapsed / 1000).toFixed(2)} s, ` +
          `${publishes} publishes, ${kvWrites} KV writes = ${((100 * kvWrites) / learns).toFixed(2)} per 100 learns ` +
          `(interval ${INTERVAL_MS} ms)`,
      );
      // One publish per interval at most (plus the final forced one), two writes each.
      expect(publishes).toBeLessThanOrEqual(2 + Math.floor(elapsed / INTERVAL_MS));
      expect(writes.puts.length).toBe(2 * publishes);
    },
  );
});
