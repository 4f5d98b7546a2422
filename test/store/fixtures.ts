/** Small deterministic models and metadata for the store tests. */
import { env } from "cloudflare:workers";
import { wordClassOf, type RnnLm } from "../../src/model/model.ts";
import { SPECIALS, vocabFromJson, type Vocab } from "../../src/model/vocab.ts";
import type { ModelMeta } from "../../src/store/model-codec.ts";

/** The test KV namespace (binding MODELS in wrangler.toml). */
export const kv: KVNamespace = (env as unknown as { MODELS: KVNamespace }).MODELS;

/** mulberry32: a tiny seeded generator, uniform in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, scale: number, next: () => number): Float32Array {
  return Float32Array.from({ length: n }, () => (2 * next() - 1) * scale);
}

/** A random model; with `classes`, the vocabulary is split into that many near-equal classes. */
export function randomModel(opts: {
  vocab: number;
  hidden: number;
  classes?: number;
  seed?: number;
  direct?: { order: number; size: number };
}): RnnLm {
  const { vocab, hidden, classes } = opts;
  const next = rng(opts.seed ?? 1);
  const base = {
    vocab,
    hidden,
    U: randomArray(hidden * vocab, 0.5, next),
    W: randomArray(hidden * hidden, 0.5, next),
    V: randomArray(vocab * hidden, 0.5, next),
    direct: opts.direct && { order: opts.direct.order, D: randomArray(opts.direct.size, 0.5, next) },
  };
  if (classes === undefined) return { ...base, output: { kind: "full" } };
  const classStart = Int32Array.from({ length: classes + 1 }, (_, k) => Math.round((k * vocab) / classes));
  return {
    ...base,
    output: {
      kind: "class",
      classes,
      classStart,
      wordClass: wordClassOf(classStart, vocab),
      C: randomArray(classes * hidden, 0.5, next),
    },
  };
}

export function sampleMeta(overrides: Partial<ModelMeta> = {}): ModelMeta {
  return {
    version: 3,
    vocabHash: "0123456789abcdef",
    createdAt: "2026-01-02T03:04:05.000Z",
    updatedAt: "2026-01-03T03:04:05.000Z",
    tokensLearned: 120,
    learns: 9,
    hyperparameters: { lr: 0.005, bpttTruncate: 4 },
    ...overrides,
  };
}

/** Bytes of an ASCII string followed by raw bytes, for hand-built files. */
export function concatBytes(...parts: Array<string | number[] | Uint8Array>): Uint8Array {
  const chunks = parts.map((p) => (typeof p === "string" ? new TextEncoder().encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  chunks.reduce((at, c) => (out.set(c, at), at + c.length), 0);
  return out;
}

/** 8-byte little-endian length prefix. */
export function u64le(n: number): number[] {
  return Array.from({ length: 8 }, (_, i) => Math.floor(n / 2 ** (8 * i)) % 256);
}

/** A safetensors file from a header given as text and a data section. */
export function rawFile(header: string, data: number[] | Uint8Array = []): Uint8Array {
  return concatBytes(u64le(new TextEncoder().encode(header).length), header, data);
}

/** A vocabulary of the 3 specials and n - 3 made-up words. */
export function testVocab(n: number, prefix = "w"): Vocab {
  return vocabFromJson({
    words: [...SPECIALS, ...Array.from({ length: n - SPECIALS.length }, (_, i) => `${prefix}${i}`)],
  });
}

export interface KvOp {
  op: "get" | "put" | "list" | "delete";
  key: string;
}

/**
 * Wraps a KV namespace and records every operation; `pageSize` makes list() return small pages
 * so cursor handling is exercised.
 */
export function recordingKv(inner: KVNamespace, opts: { pageSize?: number } = {}): { kv: KVNamespace; log: KvOp[] } {
  const log: KvOp[] = [];
  const wrapper = {
    get: (key: string, arg: unknown) => (log.push({ op: "get", key }), inner.get(key, arg as "text")),
    put: (key: string, value: ArrayBuffer | ArrayBufferView | string) => (
      log.push({ op: "put", key }), inner.put(key, value)
    ),
    delete: (key: string) => (log.push({ op: "delete", key }), inner.delete(key)),
    list: (o: KVNamespaceListOptions) => (
      log.push({ op: "list", key: o.prefix ?? "" }), inner.list({ ...o, limit: opts.pageSize ?? o.limit })
    ),
  };
  return { kv: wrapper as unknown as KVNamespace, log };
}
