import { DurableObject } from "cloudflare:workers";
import { LIMITS, PERSONAL_LEARN } from "../config.ts";
import type { Env } from "../env.ts";
import type { RnnLm } from "../model/model.ts";
import { DELTA_BITS, emptyLayer, personalBase } from "../model/personal.ts";
import { asTextModel, learnPersonalWords, type PersonalText, personalText } from "../model/personal-text.ts";
import { notBlocked, suggestWords, type TextModel, textModel } from "../model/text-model.ts";
import { WORD_SLOTS } from "../model/word-slots.ts";
import {
  decodeUserData,
  encodeUserData,
  type LayerRecord,
  type SharedShape,
  userFileModels,
} from "../store/layer-codec.ts";
import { type LoadedModel, loadModel } from "../store/model-cache.ts";
import { ModelFormatError } from "../store/model-codec.ts";
import { noModel, type PredictRequest, type WriterError, writerError as error } from "./protocol.ts";

/**
 * One user's personal layers, one per shared model they learned into (docs/personal.md): the
 * only writer of that user's data, and the reader that serves their predictions, so a user sees
 * each of their acknowledged learns at once. Storage (SQLite, this object's only):
 *
 *   layers   (model, snapshot, seq, counters, dates): the layer file (store/layer-codec.ts) as of
 *            log entry `seq`; written every CHECKPOINT_LEARNS learns, on forget and on import
 *   user_log (seq, model, at, tokens, shared version): each learn since its model's snapshot,
 *            appended before the learn is acknowledged; entries a snapshot holds are deleted
 *
 * After a restart a layer is its snapshot plus its log entries replayed over the shared model's
 * current version. The shared model is read through the isolate's cache, as /predict reads it,
 * and its personal base (personalBase) is made once per shared version and isolate.
 */

/** Layers a user may have: with one, a user's stored bytes stay under the one layer's cap (docs/personal.md). */
export const MAX_USER_LAYERS = 1;

/** Learns between two snapshots of a layer: the log a restart replays stays this short. */
export const CHECKPOINT_LEARNS = 32;

export interface UserLayerInfo {
  model: string;
  bytes: number;
  learns: number;
  tokens: number;
  learnedWords: number;
  forgottenWords: number;
  createdAt: string;
  updatedAt: string;
}

export interface UserInfo {
  id: string;
  /** Bytes of this user's stored data: layer snapshots and log entries. */
  bytes: number;
  /** Size of the user's SQLite database, pages and schema included. */
  storageBytes: number;
  learns: number;
  tokens: number;
  learnedWords: number;
  createdAt: string | null;
  updatedAt: string | null;
  layers: UserLayerInfo[];
}

export type UserReply<T> = ({ ok: true } & T) | WriterError;

export interface PersonalPrediction {
  prefix: string[];
  predictions: { word: string; text: string; p: number }[];
  model: { id: string; version: number };
  user: { id: string; learns: number };
}

export interface PersonalLearn {
  tokens: number;
  lossBefore: number;
  model: { id: string; version: number };
  user: { id: string; learns: number };
}

type Row = Record<string, SqlStorageValue>;

/** A layer in memory, over the shared version it was last used with. */
interface HeldLayer {
  record: LayerRecord;
  shared: LoadedModel;
  pt: PersonalText;
  /** Log seq the stored snapshot holds. */
  seq: number;
}

// Per isolate: the personal base of each shared model version (personal.ts), shared by every user's
// layer, and the shared model's own buffers for the users without a layer.
const bases = new WeakMap<RnnLm, RnnLm>();
const sharedTexts = new WeakMap<RnnLm, TextModel>();

function sharedText(shared: LoadedModel): TextModel {
  let tm = sharedTexts.get(shared.model);
  if (!tm) sharedTexts.set(shared.model, (tm = textModel(shared.model, shared.vocab, LIMITS.maxSentenceTokens)));
  return tm;
}

function baseOf(shared: LoadedModel): RnnLm {
  let b = bases.get(shared.model);
  if (!b) bases.set(shared.model, (b = personalBase(shared.model, WORD_SLOTS)));
  return b;
}

/** The shared model's shape a layer over it must have. */
function shapeOf(shared: LoadedModel): SharedShape {
  return { base: baseOf(shared).vocab, vocabHash: shared.manifest.vocabHash };
}

export class UserStore extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly held = new Map<string, HeldLayer>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
  }

  private tables(): void {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS layers (
      model TEXT PRIMARY KEY, snapshot BLOB, seq INTEGER NOT NULL, learns INTEGER NOT NULL, tokens INTEGER NOT NULL,
      created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS user_log (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, model TEXT NOT NULL, at TEXT NOT NULL, tokens TEXT NOT NULL, shared_version INTEGER NOT NULL)`);
  }

  /** The shared model `model` as the isolate holds it now, or an error to answer. */
  private async shared(model: string): Promise<LoadedModel | WriterError> {
    try {
      const r = await loadModel(this.env.MODELS, model);
      return r.status === "ready" ? r : noModel(model, 404);
    } catch (e) {
      console.error(JSON.stringify({ event: "user_store_load_failed", model, error: String(e) }));
      return error(503, "model_unavailable", `model "${model}" could not be loaded; try again shortly`);
    }
  }

  /**
   * The user's layer over `model`, loaded (snapshot, then the log replayed) and moved onto the
   * shared model's current version; null when the user never learned into it.
   */
  private async layer(model: string): Promise<HeldLayer | null | WriterError> {
    const shared = await this.shared(model);
    if ("ok" in shared) return shared;
    this.tables();
    let held = this.held.get(model);
    if (!held) {
      const row = this.sql.exec<Row>("SELECT * FROM layers WHERE model = ?", model).toArray()[0];
      if (!row) return null;
      const restored = this.restore(model, row, shared);
      if ("ok" in restored) return restored;
      this.held.set(model, (held = restored));
    }
    if (held.shared.model !== shared.model) {
      // A new shared version (publish, rollback, import): the layer applies unchanged over it.
      if (shared.manifest.vocabHash !== held.record.vocabHash) return incompatible(model);
      held.shared = shared;
      held.pt = personalText(baseOf(shared), shared.vocab, held.record.layer, LIMITS.maxSentenceTokens);
    }
    return held;
  }

  private restore(model: string, row: Row, shared: LoadedModel): HeldLayer | WriterError {
    const shape = shapeOf(shared);
    let record: LayerRecord;
    if (row.snapshot instanceof ArrayBuffer) {
      const stored = decodeUserData(new Uint8Array(row.snapshot), (m) => (m === model ? shape : null)).get(model);
      if (!stored) return incompatible(model);
      record = stored;
    } else {
      record = newRecord(shape, String(row.created_at));
    }
    if (record.vocabHash !== shared.manifest.vocabHash) return incompatible(model);
    Object.assign(record, {
      learns: Number(row.learns),
      tokens: Number(row.tokens),
      updatedAt: String(row.updated_at),
    });
    const pt = personalText(baseOf(shared), shared.vocab, record.layer, LIMITS.maxSentenceTokens);
    const seq = Number(row.seq);
    for (const e of this.sql.exec<Row>(
      "SELECT tokens FROM user_log WHERE model = ? AND seq > ? ORDER BY seq",
      model,
      seq,
    )) {
      learnPersonalWords(pt, JSON.parse(String(e.tokens)) as string[], PERSONAL_LEARN);
    }
    return { record, shared, pt, seq };
  }

  async learn(user: string, model: string, tokens: string[]): Promise<UserReply<PersonalLearn>> {
    let held = await this.layer(model);
    if (held !== null && "ok" in held) return held;
    const now = new Date().toISOString();
    if (held === null) {
      const shared = await this.shared(model);
      if ("ok" in shared) return shared;
      const layers = this.sql.exec<Row>("SELECT model FROM layers").toArray();
      if (layers.length >= MAX_USER_LAYERS) {
        return error(
          409,
          "layer_limit",
          `user "${user}" has a layer over model "${String(layers[0].model)}" already (at most ${MAX_USER_LAYERS}); DELETE the user to start over`,
        );
      }
      const record = newRecord(shapeOf(shared), now);
      held = {
        record,
        shared,
        pt: personalText(baseOf(shared), shared.vocab, record.layer, LIMITS.maxSentenceTokens),
        seq: 0,
      };
      this.sql.exec(
        "INSERT INTO layers (model, snapshot, seq, learns, tokens, created_at, updated_at) VALUES (?, NULL, 0, 0, 0, ?, ?)",
        model,
        now,
        now,
      );
      this.held.set(model, held);
    }
    // From here to the log append nothing awaits: the layer and its log change together.
    const { outcome } = learnPersonalWords(held.pt, tokens, PERSONAL_LEARN);
    if (!outcome.applied) {
      this.held.delete(model); // the own words may have changed: reload from storage next time
      return error(422, "not_finite", "this learn would make the layer non-finite; it was not applied");
    }
    const { record } = held;
    record.learns++;
    record.tokens += tokens.length;
    record.updatedAt = now;
    const version = held.shared.manifest.version;
    const seq = this.sql
      .exec<{ seq: number }>(
        "INSERT INTO user_log (model, at, tokens, shared_version) VALUES (?, ?, ?, ?) RETURNING seq",
        model,
        now,
        JSON.stringify(tokens),
        version,
      )
      .one().seq;
    this.sql.exec(
      "UPDATE layers SET learns = ?, tokens = ?, updated_at = ? WHERE model = ?",
      record.learns,
      record.tokens,
      now,
      model,
    );
    if (
      (this.sql.exec<Row>("SELECT count(*) AS n FROM user_log WHERE model = ?", model).one().n as number) >=
      CHECKPOINT_LEARNS
    )
      this.checkpoint(model, held, seq);
    return {
      ok: true,
      tokens: tokens.length,
      lossBefore: outcome.lossBefore,
      model: { id: model, version },
      user: { id: user, learns: record.learns },
    };
  }

  /** Stores the layer as of log entry `seq` and drops the log entries it holds. */
  private checkpoint(model: string, held: HeldLayer, seq: number): void {
    const bytes = encodeUserData(new Map([[model, held.record]]));
    this.sql.exec("UPDATE layers SET snapshot = ?, seq = ? WHERE model = ?", bytes, seq, model);
    this.sql.exec("DELETE FROM user_log WHERE model = ? AND seq <= ?", model, seq);
    held.seq = seq;
  }

  private lastSeq(): number {
    return Number(this.sql.exec<Row>("SELECT coalesce(max(seq), 0) AS s FROM user_log").one().s);
  }

  async predict(user: string, model: string, req: PredictRequest): Promise<UserReply<PersonalPrediction>> {
    const { tokens, k, partial } = req;
    const blockedWords = new Set(req.blocked);
    const held = await this.layer(model);
    if (held !== null && "ok" in held) return held;
    const shared = held?.shared ?? (await this.shared(model));
    if ("ok" in shared) return shared;
    const version = shared.manifest.version;
    if (held === null) {
      // No layer: exactly the shared model's predictions.
      const tm = sharedText(shared);
      const allowed = notBlocked(tm.vocab, blockedWords);
      const p = suggestWords(tm, tokens, partial, k, LIMITS.prefixWindow, allowed);
      return { ok: true, ...p, model: { id: model, version }, user: { id: user, learns: 0 } };
    }
    const { pt, record } = held;
    // Never suggested: the deployment's blocklist and the words this user asked to forget.
    const tm = asTextModel(pt);
    const p = suggestWords(
      tm,
      tokens,
      partial,
      k,
      LIMITS.prefixWindow,
      notBlocked(tm.vocab, new Set([...blockedWords, ...record.forgotten])),
    );
    return { ok: true, ...p, model: { id: model, version }, user: { id: user, learns: record.learns } };
  }

  async info(user: string): Promise<UserReply<UserInfo>> {
    this.tables();
    const layers: UserLayerInfo[] = [];
    for (const row of this.sql.exec<Row>(
      "SELECT model, learns, tokens, created_at, updated_at, coalesce(length(snapshot), 0) AS bytes FROM layers ORDER BY model",
    )) {
      const model = String(row.model);
      const logged = this.sql
        .exec<Row>(
          "SELECT coalesce(sum(length(tokens) + length(at) + 16), 0) AS b FROM user_log WHERE model = ?",
          model,
        )
        .one();
      const held = await this.layer(model);
      const record = held !== null && !("ok" in held) ? held.record : null;
      layers.push({
        model,
        bytes: Number(row.bytes) + Number(logged.b),
        learns: Number(row.learns),
        tokens: Number(row.tokens),
        learnedWords: record?.layer.learned.words.length ?? 0,
        forgottenWords: record?.forgotten.length ?? 0,
        createdAt: String(row.created_at),
        updatedAt: String(row.updated_at),
      });
    }
    const sum = (f: (l: UserLayerInfo) => number) => layers.reduce((n, l) => n + f(l), 0);
    const dates = (f: (l: UserLayerInfo) => string) => layers.map(f).sort();
    return {
      ok: true,
      id: user,
      bytes: sum((l) => l.bytes),
      storageBytes: this.sql.databaseSize,
      learns: sum((l) => l.learns),
      tokens: sum((l) => l.tokens),
      learnedWords: sum((l) => l.learnedWords),
      createdAt: dates((l) => l.createdAt)[0] ?? null,
      updatedAt: dates((l) => l.updatedAt).at(-1) ?? null,
      layers,
    };
  }

  /** Erases everything this user stored: every layer, snapshot and log entry. */
  async erase(): Promise<UserReply<{ erased: boolean }>> {
    this.tables();
    const had = this.sql.exec<Row>("SELECT count(*) AS n FROM layers").one().n as number;
    this.held.clear();
    await this.ctx.storage.deleteAll();
    return { ok: true, erased: had > 0 };
  }

  /** The word is never suggested from the user's layers again, and its remembered phrases go. */
  async forget(word: string): Promise<UserReply<{ layers: number }>> {
    this.tables();
    const models = this.sql
      .exec<Row>("SELECT model FROM layers")
      .toArray()
      .map((r) => String(r.model));
    let changed = 0;
    for (const model of models) {
      const held = await this.layer(model);
      if (held === null) continue;
      if ("ok" in held) return held;
      const { record, pt } = held;
      const id = pt.vocab.index.get(word);
      if (id !== undefined) record.layer.memory.forget(id);
      if (!record.forgotten.includes(word)) record.forgotten.push(word);
      record.updatedAt = new Date().toISOString();
      this.sql.exec("UPDATE layers SET updated_at = ? WHERE model = ?", record.updatedAt, model);
      // The log cannot replay a forget: the snapshot takes it in now.
      this.checkpoint(model, held, this.lastSeq());
      changed++;
    }
    return { ok: true, layers: changed };
  }

  async exportData(): Promise<UserReply<{ bytes: Uint8Array }>> {
    this.tables();
    const records = new Map<string, LayerRecord>();
    for (const row of this.sql.exec<Row>("SELECT model FROM layers ORDER BY model").toArray()) {
      const model = String(row.model);
      const held = await this.layer(model);
      if (held === null) continue;
      if ("ok" in held) return held;
      records.set(model, held.record);
    }
    return { ok: true, bytes: encodeUserData(records) };
  }

  /** Replaces all of this user's data with a user file's (validated first: on any error nothing changes). */
  async importData(bytes: Uint8Array): Promise<UserReply<{ layers: number }>> {
    const shapes = new Map<string, SharedShape>();
    let names: string[];
    try {
      names = userFileModels(bytes);
    } catch (e) {
      return refused(e);
    }
    for (const model of names) {
      const shared = await this.shared(model);
      if ("ok" in shared)
        return shared.status === 404
          ? error(422, "invalid_user_file", `layer ${JSON.stringify(model)}: there is no such model`)
          : shared;
      shapes.set(model, shapeOf(shared));
    }
    let records: Map<string, LayerRecord>;
    try {
      records = decodeUserData(bytes, (m) => shapes.get(m) ?? null);
    } catch (e) {
      return refused(e);
    }
    if (records.size > MAX_USER_LAYERS)
      return error(422, "invalid_user_file", `a user has at most ${MAX_USER_LAYERS} layer`);
    this.tables();
    this.held.clear();
    this.sql.exec("DELETE FROM user_log");
    this.sql.exec("DELETE FROM layers");
    for (const [model, r] of records) {
      this.sql.exec(
        "INSERT INTO layers (model, snapshot, seq, learns, tokens, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, ?)",
        model,
        encodeUserData(new Map([[model, r]])),
        r.learns,
        r.tokens,
        r.createdAt,
        r.updatedAt,
      );
    }
    return { ok: true, layers: records.size };
  }
}

function newRecord(shape: SharedShape, now: string): LayerRecord {
  return {
    vocabHash: shape.vocabHash,
    layer: emptyLayer(shape.base, WORD_SLOTS, DELTA_BITS),
    forgotten: [],
    learns: 0,
    tokens: 0,
    createdAt: now,
    updatedAt: now,
  };
}

function incompatible(model: string): WriterError {
  return error(
    409,
    "layer_incompatible",
    `this user's layer over model "${model}" was learned over another vocabulary; DELETE the user or import a layer for the current one`,
  );
}

function refused(e: unknown): WriterError {
  if (e instanceof ModelFormatError) return error(422, "invalid_user_file", e.message);
  throw e;
}
