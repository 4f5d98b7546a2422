/**
 * The kernels as workerd gets them: a Worker may not compile WebAssembly from bytes, so wrangler
 * (and the vitest plugin, and the benchmark's bundle) ship kernels.wasm as a compiled module.
 * Chosen by the "workerd" condition of package.json's "#kernel-module" import.
 */
import kernels from "./kernels.wasm";

export default kernels;
