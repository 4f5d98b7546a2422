/**
 * Per-isolate model cache. Each load reads the small manifest (at most once per manifestTtlMs
 * per model id) and fetches and parses the weights and vocabulary only when the manifest names
 * a different version, so a warm /predict costs one small KV read or none.
 *
 * Memory: an entry holds one parsed model: its weights (the shipped model with its 1,024 word
 * slots, 16 MiB as F32) and its phrase memory (at most about 4 MiB: its sentences and their index).
 * footprintBytes (src/model/model.ts) counts both. Least recently used models are evicted first,
 * past maxModels ids or past maxBytes, so that the cache stays well inside the isolate's 128 MB;
 * the model just loaded is always kept.
 *
 * Freshness: a published version becomes visible here after KV propagation (up to ~60 s in other
 * locations) plus at most manifestTtlMs.
 */

import { footprintBytes, type RnnLm } from "../model/model.ts";
import type { Vocab } from "../model/vocab.ts";
import { DEFAULT_MODEL_ID, readManifest, readVocab, readWeights, type Manifest } from "./kv-layout.ts";
import { decodeModel, type ModelMeta } from "./model-codec.ts";

export interface LoadedModel {
  model: RnnLm;
  vocab: Vocab;
  /** What the weights file says about itself (hyperparameters, counters at publish time). */
  meta: ModelMeta;
  /** The manifest this model was loaded for (its version is the one clients see). */
  manifest: Manifest;
}

/**
 * "missing" means the model has no manifest (answer 503, seed it). Any other failure (corrupt
 * manifest, missing or invalid blob, KV error) rejects the promise.
 */
export type LoadResult = ({ status: "ready" } & LoadedModel) | { status: "missing"; id: string };

/** Counters for observing the cache from tests and diagnostics. */
export interface CacheStats {
  loads: number;
  /** Loads answered without reading the manifest (within manifestTtlMs). */
  ttlHits: number;
  manifestReads: number;
  /** Loads whose manifest named the cached version. */
  versionHits: number;
  weightsReads: number;
  vocabReads: number;
  parses: number;
  evictions: number;
}

export interface ModelCacheOptions {
  /** Most model ids kept parsed at once (default 4). */
  maxModels?: number;
  /** Most bytes of parsed models kept, by footprintBytes (default 64 MiB); the latest load is kept whatever its size. */
  maxBytes?: number;
  /** How long a manifest read is trusted before reading it again (default 1000 ms; 0 = every load). */
  manifestTtlMs?: number;
  /** Clock in ms, injectable for tests (default Date.now). */
  now?: () => number;
}

interface Entry {
  manifest: Manifest;
  /** When the manifest was last read. */
  checkedAt: number;
  value: Promise<LoadedModel>;
  /** The model once parsed. */
  loaded?: LoadedModel;
}

/** What an entry holds: its model's footprintBytes once parsed, nothing before. */
const entryBytes = (e: Entry) => (e.loaded ? footprintBytes(e.loaded.model) : 0);

function sameVersion(a: Manifest, b: Manifest): boolean {
  return a.version === b.version && a.weightsKey === b.weightsKey && a.vocabHash === b.vocabHash;
}

export class ModelCache {
  readonly stats: CacheStats = {
    loads: 0,
    ttlHits: 0,
    manifestReads: 0,
    versionHits: 0,
    weightsReads: 0,
    vocabReads: 0,
    parses: 0,
    evictions: 0,
  };
  private readonly maxModels: number;
  private readonly maxBytes: number;
  private readonly manifestTtlMs: number;
  private readonly now: () => number;
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();

  constructor(opts: ModelCacheOptions = {}) {
    this.maxModels = Math.max(1, opts.maxModels ?? 4);
    this.maxBytes = opts.maxBytes ?? 64 * 2 ** 20;
    this.manifestTtlMs = opts.manifestTtlMs ?? 1000;
    this.now = opts.now ?? Date.now;
  }

  async load(kv: KVNamespace, id: string = DEFAULT_MODEL_ID): Promise<LoadResult> {
    this.stats.loads++;
    const now = this.now();
    const fresh = this.entries.get(id);
    if (fresh && now - fresh.checkedAt < this.manifestTtlMs) {
      this.stats.ttlHits++;
      return this.settle(id, fresh);
    }

    this.stats.manifestReads++;
    const manifest = await readManifest(kv, id);
    if (manifest === null) {
      this.entries.delete(id);
      return { status: "missing", id };
    }
    // Look again: another load may have installed this version while we awaited the manifest.
    const cached = this.entries.get(id);
    if (cached && sameVersion(cached.manifest, manifest)) {
      this.stats.versionHits++;
      cached.checkedAt = now;
      return this.settle(id, cached);
    }
    const entry: Entry = { manifest, checkedAt: now, value: this.fetch(kv, manifest) };
    this.entries.delete(id);
    this.entries.set(id, entry);
    this.evict(id);
    // Once parsed, the entry's size is known: evict for it. A failure is settle()'s to report.
    entry.value.then(
      (loaded) => {
        entry.loaded = loaded;
        if (this.entries.get(id) === entry) this.evict(id);
      },
      () => {},
    );
    return this.settle(id, entry);
  }

  /**
   * Evicts the least recently used entries other than `keep` while over maxModels or maxBytes. A
   * model still loading holds no bytes yet, so only the count limit evicts it.
   */
  private evict(keep: string): void {
    let bytes = 0;
    for (const e of this.entries.values()) bytes += entryBytes(e);
    for (const [id, e] of this.entries) {
      const overCount = this.entries.size > this.maxModels;
      if (!overCount && bytes <= this.maxBytes) break;
      if (id === keep || (!overCount && e.loaded === undefined)) continue;
      this.entries.delete(id);
      bytes -= entryBytes(e);
      this.stats.evictions++;
    }
  }

  /** Drops every cached model (tests, or after an operator-side rollback). */
  clear(): void {
    this.entries.clear();
  }

  /** Marks the entry most recently used and awaits it; a failed load is forgotten so the next one retries. */
  private async settle(id: string, entry: Entry): Promise<LoadResult> {
    if (this.entries.get(id) === entry) {
      this.entries.delete(id);
      this.entries.set(id, entry);
    }
    try {
      return { status: "ready", ...(await entry.value) };
    } catch (e) {
      if (this.entries.get(id) === entry) this.entries.delete(id);
      throw e;
    }
  }

  private async fetch(kv: KVNamespace, manifest: Manifest): Promise<LoadedModel> {
    const [vocab, bytes] = await Promise.all([this.vocabFor(kv, manifest.vocabHash), this.weights(kv, manifest)]);
    this.stats.parses++;
    const { model, meta } = decodeModel(bytes, { vocab: vocab.words.length, vocabHash: manifest.vocabHash });
    return { model, vocab, meta, manifest };
  }

  private weights(kv: KVNamespace, manifest: Manifest): Promise<ArrayBuffer> {
    this.stats.weightsReads++;
    return readWeights(kv, manifest);
  }

  /**
   * Reuses the vocabulary of any loaded model with the same hash (versions rarely change it); one
   * still loading is not waited for, so a load never waits on another model's weights.
   */
  private async vocabFor(kv: KVNamespace, hash: string): Promise<Vocab> {
    for (const e of this.entries.values()) if (e.loaded && e.manifest.vocabHash === hash) return e.loaded.vocab;
    this.stats.vocabReads++;
    return readVocab(kv, hash);
  }
}

/** The isolate-wide cache used by the Worker. */
export const isolateCache = new ModelCache();

/** Loads a model through the isolate-wide cache. */
export function loadModel(kv: KVNamespace, id: string = DEFAULT_MODEL_ID): Promise<LoadResult> {
  return isolateCache.load(kv, id);
}
