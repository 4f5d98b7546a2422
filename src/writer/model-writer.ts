import { DurableObject } from "cloudflare:workers";
import { LIMITS, runtimeConfig, UPDATE_GUARDS } from "../config.ts";
import type { Env } from "../env.ts";
import { learnSentence, type LearnOptions } from "../model/lm.ts";
import { predictWords, type TextModel, textModel } from "../model/text-model.ts";
import { encodeSentence, type Vocab } from "../model/vocab.ts";
import { pruneVersions, publishVersion, readManifest, readVocab, weightsKey, type Manifest } from "../store/kv-layout.ts";
import { decodeModel, encodeModel, type ModelMeta } from "../store/model-codec.ts";
import { LearnLog } from "./learn-log.ts";
import type { LearnReply, LearnRequest, PredictReply, PredictRequest, WriterError } from "./protocol.ts";

/** The model as the writer holds it: weights in memory, plus where they came from. */
interface Live {
  id: string;
  tm: TextModel;
  meta: ModelMeta;
  manifest: Manifest;
  /** Published version the in-memory weights started from, and the log seq it contains. */
  version: number;
}

const noModel = (id: string): WriterError => ({
  ok: false,
  status: 503,
  code: "no_model",
  message: `model "${id}" has no weights in KV yet: run \`npm run seed\` (local) or \`npm run seed -- --remote\` (deployed)`,
});

/**
 * The only writer of one model (one object per model id). It keeps the
 * weights in memory and applies learns one at a time; each accepted learn is
 * in the SQLite log before the request is answered. New versions go to KV at
 * most once per PUBLISH_INTERVAL_MS (an alarm), so KV writes stay bounded
 * whatever the learn rate. After a restart it loads the last version it
 * published and replays the log after it, so no acknowledged learn is lost.
 */
export class ModelWriter extends DurableObject<Env> {
  private readonly log: LearnLog;
  private live: Live | null = null;
  /** Publishes run one after another, never interleaved. */
  private publishing: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.log = new LearnLog(ctx.storage.sql);
  }

  async learn(id: string, req: LearnRequest): Promise<LearnReply> {
    const live = await this.load(id);
    if (!live) return noModel(id);
    const entry = {
      ids: Array.from(encodeSentence(req.tokens, live.tm.vocab)),
      lr: req.lr,
      truncate: req.truncate,
      steps: req.steps,
      ...UPDATE_GUARDS,
    };
    const outcome = learnSentence(live.tm.model, entry.ids, entry, live.tm.ws);
    if (outcome.applied < req.steps) {
      // Some step was refused (non-finite). Earlier steps of this learn may have
      // been applied: drop the in-memory weights so the next call reloads the
      // published version and replays the log, which does not hold this learn.
      if (outcome.applied > 0) this.live = null;
      return { ok: false, status: 422, code: "update_refused", message: "the update would make the weights non-finite; the model is unchanged" };
    }
    const seq = this.log.append(req.tokens, entry, outcome.lossBefore, outcome.lossAfter);
    const reply = { ok: true as const, seq, tokens: req.tokens.length, lossBefore: outcome.lossBefore, lossAfter: outcome.lossAfter };
    const { publishIntervalMs } = runtimeConfig(this.env);
    if (publishIntervalMs === 0) {
      await this.publish();
      return { ...reply, model: { id, version: this.publishedVersion(live), published: true } };
    }
    await this.schedulePublish(publishIntervalMs);
    return { ...reply, model: { id, version: this.publishedVersion(live) + 1, published: false } };
  }

  /** Read-your-writes prediction from the in-memory weights. */
  async predict(id: string, req: PredictRequest): Promise<PredictReply> {
    const live = await this.load(id);
    if (!live) return noModel(id);
    const p = predictWords(live.tm, req.tokens, req.k, LIMITS.prefixWindow);
    return { ok: true, ...p, model: { id, version: this.publishedVersion(live), learns: this.log.counters().learns } };
  }

  /** Learns accepted so far and the version that holds the newest one. */
  async status(id: string): Promise<{ learns: number; lastSeq: number; publishedSeq: number; version: number } | WriterError> {
    const live = await this.load(id);
    if (!live) return noModel(id);
    return {
      learns: this.log.counters().learns,
      lastSeq: this.log.lastSeq(),
      publishedSeq: this.log.published()?.seq ?? 0,
      version: this.publishedVersion(live),
    };
  }

  override async alarm(): Promise<void> {
    await this.publish();
  }

  private publishedVersion(live: Live): number {
    return this.log.published()?.version ?? live.version;
  }

  private async schedulePublish(intervalMs: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) !== null) return;
    const last = this.log.published();
    const lastAt = last ? Number((await this.ctx.storage.get<number>("publishedAt")) ?? 0) : 0;
    await this.ctx.storage.setAlarm(Math.max(Date.now(), lastAt + intervalMs));
  }

  /** Publishes the in-memory weights if the log has learns the last version lacks. */
  private publish(): Promise<void> {
    this.publishing = this.publishing.then(async () => {
      const live = this.live;
      if (!live) return;
      const seq = this.log.lastSeq();
      const published = this.log.published();
      if (seq <= (published?.seq ?? 0)) return;
      // Serialise synchronously, so the bytes hold exactly the learns up to `seq`.
      const version = Math.max(this.publishedVersion(live), live.manifest.version) + 1;
      const counters = this.log.counters();
      const now = new Date().toISOString();
      const bytes = encodeModel(live.tm.model, { ...live.meta, version, updatedAt: now, ...counters }, { dtype: "F32" });
      const manifest = await publishVersion(this.env.MODELS, live.id, bytes, {
        version,
        vocabHash: live.meta.vocabHash,
        createdAt: live.manifest.createdAt,
        updatedAt: now,
        ...counters,
      });
      live.manifest = manifest;
      this.log.setPublished({ version, seq });
      await this.ctx.storage.put("publishedAt", Date.now());
      await pruneVersions(this.env.MODELS, live.id, runtimeConfig(this.env).keepVersions);
    });
    return this.publishing;
  }

  /** The live model, loading it (and replaying the log) on first use. */
  private async load(id: string): Promise<Live | null> {
    if (this.live) return this.live;
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.live) return;
      this.live = await this.loadFromKv(id);
    });
    return this.live;
  }

  private async loadFromKv(id: string): Promise<Live | null> {
    const kv = this.env.MODELS;
    const manifest = await readManifest(kv, id);
    if (!manifest) return null;
    const published = this.log.published();
    // Our own last publish, read by its immutable key: a KV manifest read may lag behind it.
    const key = published ? weightsKey(id, published.version) : manifest.weightsKey;
    const bytes = await kv.get(key, "arrayBuffer");
    if (!bytes) throw new Error(`weights ${key} missing from KV`);
    const vocab: Vocab = await readVocab(kv, manifest.vocabHash);
    const { model, meta } = decodeModel(bytes, { vocab: vocab.words.length, vocabHash: manifest.vocabHash });
    this.log.initCounters({ learns: manifest.learns, tokensLearned: manifest.tokensLearned });
    const live: Live = { id, tm: textModel(model, vocab, LIMITS.maxSentenceTokens), meta, manifest, version: published?.version ?? manifest.version };
    for (const e of this.log.since(published?.seq ?? 0)) {
      const opts: LearnOptions = e;
      learnSentence(model, e.ids, opts, live.tm.ws);
    }
    return live;
  }
}
