import { DurableObject } from "cloudflare:workers";
import { budgetSentence } from "../budget/learn-budget.ts";
import { LIMITS, PUBLISH_RETRY, runtimeConfig } from "../config.ts";
import type { Env } from "../env.ts";
import { architectureOf, baseVocab, type RnnLm } from "../model/model.ts";
import { learnWords, notBlocked, suggestWords, type TextModel, withoutNewBlocked } from "../model/text-model.ts";
import {
  KvLayoutError,
  type Manifest,
  readManifest,
  readManifestOrNull,
  readVocab,
  readWeights,
  vocabKey,
  weightsKey,
  weightsPrefix,
  writeManifest,
} from "../store/kv-layout.ts";
import { decodeModel, encodeModel, type ModelMeta } from "../store/model-codec.ts";
import { LearnPolicy } from "../trust/shared-learn.ts";
import { DAMPING_WINDOW } from "../trust/repeat-damper.ts";
import { type Counters, LearnLog, type LearnStep } from "./learn-log.ts";
import { learningModel, replay } from "./replay.ts";
import {
  type CreateReply,
  type ImportReply,
  type LearnReply,
  type LearnRequest,
  noModel,
  type ModelInfo,
  type ModelRef,
  type PinReply,
  type PredictReply,
  type PredictRequest,
  type RollbackReply,
  type StatusReply,
  type WriterError,
  writerError as error,
} from "./protocol.ts";
import { type Identity, type Release, type VersionRow, VersionTable } from "./versions.ts";

/** The weights as the writer holds them. */
interface HeldModel {
  tm: TextModel;
  /** From the weights file; carried into every version published from these weights. */
  hyperparameters: Record<string, number>;
}

/** Why the learns could not be published, after how many attempts, and when the next one is due (null: none). */
interface PublishFailure {
  reason: string;
  attempts: number;
  retryAt: number | null;
}

/** Delay before publish attempt `attempts + 1` after `attempts` failures, or null to stop retrying. */
function publishBackoffMs(intervalMs: number, attempts: number): number | null {
  if (attempts >= PUBLISH_RETRY.attempts) return null;
  return Math.min(PUBLISH_RETRY.maxDelayMs, Math.max(intervalMs, 1000) * 2 ** (attempts - 1));
}

/** What a new version holds (commitVersion). */
type NextVersion =
  /** The in-memory weights with every learn logged so far (a publish). */
  | { kind: "publish" }
  /**
   * Weights the writer holds from now on, with their counters (a rollback or an import); `blob`
   * names a retained version's blob again instead of writing one (a rollback).
   */
  | { kind: "replace"; held: HeldModel; counters: Counters; blob?: VersionRow };

const unavailable = (id: string, e: unknown): WriterError => {
  console.error(JSON.stringify({ event: "writer_failed", id, error: String(e) }));
  return error(503, "model_unavailable", `model "${id}" could not be loaded or written; try again shortly`);
};

function manifestOf(ident: Identity, row: VersionRow, learnLossAvg: number | null = null): Manifest {
  return {
    version: row.version,
    weightsKey: row.weightsKey,
    vocabKey: vocabKey(ident.vocabHash),
    vocabHash: ident.vocabHash,
    bytes: row.bytes,
    createdAt: ident.createdAt,
    updatedAt: row.updatedAt,
    tokensLearned: row.tokensLearned,
    learns: row.learns,
    ...(ident.base && { base: ident.base }),
    ...(learnLossAvg !== null && { learnLossAvg }),
  };
}

/** Why `next` cannot replace `current` (another architecture), or null. */
function architectureMismatch(current: RnnLm, next: RnnLm): string | null {
  const shape = (m: RnnLm) => {
    const a = architectureOf(m);
    const classes = a.output === "class" ? ` of ${a.classes} classes` : "";
    const direct = a.directOrder > 0 ? `, direct order ${a.directOrder} over ${a.directSize} weights` : "";
    return `vocab ${a.vocab}, hidden ${a.hidden}, ${a.output} output${classes}${direct}`;
  };
  return shape(next) === shape(current) ? null : `the weights have ${shape(next)}; the model has ${shape(current)}`;
}

/**
 * The only writer of one model (one object per model id; docs/write-path.md). It keeps the
 * weights in memory and applies learns one at a time; each accepted learn is in the SQLite log
 * before the request is answered. New versions go to KV at most once per PUBLISH_INTERVAL_MS (an
 * alarm), so KV writes stay bounded whatever the learn rate. After a restart it loads its current
 * version by its immutable key and replays the log after it, so no acknowledged learn is lost.
 */
export class ModelWriter extends DurableObject<Env> {
  private readonly log: LearnLog;
  private readonly versions: VersionTable;
  private held: HeldModel | null = null;
  /** Damps repeated content (src/trust); made from the log's tail on first use. */
  private policy: LearnPolicy | null = null;
  /** KV writes (publish, rollback) run one job at a time, so the manifest only moves forward. */
  private queue: Promise<unknown> = Promise.resolve();
  /** When the latest of those jobs started (ms): the publish interval counts from it too. */
  private jobStartedAt = 0;
  private creating = false;
  /**
   * Set while the learns cannot be published: learns and fresh predictions are then refused
   * (saying why) and readers keep the last published version, until a publish succeeds or a
   * rollback or import replaces the weights. Kept in memory: a restarted writer tries again.
   */
  private failure: PublishFailure | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.log = new LearnLog(ctx.storage.sql);
    this.versions = new VersionTable(ctx.storage.sql);
  }

  async learn(id: string, req: LearnRequest): Promise<LearnReply> {
    const failed = (await this.load(id)) ?? this.publishing(id);
    if (failed) return failed;
    // From here to the log append nothing awaits: weights and log change together.
    const held = this.heldModel();
    const budgetMs = runtimeConfig(this.env).learnCpuMs;
    const tokens = withoutNewBlocked(held.tm.vocab, req.tokens, new Set(req.blocked));
    const fit = budgetSentence(held.tm.model, held.tm.vocab, tokens, req, budgetMs);
    if (!fit) {
      return error(
        422,
        "over_budget",
        `not even one word fits the ${budgetMs} ms CPU budget with these options: lower steps or truncate`,
      );
    }
    const policy = (this.policy ??= LearnPolicy.after(this.log.last(DAMPING_WINDOW)));
    const options = policy.options(fit.tokens, req, req.sub);
    // New words take their slots here (learnWords), so the ids are those after admission.
    const { tm, ids, outcome } = learnWords(held.tm, fit.tokens, options);
    if (outcome.applied < req.steps) {
      // A step was refused (non-finite). Earlier steps, or the new words' slots, may have changed
      // the model: drop it, so the next use reloads the current version and replays the log,
      // which does not hold this learn.
      this.held = null;
      return error(422, "update_refused", "the update would make the weights non-finite; the model is unchanged");
    }
    held.tm = tm;
    const step: LearnStep = { ids: Array.from(ids), ...options };
    const seq = this.log.append(fit.tokens, step, req.sub, outcome.lossBefore, outcome.lossAfter);
    policy.applied(fit.tokens, options);
    const { lossBefore, lossAfter } = outcome;
    const budget = { estimateMs: fit.estimateMs, budgetMs, truncated: fit.truncated };
    return {
      ok: true,
      seq,
      tokens: fit.tokens.length,
      lossBefore,
      lossAfter,
      budget,
      model: await this.afterLearn(id, seq),
    };
  }

  /** Read-your-writes prediction from the in-memory weights. */
  async predict(id: string, req: PredictRequest): Promise<PredictReply> {
    const failed = (await this.load(id)) ?? this.publishing(id);
    if (failed) return failed;
    const { tm } = this.heldModel();
    const allowed = notBlocked(tm.vocab, new Set(req.blocked));
    const p = suggestWords(tm, req.tokens, req.partial, req.k, LIMITS.prefixWindow, allowed);
    return { ok: true, ...p, model: { id, version: this.current().version, learns: this.log.counters().learns } };
  }

  async status(id: string): Promise<StatusReply> {
    const failed = await this.load(id);
    if (failed) return failed;
    const cur = this.current();
    return {
      ok: true,
      ...this.log.counters(),
      lastSeq: this.log.lastSeq(),
      version: cur.version,
      publishedSeq: cur.seq,
      versions: this.versions.list(),
    };
  }

  /**
   * Creates this model from `from`'s current published version, copy-on-write: the manifest
   * names the base's blob (pinned at the base's writer) until this model publishes its own.
   */
  async create(id: string, from: string): Promise<CreateReply> {
    const exists = error(409, "model_exists", `model "${id}" already exists`);
    if (this.creating || this.versions.current()) return exists;
    this.creating = true;
    try {
      const kv = this.env.MODELS;
      const found = await readManifest(kv, id).catch((e: unknown) =>
        e instanceof KvLayoutError ? "corrupt" : Promise.reject(e),
      );
      if (found) return exists;
      if (from === id) return error(404, "base_not_found", `base model "${from}" does not exist`);
      const base = await this.writer(from).pinCurrent(from, id);
      if (!base.ok) return base;
      const now = new Date().toISOString();
      const ident: Identity = {
        id,
        vocabHash: base.vocabHash,
        createdAt: now,
        base: { id: from, version: base.version },
      };
      const { weightsKey: key, bytes, learns, tokensLearned } = base;
      const first: VersionRow = {
        version: 1,
        weightsKey: key,
        bytes,
        seq: 0,
        learns,
        tokensLearned,
        updatedAt: now,
        upstream: from,
      };
      await writeManifest(kv, id, manifestOf(ident, first));
      // A learn may have found the manifest (and adopted the same version) while we wrote it.
      if (!this.versions.current()) {
        this.versions.init(ident, first);
        this.log.setCounters({ learns, tokensLearned });
      }
    } catch (e) {
      return unavailable(id, e);
    } finally {
      this.creating = false;
    }
    const failed = await this.load(id);
    return failed ?? { ok: true, model: this.describe(id) };
  }

  /** Restores version `version`'s weights exactly, as a new version naming the same blob. */
  async rollback(id: string, version: number): Promise<RollbackReply> {
    return this.exclusive(async () => {
      const failed = await this.load(id);
      if (failed) return failed;
      const target = this.versions.get(version);
      if (!target) {
        const kept = this.versions.list().join(", ");
        return error(
          404,
          "version_not_found",
          `version ${version} of model "${id}" is not retained (retained: ${kept})`,
        );
      }
      // No learn may interleave: one arriving during the awaits below would be superseded unpublished.
      return this.ctx.blockConcurrencyWhile(async (): Promise<RollbackReply> => {
        try {
          await this.publishPending(id);
          const bytes = await readWeights(this.env.MODELS, target);
          const { vocab, model: held } = this.heldModel().tm;
          const { model, meta } = decodeModel(bytes, { vocab: baseVocab(held), vocabHash: this.identity().vocabHash });
          const restored = { tm: learningModel(model, vocab), hyperparameters: meta.hyperparameters };
          const counters = { learns: target.learns, tokensLearned: target.tokensLearned };
          const row = await this.commitVersion(id, { kind: "replace", held: restored, counters, blob: target });
          return { ok: true as const, restored: version, model: { id, version: row.version, published: true } };
        } catch (e) {
          return unavailable(id, e);
        }
      });
    });
  }

  /**
   * Replaces the weights with an uploaded model file, published at once as a new version (F32,
   * like every publish). The file must decode (safetensors, dtypes, shapes, finite values) and fit
   * this model (vocabulary hash, architecture); anything else is refused and nothing changes. Like
   * a rollback it first publishes the learns still pending (so each lands in the version its answer
   * named), then supersedes them; learns arriving meanwhile wait for it.
   */
  async importWeights(id: string, bytes: Uint8Array): Promise<ImportReply> {
    return this.exclusive(async () => {
      const failed = await this.load(id);
      if (failed) return failed;
      let file: { model: RnnLm; meta: ModelMeta };
      try {
        file = decodeModel(bytes);
      } catch (e) {
        return error(400, "invalid_weights", `not a usable model file: ${e instanceof Error ? e.message : String(e)}`);
      }
      const ident = this.identity();
      const { vocab, model } = this.heldModel().tm;
      if (file.meta.vocabHash !== ident.vocabHash) {
        return error(
          422,
          "vocabulary_mismatch",
          `the weights are for vocabulary ${file.meta.vocabHash}; model "${id}" uses ${ident.vocabHash}`,
        );
      }
      const mismatch = architectureMismatch(model, file.model);
      if (mismatch) return error(422, "shape_mismatch", mismatch);
      const known = file.model.learned?.words.find((w) => (vocab.index.get(w) ?? Infinity) < baseVocab(model));
      if (known !== undefined)
        return error(400, "invalid_weights", `learned word ${JSON.stringify(known)} is already in the base vocabulary`);
      // No learn may interleave: the log, the counters and the weights switch together.
      return this.ctx.blockConcurrencyWhile(async (): Promise<ImportReply> => {
        try {
          await this.publishPending(id);
          const { learns, tokensLearned, hyperparameters } = file.meta;
          const imported = { tm: learningModel(file.model, vocab), hyperparameters };
          const row = await this.commitVersion(id, {
            kind: "replace",
            held: imported,
            counters: { learns, tokensLearned },
          });
          return { ok: true, model: { id, version: row.version, published: true }, learns, tokensLearned };
        } catch (e) {
          return unavailable(id, e);
        }
      });
    });
  }

  /**
   * Called by a model being created from this one: pins the blob of the current version (never
   * deleted while pinned) and describes it.
   */
  async pinCurrent(id: string, child: string): Promise<PinReply> {
    let cur: VersionRow | null;
    try {
      cur = await this.adopt(id);
    } catch (e) {
      return unavailable(id, e);
    }
    if (!cur) return error(404, "base_not_found", `base model "${id}" does not exist`);
    this.versions.pin(cur.weightsKey, child, cur.upstream);
    const { version, weightsKey: key, bytes, learns, tokensLearned } = cur;
    return { ok: true, version, weightsKey: key, bytes, vocabHash: this.identity().vocabHash, learns, tokensLearned };
  }

  /** Called by a child that no longer names `key`. */
  async unpin(id: string, key: string, child: string): Promise<void> {
    const released = this.versions.unpin(key, child);
    if (released) await this.release(id, released);
  }

  override async alarm(): Promise<void> {
    const ident = this.versions.identity();
    if (ident) await this.publish(ident.id);
  }

  /** Publishes now (interval 0) or makes sure an alarm will; says which version will hold `seq`. */
  private async afterLearn(id: string, seq: number): Promise<ModelRef> {
    const { publishIntervalMs } = runtimeConfig(this.env);
    if (publishIntervalMs === 0) {
      await this.publish(id);
      const cur = this.current();
      if (cur.seq >= seq) return { id, version: cur.version, published: true };
    }
    await this.schedulePublish(publishIntervalMs);
    return { id, version: this.versions.nextVersion(), published: false };
  }

  /**
   * An alarm at least `intervalMs` after the last manifest write, unless one is set. A publish
   * in flight counts from its start: its alarm is already spent, and without that the next
   * learn would schedule a second publish right behind it.
   */
  private async schedulePublish(intervalMs: number): Promise<void> {
    // A failing publish keeps its own back-off.
    if (this.failure || (await this.ctx.storage.getAlarm()) !== null) return;
    const last = Math.max(Date.parse(this.current().updatedAt), this.jobStartedAt);
    await this.ctx.storage.setAlarm(Math.max(Date.now(), last + intervalMs));
  }

  /** Publishes (publishNow); a failure is recorded and retried with back-off, never thrown. */
  private publish(id: string): Promise<void> {
    return this.exclusive(async () => {
      try {
        await this.publishNow(id);
      } catch (e) {
        await this.publishFailed(id, e);
        return;
      }
      if (this.failure)
        console.log(JSON.stringify({ event: "publish_recovered", id, attempts: this.failure.attempts }));
      this.failure = null;
    });
  }

  /**
   * Records a failed publish: logs its cause once (again only if the cause changes) and sets the
   * next attempt's alarm with exponential back-off, or none after PUBLISH_RETRY.attempts failures.
   */
  private async publishFailed(id: string, e: unknown): Promise<void> {
    const reason = e instanceof Error ? e.message : String(e);
    const attempts = (this.failure?.attempts ?? 0) + 1;
    const delay = publishBackoffMs(runtimeConfig(this.env).publishIntervalMs, attempts);
    if (this.failure?.reason !== reason) console.error(JSON.stringify({ event: "publish_failed", id, error: reason }));
    if (delay === null) console.error(JSON.stringify({ event: "publish_abandoned", id, attempts, error: reason }));
    const retryAt = delay === null ? null : Date.now() + delay;
    this.failure = { reason, attempts, retryAt };
    if (retryAt !== null) await this.ctx.storage.setAlarm(retryAt);
  }

  /** While the learns cannot be published: why, as the answer to a learn or a fresh prediction. */
  private publishing(id: string): WriterError | null {
    const f = this.failure;
    if (!f) return null;
    const wait = f.retryAt === null ? null : Math.max(1, Math.ceil((f.retryAt - Date.now()) / 1000));
    const next = wait === null ? `it stopped retrying after ${f.attempts} attempts` : `next attempt in ${wait} s`;
    return {
      ...error(
        503,
        "publish_failed",
        `model "${id}" cannot publish its learns (${f.reason}; ${next}); readers get version ${this.current().version}. ` +
          `Roll back (POST /models/${id}/rollback) or import weights (PUT /models/${id}/model/weights) to recover`,
      ),
      ...(wait !== null && { retryAfterS: wait }),
    };
  }

  /**
   * Before a rollback or import: the learns acknowledged so far go out in the version their
   * answers named. If they cannot be published, the replacement supersedes them (they stay in
   * the log, never replayed): a model that cannot publish is recovered this way.
   */
  private async publishPending(id: string): Promise<void> {
    if (this.failure) return;
    try {
      await this.publishNow(id);
    } catch (e) {
      await this.publishFailed(id, e);
    }
  }

  /** Publishes the in-memory weights if the log has learns the current version lacks. */
  private async publishNow(id: string): Promise<void> {
    const failed = await this.load(id);
    if (failed) throw new Error(failed.message);
    if (this.log.lastSeq() > this.current().seq) await this.commitVersion(id, { kind: "publish" });
  }

  /**
   * The one way a version is made (publish, rollback, import): reserve its number, encode and
   * write its blob (unless it names a retained one), write the manifest, record the version, prune.
   */
  private async commitVersion(id: string, next: NextVersion): Promise<VersionRow> {
    const floor = await this.versionFloor(id);
    // From here to encodeModel nothing awaits, so a published file holds exactly the learns up to `seq`.
    const ident = this.identity();
    const held = next.kind === "publish" ? this.heldModel() : next.held;
    const counters = next.kind === "publish" ? this.log.counters() : next.counters;
    const seq = this.log.lastSeq();
    const version = Math.max(this.versions.nextVersion(), floor);
    const updatedAt = new Date().toISOString();
    const reused = next.kind === "replace" ? next.blob : undefined;
    const meta = {
      version,
      vocabHash: ident.vocabHash,
      createdAt: ident.createdAt,
      updatedAt,
      ...counters,
      hyperparameters: held.hyperparameters,
    };
    const file = reused ? null : encodeModel(held.tm.model, meta, { dtype: "F32" });
    // Taken once the file is encoded (nothing awaited since): a model that cannot be encoded burns no number.
    this.versions.reserve(floor);
    const {
      weightsKey: key,
      bytes,
      upstream,
    } = reused ?? { weightsKey: weightsKey(id, version), bytes: file?.byteLength ?? 0, upstream: null };
    // Blob, then manifest, then our record: a crash in between replays to the same weights and
    // burns the reserved number (the orphaned blob is never named, so never served).
    if (file) await this.env.MODELS.put(key, file);
    const row: VersionRow = { version, weightsKey: key, bytes, upstream, seq, ...counters, updatedAt };
    // A replacement's weights are not those the learn-loss average was measured on.
    await writeManifest(
      this.env.MODELS,
      id,
      manifestOf(ident, row, next.kind === "publish" ? this.log.lossAvg() : null),
    );
    if (next.kind === "replace") {
      // The switch: weights, replay point and counters change together, nothing awaited in between.
      // Learns logged so far (published first by the caller) are superseded: a restart replays only
      // entries after this seq, on top of these weights. Weights that could not be published are gone.
      this.held = next.held;
      this.log.setCounters(counters);
      this.failure = null;
    }
    this.versions.add(row);
    await this.prune(id);
    return row;
  }

  /**
   * Lowest number the next version may take: above the manifest in KV, in case something other
   * than this writer (the seed script) published since.
   */
  private async versionFloor(id: string): Promise<number> {
    const m = await readManifestOrNull(this.env.MODELS, id);
    return m ? m.version + 1 : 0;
  }

  private async prune(id: string): Promise<void> {
    for (const r of this.versions.prune(runtimeConfig(this.env).keepVersions)) await this.release(id, r);
  }

  /** Deletes an own blob, or hands a borrowed one back to its lender. A failure leaks the blob, never breaks a reader. */
  private async release(id: string, r: Release): Promise<void> {
    try {
      if (r.weightsKey.startsWith(weightsPrefix(id))) await this.env.MODELS.delete(r.weightsKey);
      else if (r.upstream !== null) await this.writer(r.upstream).unpin(r.upstream, r.weightsKey, id);
    } catch (e) {
      console.error(JSON.stringify({ event: "release_failed", id, key: r.weightsKey, error: String(e) }));
    }
  }

  /** Ensures the weights are in memory (loading and replaying on first use); an error if they cannot be. */
  private async load(id: string): Promise<WriterError | null> {
    if (this.held) return null;
    let failure: WriterError | null = null;
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.held) return;
      try {
        this.held = await this.open(id);
        if (!this.held) failure = noModel(id);
      } catch (e) {
        failure = unavailable(id, e);
      }
    });
    return failure;
  }

  /** Loads the current version by its immutable key and replays the log after it. */
  private async open(id: string): Promise<HeldModel | null> {
    const cur = await this.adopt(id);
    if (!cur) return null;
    const { vocabHash } = this.identity();
    const kv = this.env.MODELS;
    const [bytes, vocab] = await Promise.all([readWeights(kv, cur), readVocab(kv, vocabHash)]);
    const { model, meta } = decodeModel(bytes, { vocab: vocab.words.length, vocabHash });
    let tm = learningModel(model, vocab);
    const pending = this.log.since(cur.seq);
    for (const e of pending) tm = replay(tm, e);
    // A learn may have been logged just before a crash that kept it from setting its alarm.
    if (pending.length > 0) await this.schedulePublish(runtimeConfig(this.env).publishIntervalMs);
    return { tm, hyperparameters: meta.hyperparameters };
  }

  /** The current version; on first use, takes over the one the model's KV manifest names (seeded or created). */
  private async adopt(id: string): Promise<VersionRow | null> {
    const known = this.versions.current();
    if (known) return known;
    const m = await readManifest(this.env.MODELS, id);
    if (!m) return null;
    // Another call may have adopted while we read.
    const raced = this.versions.current();
    if (raced) return raced;
    const own = m.weightsKey.startsWith(weightsPrefix(id));
    this.log.setCounters({ learns: m.learns, tokensLearned: m.tokensLearned });
    const { version, weightsKey: key, bytes, learns, tokensLearned, updatedAt } = m;
    return this.versions.init(
      { id, vocabHash: m.vocabHash, createdAt: m.createdAt, ...(m.base && { base: m.base }) },
      {
        version,
        weightsKey: key,
        bytes,
        seq: 0,
        learns,
        tokensLearned,
        updatedAt,
        upstream: own ? null : (m.base?.id ?? null),
      },
    );
  }

  private describe(id: string): ModelInfo {
    const { tm, hyperparameters } = this.heldModel();
    const { model } = tm;
    const cur = this.current();
    const ident = this.identity();
    return {
      id,
      version: cur.version,
      ...(ident.base && { base: ident.base }),
      ...architectureOf(model),
      hyperparameters,
      vocabHash: ident.vocabHash,
      bytes: cur.bytes,
      learns: cur.learns,
      tokensLearned: cur.tokensLearned,
      createdAt: ident.createdAt,
      updatedAt: cur.updatedAt,
    };
  }

  /** Runs KV-writing jobs one after another; a failed job does not stop the next. */
  private exclusive<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      this.jobStartedAt = Date.now();
      return job();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private writer(id: string): DurableObjectStub<ModelWriter> {
    return this.env.WRITER.get(this.env.WRITER.idFromName(id));
  }

  // Invariants after a successful load: weights in memory, an identity and a current version.
  private heldModel(): HeldModel {
    if (!this.held) throw new Error("writer used before load");
    return this.held;
  }

  private identity(): Identity {
    const ident = this.versions.identity();
    if (!ident) throw new Error("writer has no identity");
    return ident;
  }

  private current(): VersionRow {
    const cur = this.versions.current();
    if (!cur) throw new Error("writer has no version");
    return cur;
  }
}
