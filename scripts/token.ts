/**
 * `npm run token -- alice [--ttl 1h] [--scope learn,predict]`: prints a development user token, a
 * JWT (HS256, hono/jwt) with sub, exp and scope, signed with USER_TOKEN_SECRET from the environment
 * or .dev.vars. Production tokens come from the deployer's backend, signed with the same secret.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { sign } from "hono/jwt";
import { CliError, EXIT } from "./cli/errors.ts";
import { runScript } from "./lib/args.ts";
import { isValidModelId, MODEL_ID_RULE } from "../src/store/kv-layout.ts";
import { SCOPES } from "../src/http/user-token.ts";

const USAGE = "usage: npm run token -- <user> [--ttl 1h] [--scope learn,predict,shared]";
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function ttlSeconds(ttl: string): number {
  const m = /^(\d+)([smhd])$/.exec(ttl);
  if (!m || Number(m[1]) === 0)
    throw new CliError(
      EXIT.usage,
      `--ttl must be a positive number and a unit (s, m, h, d), e.g. 1h; got ${JSON.stringify(ttl)}`,
    );
  return Number(m[1]) * UNIT_SECONDS[m[2]];
}

function secret(): string {
  const fromEnv = process.env.USER_TOKEN_SECRET;
  if (fromEnv) return fromEnv;
  const file = existsSync(".dev.vars") ? readFileSync(".dev.vars", "utf8") : "";
  const line = /^USER_TOKEN_SECRET=(.*)$/m.exec(file);
  if (!line || line[1].trim() === "") {
    throw new CliError(
      EXIT.usage,
      "USER_TOKEN_SECRET is neither in the environment nor in .dev.vars (see .dev.vars.example)",
    );
  }
  return line[1].trim();
}

/** The command line's options and positionals, or a usage error. */
function parseCommandLine() {
  try {
    return parseArgs({
      options: { ttl: { type: "string", default: "1h" }, scope: { type: "string" } },
      allowPositionals: true,
    });
  } catch (e) {
    throw new CliError(EXIT.usage, `${(e as Error).message}\n${USAGE}`);
  }
}

await runScript("token", async () => {
  const { values, positionals } = parseCommandLine();
  if (positionals.length !== 1) throw new CliError(EXIT.usage, USAGE);
  const [sub] = positionals;
  if (!isValidModelId(sub)) throw new CliError(EXIT.usage, `user ids are ${MODEL_ID_RULE}`);
  const scopes = values.scope?.split(/[\s,]+/).filter((s) => s !== "");
  const unknown = scopes?.filter((s) => !(SCOPES as readonly string[]).includes(s)) ?? [];
  if (unknown.length > 0)
    throw new CliError(EXIT.usage, `unknown scope ${unknown.join(", ")}; scopes are ${SCOPES.join(", ")}`);
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds(values.ttl);
  const payload = { sub, exp, ...(scopes !== undefined && { scope: scopes.join(" ") }) };
  process.stdout.write(`${await sign(payload, secret(), "HS256")}\n`);
});
