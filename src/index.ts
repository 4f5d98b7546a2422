import { createApp } from "./http/app.ts";
import { warmUp } from "./model/lm.ts";

export { ModelWriter } from "./writer/model-writer.ts";
export { UserStore } from "./writer/user-store.ts";

// Let the JIT compile the numerics at startup (~15 ms of the 1 s allowed), so an isolate's first
// learn fits the CPU budget instead of paying for cold code (see docs/benchmarks.md).
warmUp();

export default createApp();
