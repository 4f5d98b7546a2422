import { readFile } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const root = resolve(import.meta.dirname);

/** Serves repository files (the shipped model) to tests in workerd, which has no host file system. */
async function serveRepoFile(request: Request): Promise<Response> {
  const path = resolve(root, `.${decodeURIComponent(new URL(request.url).pathname)}`);
  if (!path.startsWith(root + sep)) return new Response("outside the repository", { status: 403 });
  try {
    return new Response(await readFile(path));
  } catch {
    return new Response("not found", { status: 404 });
  }
}

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        serviceBindings: { REPO_FILES: serveRepoFile },
        // The write token tests send (test/helpers/api.ts) and the key they sign user tokens with
        // (test/http/user-tokens.test.ts); .dev.vars is not read here.
        bindings: { LEARN_TOKEN: "test-token", USER_TOKEN_SECRET: "test-user-token-secret" },
        // Budgets no test reaches by accident; test/http/limits.test.ts runs the app against TIGHT_LIMITER.
        ratelimits: {
          WRITE_LIMITER: { namespace_id: "1001", simple: { limit: 1_000_000, period: 10 } },
          READ_LIMITER: { namespace_id: "1002", simple: { limit: 1_000_000, period: 10 } },
          TIGHT_LIMITER: { namespace_id: "1003", simple: { limit: 3, period: 60 } },
        },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // Several tests learn and publish on the shipped 10,000-word model: about a second each on an idle
    // 2-core machine, past vitest's 5 s default when the machine is shared. Time is what benchmarks
    // measure; a test only needs to finish.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The Worker logs one JSON line per request (src/http/logging.ts): thousands in a run, none informative there.
    onConsoleLog: (log) => !log.startsWith('{"event":"request"'),
  },
});
