/**
 * edge-rnnlm: the command line client (docs/api.md "CLI"; launched by bin/edge-rnnlm.js).
 *
 *   edge-rnnlm predict "<prefix>" [-k 5] [--fresh] [--user <id>] [--partial <chars>]
 *   edge-rnnlm learn <file|-> [--lr x] [--steps n] [--user <id>]
 *   edge-rnnlm user <id> [--delete]
 *   edge-rnnlm export <file.safetensors>
 *   edge-rnnlm import <file.safetensors>
 *
 * Options for every command: --url (EDGE_RNNLM_URL, default http://localhost:8787),
 * --token (EDGE_RNNLM_TOKEN), --model <id>, --timeout <s>, --json. Exit codes: errors.ts.
 */
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { progressBar } from "../lib/args.ts";
import { Client } from "./client.ts";
import { CliError, EXIT } from "./errors.ts";
import { formatSummary, learnAll, sentencesOf } from "./learn.ts";
import { formatPredictions, predict } from "./predict.ts";
import { exportWeights, importWeights } from "./weights.ts";

const USAGE = `usage: edge-rnnlm <command> [options]

commands:
  predict "<prefix>" [-k 5] [--fresh] [--partial <chars>]
                                      the k most probable next words, as written (--fresh: include learns not yet
                                      published; --partial: the words that complete the word being typed)
  learn <file|->  [--lr x] [--steps n]  teach each non-blank line of a file (- for stdin) as a sentence
  user <id> [--delete]                  a user's personal data (needs a token); --delete erases all of it
  export <file.safetensors>             download the published weights
  import <file.safetensors>             upload weights to replace the model's (needs a token)

options:
  --url <url>        server (env EDGE_RNNLM_URL; default http://localhost:8787)
  --token <token>    sent as Authorization: Bearer (env EDGE_RNNLM_TOKEN)
  --model <id>       a model other than the default one
  --user <id>        predict and learn with this user's personal layer (needs a token)
  --timeout <s>      per request (default 30)
  --json             print the server's answer (predict) or the summary (learn) as JSON
  -h, --help         this help

exit codes: 0 ok, 1 refused by the server (or some sentences failed), 2 usage,
            3 no edge-rnnlm server answered, 4 local file error`;

const OPTIONS = {
  partial: { type: "string" },
  url: { type: "string" },
  token: { type: "string" },
  model: { type: "string" },
  timeout: { type: "string" },
  json: { type: "boolean" },
  k: { type: "string", short: "k" },
  fresh: { type: "boolean" },
  user: { type: "string" },
  delete: { type: "boolean" },
  lr: { type: "string" },
  steps: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

function usage(message: string): CliError {
  return new CliError(EXIT.usage, `${message}\n\n${USAGE}`);
}

function numberOption(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) throw usage(`--${name} must be a number, got ${JSON.stringify(raw)}`);
  return n;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function readText(file: string): Promise<string> {
  try {
    return file === "-" ? await readStdin() : await readFile(file, "utf8");
  } catch (e) {
    throw new CliError(EXIT.file, `cannot read ${file}: ${(e as Error).message}`);
  }
}

/** The command line's options and positionals, or a usage error. */
function parseCommandLine(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (e) {
    throw usage((e as Error).message);
  }
}

async function run(argv: string[]): Promise<number> {
  const { values: o, positionals } = parseCommandLine(argv);
  if (o.help) {
    console.log(USAGE);
    return EXIT.ok;
  }
  const [command, arg, ...extra] = positionals;
  if (command === undefined) throw usage("no command given");
  if (extra.length > 0) throw usage(`unexpected arguments: ${extra.join(" ")}`);
  const timeout = numberOption("timeout", o.timeout) ?? 30;
  if (timeout <= 0) throw usage("--timeout must be positive");
  const client = new Client({
    url: o.url ?? process.env.EDGE_RNNLM_URL ?? "http://localhost:8787",
    token: o.token ?? process.env.EDGE_RNNLM_TOKEN,
    model: o.model,
    timeoutMs: timeout * 1000,
  });
  const needArg = (what: string): string => {
    if (arg === undefined) throw usage(`${command} needs ${what}`);
    return arg;
  };

  switch (command) {
    case "predict": {
      const k = numberOption("k", o.k) ?? 5;
      const answer = await predict(
        client,
        needArg('a prefix (quote it: "the president of")'),
        k,
        o.fresh === true,
        o.user,
        o.partial,
      );
      if (o.json) console.log(JSON.stringify(answer));
      else {
        console.log(formatPredictions(answer));
        console.error(`model ${answer.model.id} version ${answer.model.version}`);
      }
      return EXIT.ok;
    }
    case "learn": {
      const file = needArg("a file with one sentence a line (- for stdin)");
      const sentences = sentencesOf(await readText(file));
      const started = Date.now();
      const bar = process.stderr.isTTY && !o.json;
      const options =
        o.user === undefined
          ? { lr: numberOption("lr", o.lr), steps: numberOption("steps", o.steps) }
          : { user: o.user };
      const summary = await learnAll(client, sentences, options, (done) => {
        if (bar) progressBar("learn", done, sentences.length, started);
      });
      console.log(o.json ? JSON.stringify(summary) : formatSummary(summary));
      return summary.failures.length > 0 ? EXIT.refused : EXIT.ok;
    }
    case "user": {
      const id = needArg("a user id");
      const answer = await client.json<unknown>(
        o.delete ? "DELETE" : "GET",
        client.root(`/users/${encodeURIComponent(id)}`),
      );
      console.log(JSON.stringify(answer, null, o.json ? undefined : 2));
      return EXIT.ok;
    }
    case "export":
      console.log(await exportWeights(client, needArg("a file to write (model.safetensors)")));
      return EXIT.ok;
    case "import":
      console.log(await importWeights(client, needArg("a safetensors file to upload")));
      return EXIT.ok;
    default:
      throw usage(`unknown command ${JSON.stringify(command)}`);
  }
}

try {
  process.exitCode = await run(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof CliError)) throw e;
  console.error(`edge-rnnlm: ${e.message}`);
  process.exitCode = e.exitCode;
}
