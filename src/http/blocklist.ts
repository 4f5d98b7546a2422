/**
 * GET / PUT / DELETE /blocklist (admin token): the deployment-wide list of words never suggested
 * (src/store/blocklist.ts). A refused list changes nothing.
 */
import { BlocklistError, parseBlocklist, readBlocklist, writeBlocklist } from "../store/blocklist.ts";
import { readJsonObject } from "./body.ts";
import type { AppContext } from "./context.ts";
import { ApiError } from "./errors.ts";

/** Largest PUT /blocklist body: the most words at their longest, JSON-quoted. */
const MAX_BODY_BYTES = 256 * 1024;

export async function getBlocklistRoute(c: AppContext): Promise<Response> {
  return c.json({ words: [...(await blocklistOf(c))].sort() });
}

export async function putBlocklistRoute(c: AppContext): Promise<Response> {
  const body = await readJsonObject(c.req.raw, MAX_BODY_BYTES, '{"words": ["..."]}');
  let words: string[];
  try {
    words = parseBlocklist(body);
  } catch (e) {
    if (e instanceof BlocklistError) throw new ApiError(400, "invalid_blocklist", e.message);
    throw e;
  }
  await writeBlocklist(c.env.MODELS, words);
  return c.json({ words });
}

export async function deleteBlocklistRoute(c: AppContext): Promise<Response> {
  await writeBlocklist(c.env.MODELS, null);
  return c.json({ words: [] });
}

/** The blocklist's words, for the routes that suggest or learn; 503 when the stored list cannot be read. */
export async function blocklistOf(c: AppContext): Promise<ReadonlySet<string>> {
  try {
    return await readBlocklist(c.env.MODELS);
  } catch (e) {
    console.error(JSON.stringify({ event: "blocklist_read_failed", error: String(e) }));
    throw new ApiError(503, "blocklist_unavailable", "the blocklist could not be read; try again shortly", {
      "retry-after": "1",
    });
  }
}
