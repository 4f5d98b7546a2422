/**
 * `npm run test:e2e`: one `wrangler dev` on a free loopback port with a temporary state seeded
 * with the base model, then the CLI and the demo page (headless Chromium) against it. The
 * server stops when the tests end, pass or fail; its output is left in
 * $TMPDIR/edge-rnnlm-e2e-wrangler.log. Run with node --test (see package.json).
 */
import { statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe } from "node:test";
import { type DevServer, startDevServer } from "../../scripts/lib/dev-server.ts";
import { browserTests } from "./browser.ts";
import { cliTests } from "./cli.ts";
import { ownCorpusTests } from "./own-corpus.ts";

const root = resolve(import.meta.dirname, "../..");
const TOKEN = "e2e-token";

let server: DevServer | undefined;
const running = (): DevServer => {
  if (!server) throw new Error("the server did not start");
  return server;
};

describe("end to end against wrangler dev", () => {
  before(
    async () => {
      server = await startDevServer({ model: resolve(root, "models/base"), vars: { LEARN_TOKEN: TOKEN } });
    },
    { timeout: 240_000 },
  );
  after(
    async () => {
      if (!server) return;
      try {
        // What the Worker logged, to read after a failure.
        await writeFile(join(tmpdir(), "edge-rnnlm-e2e-wrangler.log"), server.output());
      } finally {
        await server.stop();
      }
    },
    { timeout: 30_000 },
  );

  describe("CLI", { timeout: 180_000 }, () => cliTests(running, TOKEN));
  describe("demo page in Chromium", { timeout: 180_000 }, () =>
    browserTests(
      running,
      TOKEN,
      resolve(root, "docs/demo.png"),
      statSync(resolve(root, "models/base/weights.safetensors")).size,
    ),
  );
});

describe("a model trained on your own text", { timeout: 300_000 }, () => ownCorpusTests());
