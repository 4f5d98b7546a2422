#!/usr/bin/env node
// Launcher of `npx edge-rnnlm`: the CLI is TypeScript (scripts/cli/main.ts), which Node >= 22
// runs by stripping its types. Node 22.18+ does that by default; 22.6-22.17 needs a flag.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const main = fileURLToPath(new URL("../scripts/cli/main.ts", import.meta.url));
const major = Number(process.versions.node.split(".")[0]);

if (major < 22) {
  console.error(
    `edge-rnnlm: needs Node.js >= 22 (this is ${process.version}); in the repository, ` +
      "`npx edge-rnnlm` uses the Node 22 that `npm install` brings.",
  );
  process.exit(2);
} else if (process.features.typescript) {
  await import(main);
} else {
  const args = ["--experimental-strip-types", "--disable-warning=ExperimentalWarning", main, ...process.argv.slice(2)];
  const child = spawnSync(process.execPath, args, { stdio: "inherit" });
  process.exit(child.status ?? 1);
}
