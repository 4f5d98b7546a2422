import { describe, expect, it } from "vitest";
import {
  IMPORT_HEADER_SLACK_BYTES,
  LEARN_BOUNDS,
  LIMITS,
  RATE_LIMIT_RETRY_S,
  runtimeConfig,
  UPDATE_GUARDS,
} from "../../src/config.ts";
import type { Env } from "../../src/env.ts";
import { importLimitBytes } from "../../src/http/weights-import.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { repoFile } from "../helpers/repo-files.ts";

const text = async (path: string) => new TextDecoder().decode(await repoFile(path));

/** The rows of every table in a markdown page, keyed by their first cell (backticks kept). */
function tableRows(page: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of page.split("\n")) {
    if (!line.startsWith("| ") || line.startsWith("| ---")) continue;
    const cells = line
      .slice(2, -2)
      .split(" | ")
      .map((c) => c.trim());
    rows.set(cells[0], cells.slice(1));
  }
  return rows;
}

const kib = (bytes: number) => `${bytes / 1024} KiB`;
const en = (n: number) => n.toLocaleString("en-US");
/** A number as the page writes it: small ones in exponent form (1e-6). */
const num = (x: number) => (x !== 0 && Math.abs(x) < 1e-4 ? x.toExponential() : String(x));

describe("docs/limits.md quotes the limits the code enforces", () => {
  it("every bound in the limits table is src/config.ts's", async () => {
    const rows = tableRows(await text("docs/limits.md"));
    const bound = (what: string) => {
      const row = rows.get(what);
      if (!row) throw new Error(`docs/limits.md has no row ${what}`);
      return row[0];
    };
    const shipped = decodeModel(await repoFile("models/base/weights.safetensors")).model;
    const { lr, truncate, steps } = LEARN_BOUNDS;
    expect(bound("`/learn` body")).toBe(kib(LIMITS.maxBodyBytes));
    expect(bound("`POST /models`, rollback body")).toBe(kib(LIMITS.maxModelBodyBytes));
    expect(bound("weight import body")).toContain(
      `+ ${kib(IMPORT_HEADER_SLACK_BYTES)} of header (${en(importLimitBytes(shipped))} bytes for the shipped model)`,
    );
    expect(bound("sentence")).toBe(`1–${LIMITS.maxSentenceTokens} tokens (markers not counted)`);
    expect(bound("`prefix`")).toBe(
      `${en(LIMITS.maxPrefixChars)} characters; read through its last ${LIMITS.prefixWindow} tokens`,
    );
    expect(bound("`k`")).toBe(`integer ${LIMITS.minK}–${LIMITS.maxK} (default ${LIMITS.defaultK})`);
    expect(bound("`lr`")).toBe(`${num(lr.min)}–${num(lr.max)} (default ${num(lr.default)})`);
    expect(bound("`truncate`")).toBe(`integer ${truncate.min}–${truncate.max} (default ${truncate.default})`);
    expect(bound("`steps`")).toBe(`integer ${steps.min}–${steps.max} (default ${steps.default})`);
    expect(bound("the update itself")).toContain(
      `gradient norm clipped to ${UPDATE_GUARDS.clipNorm}, step norm capped at ${UPDATE_GUARDS.maxStepNorm}`,
    );
    expect(bound("a learn's CPU")).toContain(`\`LEARN_CPU_MS\` (default ${runtimeConfig({} as Env).learnCpuMs})`);
  });

  it("the request budgets are wrangler.toml's, and Retry-After is their period", async () => {
    const rows = tableRows(await text("docs/limits.md"));
    const toml = await text("wrangler.toml");
    for (const name of ["WRITE_LIMITER", "READ_LIMITER"]) {
      const m = new RegExp(`name = "${name}"[^[]*simple = \\{ limit = (\\d+), period = (\\d+) \\}`).exec(toml);
      if (!m) throw new Error(`wrangler.toml has no ${name}`);
      expect(rows.get(`\`${name}\``)?.[0]).toBe(`${m[1]} per ${m[2]} s`);
      expect(Number(m[2])).toBe(RATE_LIMIT_RETRY_S);
    }
  });
});
