import { ApiError } from "./errors.ts";
import { learnBodySchema } from "./schemas.ts";

/** A learn body: the sentence, and the JSON body's fields (null for text/plain, whose options are in the query). */
export type LearnBody = { sentence: string; fields: Record<string, unknown> | null };

/** Reads at most `limit` bytes of the body, refusing larger ones before buffering them. */
export async function readLimited(req: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError(413, "body_too_large", `the request body is limited to ${limit} bytes`);
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge();
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await readChunk(reader);
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The next chunk of a body. A read that fails means the client went away (or broke its stream)
 * mid-body: that is the client's doing, so a 400 logged as such, not a 500.
 */
async function readChunk(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<ReadableStreamReadResult<Uint8Array>> {
  try {
    return await reader.read();
  } catch (e) {
    console.warn(JSON.stringify({ event: "body_read_failed", error: String(e) }));
    throw new ApiError(400, "body_incomplete", "the request body ended before it was complete (the client went away?)");
  }
}

/** The media type of a Content-Type header, lowercased, without parameters ("" when absent). */
export function mediaType(header: string | null | undefined): string {
  return (header ?? "").split(";")[0].trim().toLowerCase();
}

function utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new ApiError(400, "invalid_encoding", "the body must be UTF-8 text");
  }
}

/**
 * A JSON body that must be an object (`example` shows one in the error): 415 for another media
 * type, 413 past `limit` bytes, 400 for invalid UTF-8, invalid JSON or another JSON value.
 */
export async function readJsonObject(req: Request, limit: number, example: string): Promise<Record<string, unknown>> {
  if (mediaType(req.headers.get("content-type")) !== "application/json") {
    throw new ApiError(415, "unsupported_media_type", `send application/json ${example}`);
  }
  return jsonObject(utf8(await readLimited(req, limit)), example);
}

function jsonObject(text: string, example: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ApiError(400, "invalid_json", "the body is not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new ApiError(400, "invalid_body", `the JSON body must be an object like ${example}`);
  }
  return json as Record<string, unknown>;
}

/**
 * A learn request body: JSON {"sentence": "...", ...options} or the sentence
 * itself as text/plain.
 */
export async function readLearnBody(req: Request, limit: number): Promise<LearnBody> {
  const type = mediaType(req.headers.get("content-type"));
  if (type !== "application/json" && type !== "text/plain") {
    throw new ApiError(415, "unsupported_media_type", 'send application/json {"sentence": "..."} or text/plain');
  }
  const text = utf8(await readLimited(req, limit));
  if (type === "text/plain") return { sentence: text, fields: null };
  const fields = jsonObject(text, '{"sentence": "..."}');
  // A missing sentence reads as empty, which the route refuses as empty_sentence.
  if (fields.sentence === undefined) return { sentence: "", fields };
  const sentence = learnBodySchema.shape.sentence.safeParse(fields.sentence);
  if (!sentence.success) throw new ApiError(400, "invalid_sentence", "sentence must be a string");
  return { sentence: sentence.data, fields };
}
