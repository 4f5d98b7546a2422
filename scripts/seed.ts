/**
 * Seeds a model into KV from a model folder (weights.safetensors + vocab.json),
 * through wrangler so local dev and a deployed namespace are written alike.
 *
 *   npm run seed                      local KV (what `npm run dev` reads)
 *   npm run seed -- --remote          the namespace bound as MODELS in wrangler.toml
 *   npm run seed -- --if-empty        only when the model has no manifest yet
 *   npm run seed -- --id alice --model models/base
 *   npm run seed -- --model models/my-app   a folder `npm run train -- --corpus` wrote
 *   npm run seed -- --persist-to DIR   local KV kept in DIR (as `wrangler dev --persist-to DIR` reads it)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vocabHash, vocabToJson } from "../src/model/vocab.ts";
import { manifestKey, type Manifest, parseManifest, vocabKey, weightsKey } from "../src/store/kv-layout.ts";
import { readModelDir, WEIGHTS_FILE } from "./lib/model-dir.ts";
import { CliError, EXIT } from "./cli/errors.ts";
import { flags, runScript } from "./lib/args.ts";

await runScript("seed", () => {
  const arg = flags({ id: "default", model: "models/base", "persist-to": "" }, ["remote", "if-empty"]);
  const id = arg.str("id");
  const where = arg.bool("remote") ? "--remote" : "--local";
  const persistTo = arg.str("persist-to");
  if (persistTo && arg.bool("remote"))
    throw new CliError(EXIT.usage, "--persist-to is for local KV; it cannot go with --remote");

  function wrangler(args: string[]): string {
    const local = persistTo ? ["--persist-to", persistTo] : [];
    return execFileSync("npx", ["wrangler", "kv", "key", ...args, "--binding", "MODELS", where, ...local], {
      encoding: "utf8",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  function currentManifest(): Manifest | null {
    try {
      return parseManifest(JSON.parse(wrangler(["get", manifestKey(id), "--text"])));
    } catch {
      return null; // absent (wrangler prints "Value not found") or unreadable: seeding replaces it
    }
  }

  const current = currentManifest();
  if (current && arg.bool("if-empty")) {
    console.error(`model "${id}" already seeded (version ${current.version}); leaving it`);
    process.exit(0);
  }

  const dir = arg.str("model");
  // Refuses a model whose weights do not fit its vocabulary before anything is written.
  const { vocab, meta, bytes } = readModelDir(dir);
  const hash = vocabHash(vocab);
  const version = (current?.version ?? 0) + 1;
  const now = new Date().toISOString();
  const manifest = parseManifest({
    version,
    weightsKey: weightsKey(id, version),
    vocabKey: vocabKey(hash),
    vocabHash: hash,
    bytes: bytes.byteLength,
    createdAt: meta.createdAt,
    updatedAt: now,
    tokensLearned: 0,
    learns: 0,
  });

  const tmp = mkdtempSync(join(tmpdir(), "seed-"));
  const vocabFile = join(tmp, "vocab.json");
  writeFileSync(vocabFile, JSON.stringify(vocabToJson(vocab)));
  wrangler(["put", vocabKey(hash), "--path", vocabFile]);
  wrangler(["put", manifest.weightsKey, "--path", join(dir, WEIGHTS_FILE)]);
  const manifestFile = join(tmp, "manifest.json");
  writeFileSync(manifestFile, JSON.stringify(manifest));
  wrangler(["put", manifestKey(id), "--path", manifestFile]);
  console.error(
    `seeded model "${id}" version ${version} (${where.slice(2)}): ${bytes.byteLength} bytes, vocab ${vocab.words.length}`,
  );
});
