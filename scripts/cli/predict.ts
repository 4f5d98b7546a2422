import type { Client } from "./client.ts";

export interface PredictAnswer {
  prefix: string[];
  /** The partial word completed, as the server matched it. */
  partial?: string;
  predictions: { word: string; text: string; p: number }[];
  model: { id: string; version: number };
}

/**
 * `predict "<prefix>"`: the k most probable next words, one a line with its probability, as
 * written; with a partial, the words completing the word being typed.
 */
export async function predict(
  client: Client,
  prefix: string,
  k: number,
  fresh: boolean,
  user?: string,
  partial?: string,
): Promise<PredictAnswer> {
  const query: Record<string, string> = { prefix, k: String(k) };
  if (fresh) query.fresh = "1";
  if (user !== undefined) query.user = user;
  if (partial !== undefined) query.partial = partial;
  return client.json<PredictAnswer>("GET", client.url("/predict", query));
}

export function formatPredictions(a: PredictAnswer): string {
  const width = Math.max(0, ...a.predictions.map((p) => p.text.length));
  return a.predictions.map((p) => `${p.text.padEnd(width)}  ${(p.p * 100).toFixed(2).padStart(6)}%`).join("\n");
}
