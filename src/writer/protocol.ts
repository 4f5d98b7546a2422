/** What the Worker and the writer Durable Objects say to each other over RPC. */

import type { Architecture } from "../model/model.ts";
import type { VersionRef } from "../store/kv-layout.ts";

/** A refusal from a writer or a user's store; the Worker answers it as the API error it names. */
export function writerError(status: WriterError["status"], code: string, message: string): WriterError {
  return { ok: false, status, code, message };
}

/** Why a model cannot serve yet, and how to fix it: one refusal for the Worker, the writer and the user stores. */
export function noModel(id: string, status: WriterError["status"] = 503): WriterError {
  const fix = "run `npm run seed` (local) or `npm run seed -- --remote` (deployed)";
  return writerError(status, "no_model", `model "${id}" has no weights in KV yet: ${fix}`);
}

export interface LearnRequest {
  tokens: string[];
  /** Who teaches (src/trust/subject.ts): a user id, or "admin" for the LEARN_TOKEN. */
  sub: string;
  /** The deployment's blocklist: its words never take a learned-word slot. */
  blocked?: string[];
  lr: number;
  truncate: number;
  steps: number;
}

export interface PredictRequest {
  tokens: string[];
  k: number;
  /** The characters typed of the current word: complete it (src/model/completion.ts). */
  partial?: string;
  /** Words never suggested: the deployment's blocklist (src/store/blocklist.ts). */
  blocked?: string[];
}

export interface WriterError {
  ok: false;
  status: 400 | 404 | 409 | 422 | 503;
  code: string;
  message: string;
  /** Seconds after which a retry may succeed (sent as Retry-After). */
  retryAfterS?: number;
}

export interface ModelRef {
  id: string;
  /** The published version that holds (or will hold) this learn. */
  version: number;
  /** False while the learn waits for the next publish (see PUBLISH_INTERVAL_MS). */
  published: boolean;
}

/** How a learn fitted the CPU budget (src/budget): estimated before it ran. */
export interface LearnBudget {
  estimateMs: number;
  budgetMs: number;
  /** True when only the sentence's most recent words were learned, to fit the budget. */
  truncated: boolean;
}

export type LearnReply =
  | {
      ok: true;
      seq: number;
      tokens: number;
      lossBefore: number;
      lossAfter: number;
      budget: LearnBudget;
      model: ModelRef;
    }
  | WriterError;

export type PredictReply =
  | {
      ok: true;
      prefix: string[];
      predictions: { word: string; text: string; p: number }[];
      model: { id: string; version: number; learns: number };
    }
  | WriterError;

/** A model's metadata, as GET /models/:id shows it (plus `base` for a model created from another). */
export interface ModelInfo extends Architecture {
  id: string;
  version: number;
  base?: VersionRef;
  hyperparameters: Record<string, number>;
  vocabHash: string;
  bytes: number;
  learns: number;
  tokensLearned: number;
  createdAt: string;
  updatedAt: string;
}

export type CreateReply = { ok: true; model: ModelInfo } | WriterError;

export type RollbackReply = { ok: true; restored: number; model: ModelRef } | WriterError;

/** Imported weights are published at once as `model.version`, with the counters their file reports. */
export type ImportReply = { ok: true; model: ModelRef; learns: number; tokensLearned: number } | WriterError;

export interface WriterStatus {
  ok: true;
  /** Learns in the in-memory weights (since the base model) and log entries so far. */
  learns: number;
  tokensLearned: number;
  lastSeq: number;
  /** The current published version, and the last log seq it contains. */
  version: number;
  publishedSeq: number;
  /** Retained versions, ascending (rollback targets). */
  versions: number[];
}

export type StatusReply = WriterStatus | WriterError;

/** A base model's answer to a child being created from it: the blob the child may share. */
export type PinReply =
  | {
      ok: true;
      version: number;
      weightsKey: string;
      bytes: number;
      vocabHash: string;
      learns: number;
      tokensLearned: number;
    }
  | WriterError;
