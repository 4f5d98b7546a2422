/** What the Worker and the writer Durable Object say to each other over RPC. */

export interface LearnRequest {
  tokens: string[];
  lr: number;
  truncate: number;
  steps: number;
}

export interface PredictRequest {
  tokens: string[];
  k: number;
}

export interface WriterError {
  ok: false;
  status: 409 | 422 | 503;
  code: string;
  message: string;
}

export interface ModelRef {
  id: string;
  /** The published version that holds (or will hold) this learn. */
  version: number;
  /** False while the learn waits for the next publish (see PUBLISH_INTERVAL_MS). */
  published: boolean;
}

export type LearnReply =
  | { ok: true; seq: number; tokens: number; lossBefore: number; lossAfter: number; model: ModelRef }
  | WriterError;

export type PredictReply =
  | { ok: true; prefix: string[]; predictions: { word: string; p: number }[]; model: { id: string; version: number; learns: number } }
  | WriterError;
