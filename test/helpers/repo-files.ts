import { env } from "cloudflare:workers";

/** Reads a file of the repository (served to workerd by vitest.config.ts). */
export async function repoFile(path: string): Promise<ArrayBuffer> {
  const binding = (env as unknown as { REPO_FILES: Fetcher }).REPO_FILES;
  const r = await binding.fetch(`http://repo/${path}`);
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.arrayBuffer();
}

export async function repoJson<T>(path: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode(await repoFile(path))) as T;
}
