import type { Client } from "./client.ts";
import { ApiRefusal } from "./errors.ts";

/** /learn's answer; a personal learn (user) has no lossAfter and no published flag. */
export interface LearnAnswer {
  tokens: number;
  lossBefore: number;
  lossAfter?: number;
  model: { id: string; version: number; published?: boolean };
}

/** The shared model's options, or a user whose layer learns (docs/personal.md). */
export type LearnOptions = { lr?: number; steps?: number } | { user: string };

export interface Failure {
  line: number;
  status: number;
  code: string;
  message: string;
}

export interface LearnSummary {
  sentences: number;
  learned: number;
  tokens: number;
  /** Mean cross-entropy per predicted token (nats) over the learned sentences, before and after each learn. */
  lossBefore: number | null;
  lossAfter: number | null;
  /** The version that holds the last learn. */
  model: LearnAnswer["model"] | null;
  failures: Failure[];
}

/** Non-blank lines of a text, with their 1-based line numbers. */
export function sentencesOf(text: string): { line: number; sentence: string }[] {
  return text
    .split(/\r?\n/)
    .map((sentence, i) => ({ line: i + 1, sentence: sentence.trim() }))
    .filter((s) => s.sentence !== "");
}

/**
 * Teaches the sentences one after another (the model's writer applies them in order anyway).
 * A sentence the server refuses is a failure and the run goes on; anything that would fail
 * every sentence alike (no server, wrong token, no model) stops it.
 */
export async function learnAll(
  client: Client,
  sentences: { line: number; sentence: string }[],
  options: LearnOptions,
  progress: (done: number) => void,
): Promise<LearnSummary> {
  const summary: LearnSummary = {
    sentences: sentences.length,
    learned: 0,
    tokens: 0,
    lossBefore: null,
    lossAfter: null,
    model: null,
    failures: [],
  };
  let before = 0;
  let after = 0;
  let predictions = 0;
  for (const [i, { line, sentence }] of sentences.entries()) {
    try {
      const a = await client.json<LearnAnswer>("POST", client.url("/learn"), {
        type: "application/json",
        data: JSON.stringify({ sentence, ...options }),
      });
      // Each loss is a mean over the sentence's tokens plus its end marker.
      const n = a.tokens + 1;
      before += a.lossBefore * n;
      after += (a.lossAfter ?? NaN) * n;
      predictions += n;
      summary.learned++;
      summary.tokens += a.tokens;
      summary.model = a.model;
    } catch (e) {
      if (!(e instanceof ApiRefusal) || stopsTheRun(e)) throw e;
      summary.failures.push({ line, status: e.status, code: e.code, message: e.detail });
    }
    progress(i + 1);
  }
  if (predictions > 0) {
    summary.lossBefore = before / predictions;
    summary.lossAfter = Number.isNaN(after) ? null : after / predictions;
  }
  return summary;
}

/** Refusals about the request's sentence (400, 413, 422) concern that sentence only. */
function stopsTheRun(e: ApiRefusal): boolean {
  return ![400, 413, 422].includes(e.status);
}

export function formatSummary(s: LearnSummary): string {
  const lines = [`learned ${s.learned} of ${s.sentences} sentences (${s.tokens} tokens)`];
  if (s.model) {
    const state =
      s.model.published === undefined
        ? "a personal layer over it"
        : s.model.published
          ? "published"
          : "pending publish";
    lines[0] += ` into model ${s.model.id}, version ${s.model.version} (${state})`;
  }
  if (s.lossBefore !== null && s.lossAfter !== null) {
    lines.push(`mean loss per token: ${s.lossBefore.toFixed(3)} before -> ${s.lossAfter.toFixed(3)} after (nats)`);
  } else if (s.lossBefore !== null) {
    lines.push(`mean loss per token before each learn: ${s.lossBefore.toFixed(3)} (nats)`);
  }
  if (s.failures.length > 0) {
    lines.push(`${s.failures.length} failed:`);
    for (const f of s.failures) lines.push(`  line ${f.line}: ${f.status} ${f.code}: ${f.message}`);
  }
  return lines.join("\n");
}
