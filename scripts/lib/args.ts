import { parseArgs } from "node:util";

/** `--name value` flags for scripts, every value a string; numbers are parsed by `num`. */
export function flags(defaults: Record<string, string>, booleans: string[] = []) {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const k of Object.keys(defaults)) options[k] = { type: "string" };
  for (const k of booleans) options[k] = { type: "boolean" };
  const { values } = parseArgs({ options, allowPositionals: false });
  const str = (k: string): string => String(values[k] ?? defaults[k]);
  const num = (k: string): number => {
    const v = Number(str(k));
    if (!Number.isFinite(v)) throw new Error(`--${k} must be a number, got ${str(k)}`);
    return v;
  };
  const bool = (k: string): boolean => values[k] === true;
  return { str, num, bool };
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
