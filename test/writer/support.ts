/** Shared by the writer tests: reach into a model's writer, replay its log, compare weights. */
import { env } from "cloudflare:workers";
import type { Env } from "../../src/env.ts";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import { LEARN_BOUNDS, LIMITS } from "../../src/config.ts";
import { cloneModel } from "../../src/model/init.ts";
import { tokenize } from "../../src/model/tokenizer.ts";
import { learnSentence, Workspace } from "../../src/model/lm.ts";
import { inputStride, type RnnLm, weightsOf } from "../../src/model/model.ts";
import type { Vocab } from "../../src/model/vocab.ts";
import { learningModel, replay as replayLearn } from "../../src/writer/replay.ts";
import { type Manifest, readManifest } from "../../src/store/kv-layout.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { LearnLog, type LogEntry } from "../../src/writer/learn-log.ts";
import type { ModelWriter } from "../../src/writer/model-writer.ts";
import type { StatusReply, WriterStatus } from "../../src/writer/protocol.ts";
import { json, learnJson } from "../helpers/api.ts";
import { WORDS } from "../helpers/tiny-model.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function writer(id: string): DurableObjectStub<ModelWriter> {
  return env.WRITER.get(env.WRITER.idFromName(id));
}

/** Runs the model's pending alarm now, i.e. publishes what the log holds beyond the current version. */
export function publishNow(id: string): Promise<boolean> {
  return runDurableObjectAlarm(writer(id));
}

/** The writer's learn log, read from its SQLite storage. */
export function logOf(id: string): Promise<LogEntry[]> {
  return runInDurableObject(writer(id), (_, state) => new LearnLog(state.storage.sql).since(0));
}

export async function status(id: string): Promise<WriterStatus> {
  const s: StatusReply = await writer(id).status(id);
  if (!s.ok) throw new Error(s.message);
  return s;
}

/** The `i`-th of a family of distinct sentences over the tiny vocabulary. */
export function sentence(i: number): string {
  const n = WORDS.length;
  return [WORDS[i % n], WORDS[(i * 7 + 3) % n], WORDS[(i * 13 + 5) % n], WORDS[Math.floor(i / n) % n]].join(" ");
}

export async function learn(id: string, text: string): Promise<Response> {
  return learnJson(text, {}, `/models/${id}/learn`);
}

export async function learnOk(id: string, text: string): Promise<{ model: { version: number; published: boolean } }> {
  const r = await learn(id, text);
  expect(r.status).toBe(200);
  return r.json();
}

/** The weights the model's KV manifest names, decoded, with the manifest. */
export async function publishedWeights(id: string): Promise<{ manifest: Manifest; model: RnnLm; bytes: ArrayBuffer }> {
  const manifest = await readManifest(env.MODELS, id);
  if (!manifest) throw new Error(`model ${id} has no manifest`);
  const bytes = await env.MODELS.get(manifest.weightsKey, "arrayBuffer");
  if (!bytes) throw new Error(`${manifest.weightsKey} missing`);
  return { manifest, model: decodeModel(bytes.slice(0)).model, bytes };
}

/** Weights after applying `entries` one by one, in order, to a copy of `start` (what replay must produce). */
export function replay(start: RnnLm, entries: readonly LogEntry[]): RnnLm {
  const m = cloneModel(start);
  const ws = new Workspace(m, 66);
  for (const e of entries) learnSentence(m, e.ids, e, ws);
  return m;
}

const bytesOf = (t: Float32Array) => new Uint8Array(t.buffer, t.byteOffset, t.byteLength);

/** Byte-for-byte equality of every weight tensor (a float compare would let -0 equal 0). */
export function expectSameWeights(actual: RnnLm, expected: RnnLm): void {
  const a = weightsOf(actual);
  const e = weightsOf(expected);
  expect(Object.keys(a)).toEqual(Object.keys(e));
  for (const name of Object.keys(e)) {
    const [x, y] = [bytesOf(a[name]), bytesOf(e[name])];
    expect(x.length, `tensor ${name} size`).toBe(y.length);
    expect(
      x.findIndex((b, i) => b !== y[i]),
      `first differing byte of tensor ${name}`,
    ).toBe(-1);
  }
}

export async function modelInfo(id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return json<Record<string, unknown>>(`/models/${id}`);
}

export interface KvWrites {
  puts: string[];
  deletes: string[];
}

/**
 * Counts the KV writes the model's running writer makes from now on, by wrapping the KV binding
 * in that Durable Object instance (a new instance after a reset starts uncounted); `vars`
 * override its variables, `putDelayMs` slows each put (a publish in flight for that long).
 */
export async function countKvWrites(id: string, vars: Record<string, string> = {}, putDelayMs = 0): Promise<KvWrites> {
  const writes: KvWrites = { puts: [], deletes: [] };
  await runInDurableObject(writer(id), (instance) => {
    const holder = instance as unknown as { env: Env };
    const kv = holder.env.MODELS;
    const counted = new Proxy(kv, {
      get(target, prop) {
        if (prop === "put") {
          return async (key: string, ...rest: unknown[]) => {
            writes.puts.push(key);
            await sleep(putDelayMs);
            return Reflect.apply(target.put, target, [key, ...rest]);
          };
        }
        if (prop === "delete") return (key: string) => (writes.deletes.push(key), target.delete(key));
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    holder.env = { ...holder.env, ...vars, MODELS: counted };
  });
  return writes;
}

/** `m` as a file holds it: U without the writer's room for unused slots (columns past vocab). */
export function compact(m: RnnLm): RnnLm {
  const { hidden: h, vocab: v } = m;
  const stride = inputStride(m);
  if (stride === v) return m;
  const U = new Float32Array(h * v);
  for (let i = 0; i < h; i++) U.set(m.U.subarray(i * stride, i * stride + v), i * v);
  return { ...m, U };
}

/** The writer's replay (src/writer/replay.ts) of the whole log onto `start`. */
export async function replayedLog(id: string, start: RnnLm, vocab: Vocab): Promise<RnnLm> {
  let tm = learningModel(start, vocab);
  for (const e of await logOf(id)) tm = replayLearn(tm, e);
  return tm.model;
}

/** The published version must be the writer's replay of its whole log onto `start`, byte for byte, slots included. */
export async function expectPublishedIsReplay(id: string, start: RnnLm, vocab: Vocab): Promise<void> {
  const replayed = await replayedLog(id, start, vocab);
  const published = (await publishedWeights(id)).model;
  expect(published.vocab).toBe(replayed.vocab);
  expect(published.learned).toEqual(replayed.learned);
  expect(published.memory?.sentences()).toEqual(replayed.memory?.sentences());
  expectSameWeights(published, compact(replayed));
}

/**
 * A learn by subject `sub` with the default options, straight through the writer (as /learn sends
 * it once the request is authenticated): a second teacher for the quorums of new words and the
 * phrase memory.
 */
export async function learnAs(
  id: string,
  sub: string,
  text: string,
  options: { lr?: number; blocked?: string[] } = {},
): Promise<void> {
  const { lr, truncate, steps } = LEARN_BOUNDS;
  const tokens = tokenize(text, LIMITS.maxSentenceTokens);
  const blocked = options.blocked && { blocked: options.blocked };
  const r = await writer(id).learn(id, {
    tokens,
    lr: options.lr ?? lr.default,
    truncate: truncate.default,
    steps: steps.default,
    sub,
    ...blocked,
  });
  expect(r.ok, `learn by ${sub}: ${JSON.stringify(text)}`).toBe(true);
}
