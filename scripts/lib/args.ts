import { parseArgs } from "node:util";
import { CliError, EXIT } from "../cli/errors.ts";

/** `--name value` flags for scripts, every value a string; numbers are parsed by `num`. */
export function flags(defaults: Record<string, string>, booleans: string[] = []) {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const k of Object.keys(defaults)) options[k] = { type: "string" };
  for (const k of booleans) options[k] = { type: "boolean" };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ options, allowPositionals: false }).values;
  } catch (e) {
    // Unknown flag, missing value, positional: node's message says which.
    throw new CliError(EXIT.usage, (e as Error).message);
  }
  const str = (k: string): string => String(values[k] ?? defaults[k]);
  const num = (k: string): number => {
    const v = Number(str(k));
    if (str(k).trim() === "" || !Number.isFinite(v))
      throw new CliError(EXIT.usage, `--${k} must be a number, got ${JSON.stringify(str(k))}`);
    return v;
  };
  const int = (k: string, min: number): number => {
    const v = num(k);
    if (!Number.isInteger(v) || v < min)
      throw new CliError(EXIT.usage, `--${k} must be an integer >= ${min}, got ${str(k)}`);
    return v;
  };
  const bool = (k: string): boolean => values[k] === true;
  return { str, num, int, bool };
}

/**
 * Runs a script's body: a CliError (bad flag, unreadable or unusable input) is one line on
 * stderr and its exit code, without a stack trace; anything else is a bug and propagates.
 */
export async function runScript(name: string, body: () => void | Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    process.stderr.write(`\n${name}: ${e.message}\n`);
    process.exitCode = e.exitCode;
  }
}

/** A one-line progress bar with ETA on stderr. */
export function progressBar(label: string, done: number, total: number, startedMs: number): void {
  const frac = total > 0 ? done / total : 1;
  const width = 30;
  const filled = Math.round(frac * width);
  const elapsed = (Date.now() - startedMs) / 1000;
  const eta = frac > 0 ? elapsed / frac - elapsed : 0;
  const bar = "#".repeat(filled) + ".".repeat(width - filled);
  process.stderr.write(`\r${label} [${bar}] ${(frac * 100).toFixed(1)}% eta ${eta.toFixed(0)}s   `);
  if (done >= total) process.stderr.write("\n");
}
