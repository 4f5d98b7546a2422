/**
 * Who taught a learn: a user id (a user token's `sub`, src/http/user-token.ts) or ADMIN for the
 * LEARN_TOKEN. The learn log keeps the name (unlearning removes a subject's learns by it); the
 * phrase memory keeps a 32-bit hash of it, to count distinct teachers (MEMORY_QUORUM). Two
 * subjects whose hashes collide count as one, which only ever withholds a continuation.
 */

export const ADMIN = "admin";

/** FNV-1a of the name's UTF-16 code units, as a signed 32-bit integer (never 0, the unknown subject's). */
export function subjectHash(sub: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sub.length; i++) h = Math.imul(h ^ sub.charCodeAt(i), 0x01000193);
  return h === 0 ? 1 : h | 0;
}
