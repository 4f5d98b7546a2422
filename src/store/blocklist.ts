/**
 * The deployment-wide blocklist (docs/api.md, "Blocklist"): words never suggested by any model,
 * still read as context, never given a learned-word slot. One KV key, `blocklist`, JSON
 * {"words": [...]} of tokens (tokenizer output); read through a per-isolate cache trusted for
 * BLOCKLIST_TTL_MS, like a manifest.
 */
import { tokenize } from "../model/tokenizer.ts";

export const BLOCKLIST_KEY = "blocklist";

/** Most words a blocklist holds: it travels with every fresh prediction and learn to the writer. */
export const MAX_BLOCKED_WORDS = 1000;

/** Longest word, in characters, a blocklist entry may be. */
export const MAX_BLOCKED_CHARS = 64;

/** How long an isolate trusts the blocklist it read. */
export const BLOCKLIST_TTL_MS = 1000;

export class BlocklistError extends Error {
  override name = "BlocklistError";
}

/**
 * The blocklist's words from a JSON value {"words": [...]}: a non-empty array of at most
 * MAX_BLOCKED_WORDS strings, each one word (it tokenizes to exactly one token, which is stored:
 * "Damn" is "damn"). Throws BlocklistError saying what is wrong.
 */
export function parseBlocklist(json: unknown): string[] {
  const words =
    typeof json === "object" && json !== null && !Array.isArray(json) ? (json as { words?: unknown }).words : undefined;
  if (!Array.isArray(words)) throw new BlocklistError('the blocklist must be a JSON object {"words": ["...", ...]}');
  if (words.length === 0)
    throw new BlocklistError("the list of words is empty (DELETE /blocklist clears the blocklist)");
  if (words.length > MAX_BLOCKED_WORDS)
    throw new BlocklistError(`a blocklist holds at most ${MAX_BLOCKED_WORDS} words`);
  const tokens = new Set<string>();
  for (const [i, w] of words.entries()) {
    if (typeof w !== "string" || w.length > MAX_BLOCKED_CHARS)
      throw new BlocklistError(`words[${i}] must be a string of at most ${MAX_BLOCKED_CHARS} characters`);
    const t = tokenize(w, 2);
    if (t.length !== 1) throw new BlocklistError(`words[${i}] (${JSON.stringify(w)}) must be exactly one word`);
    tokens.add(t[0]);
  }
  return [...tokens].sort();
}

let cached: { words: ReadonlySet<string>; at: number } | null = null;

/** The blocklist's words (empty when there is none), through this isolate's cache. */
export async function readBlocklist(kv: KVNamespace, now = Date.now()): Promise<ReadonlySet<string>> {
  if (cached && now - cached.at < BLOCKLIST_TTL_MS) return cached.words;
  const text = await kv.get(BLOCKLIST_KEY, "text");
  let words: ReadonlySet<string> = new Set();
  if (text !== null) {
    try {
      words = new Set(parseBlocklist(JSON.parse(text)));
    } catch (e) {
      // Written only through writeBlocklist, which validated it; never serve an unchecked list.
      throw new BlocklistError(`the stored blocklist is invalid: ${(e as Error).message}`);
    }
  }
  cached = { words, at: now };
  return words;
}

/** Stores the blocklist (words from parseBlocklist), or clears it with null; this isolate sees it at once. */
export async function writeBlocklist(
  kv: KVNamespace,
  words: readonly string[] | null,
  now = Date.now(),
): Promise<void> {
  if (words === null) await kv.delete(BLOCKLIST_KEY);
  else await kv.put(BLOCKLIST_KEY, JSON.stringify({ words }));
  cached = { words: new Set(words ?? []), at: now };
}
