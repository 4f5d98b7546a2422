import type { Client } from "./client.ts";

export interface PredictAnswer {
  prefix: string[];
  predictions: { word: string; p: number }[];
  model: { id: string; version: number };
}

/** `predict "<prefix>"`: the k most probable next words, one a line with its probability. */
export async function predict(client: Client, prefix: string, k: number, fresh: boolean, user?: string): Promise<PredictAnswer> {
  const query: Record<string, string> = { prefix, k: String(k) };
  if (fresh) query.fresh = "1";
  if (user !== undefined) query.user = user;
  return client.json<PredictAnswer>("GET", client.url("/predict", query));
}

export function formatPredictions(a: PredictAnswer): string {
  const width = Math.max(0, ...a.predictions.map((p) => p.word.length));
  return a.predictions.map((p) => `${p.word.padEnd(width)}  ${(p.p * 100).toFixed(2).padStart(6)}%`).join("\n");
}
