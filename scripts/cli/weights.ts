import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { decodeSafetensors, SafetensorsError } from "../../src/store/safetensors.ts";
import type { Client } from "./client.ts";
import { CliError, EXIT } from "./errors.ts";

/** The model version a safetensors file says it holds, if it is an edge-rnnlm model file. */
function fileVersion(bytes: Uint8Array): string | undefined {
  return decodeSafetensors(bytes).metadata.version;
}

/** `export <file>`: the published weights (GET /model/weights), written whole or not at all. */
export async function exportWeights(client: Client, file: string): Promise<string> {
  const res = await client.send("GET", client.url("/model/weights"));
  const bytes = new Uint8Array(await res.arrayBuffer());
  let version: string | undefined;
  try {
    version = fileVersion(bytes);
  } catch (e) {
    throw new CliError(
      EXIT.unreachable,
      `the server sent ${bytes.byteLength} bytes that are not safetensors: ${(e as Error).message}`,
    );
  }
  const partial = `${file}.partial`;
  try {
    await writeFile(partial, bytes);
    await rename(partial, file);
  } catch (e) {
    await rm(partial, { force: true });
    throw new CliError(EXIT.file, `cannot write ${file}: ${(e as Error).message}`);
  }
  const which = version === undefined ? "" : ` version ${version}`;
  return `exported model ${client.model}${which}: ${bytes.byteLength} bytes to ${file}`;
}

/**
 * `import <file>`: PUT /model/weights. The file is checked to be safetensors before it is sent;
 * whether it fits the model (shapes, vocabulary, finite values) is the server's to say.
 */
export async function importWeights(client: Client, file: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    throw new CliError(EXIT.file, `cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    fileVersion(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) throw new CliError(EXIT.file, `${file} is not a safetensors file: ${e.message}`);
    throw e;
  }
  const answer = await client.json<{ version?: unknown; model?: { version?: unknown } }>(
    "PUT",
    client.url("/model/weights"),
    {
      type: "application/octet-stream",
      data: bytes,
    },
  );
  const version = answer.model?.version ?? answer.version;
  const now = typeof version === "number" ? `, now version ${version}` : "";
  return `imported ${file} (${bytes.byteLength} bytes) into model ${client.model}${now}`;
}
