/**
 * Builds the WebAssembly kernels (src/kernels/kernels.wat -> kernels.wasm) with wabt, the
 * WebAssembly Binary Toolkit's wat2wasm compiled to JavaScript (npm package `wabt`):
 *
 *   npm run build:kernels             writes src/kernels/kernels.wasm
 *   npm run build:kernels -- --check  fails if the committed .wasm is not what the source builds to
 *
 * The .wasm is committed because wrangler, the vitest plugin and Node all load that file; CI runs
 * --check so it can never drift from its source.
 */
import { readFileSync, writeFileSync } from "node:fs";
import wabt from "wabt";

const source = "src/kernels/kernels.wat";
const target = "src/kernels/kernels.wasm";
const toolkit = await wabt();
const parsed = toolkit.parseWat(source, readFileSync(source, "utf8"), { simd: true, bulk_memory: true });
parsed.validate();
const built = parsed.toBinary({ write_debug_names: false }).buffer;
parsed.destroy();

if (process.argv.includes("--check")) {
  const committed = readFileSync(target);
  if (!Buffer.from(built).equals(committed)) {
    process.stderr.write(`${target} differs from what ${source} builds to: run npm run build:kernels and commit it\n`);
    process.exit(1);
  }
  process.stderr.write(`${target} matches ${source} (${built.byteLength} bytes)\n`);
} else {
  writeFileSync(target, built);
  process.stderr.write(`wrote ${target} (${built.byteLength} bytes)\n`);
}
