/**
 * The kernels as Node gets them (train, eval, bench, adapt-bench): compiled from the same file,
 * which Node may do. The default of package.json's "#kernel-module" import.
 */
import { readFileSync } from "node:fs";

// workers-types declares Module abstract: a Worker cannot compile. Node can.
const compile = WebAssembly.Module as unknown as new (bytes: Uint8Array) => WebAssembly.Module;

const kernels = new compile(readFileSync(new URL("./kernels.wasm", import.meta.url)));

export default kernels;
