import type { ModelWriter } from "./writer/model-writer.ts";

/** The Worker's bindings and variables (wrangler.toml; secrets via `wrangler secret put`). */
export interface Env {
  /** Model manifests, immutable weight versions and vocabularies. */
  MODELS: KVNamespace;
  /** One Durable Object per model: its only writer. */
  WRITER: DurableObjectNamespace<ModelWriter>;
  /** Minimum milliseconds between two publishes of a model to KV ("0" publishes on every learn). */
  PUBLISH_INTERVAL_MS?: string;
  /** CPU budget of one /learn in ms (default 10, the Free plan's limit); see src/budget. */
  LEARN_CPU_MS?: string;
  /** Published versions kept per model (older ones are deleted). */
  KEEP_VERSIONS?: string;
  /** Secret: the bearer token of every write; without it writes are refused (docs/limits.md). */
  LEARN_TOKEN?: string;
  /** Secret, optional: when set, reads need it (or LEARN_TOKEN) as a bearer token. */
  READ_TOKEN?: string;
  /** Rate Limiting bindings: per-client budgets of writes and of reads (absent: no limit). */
  WRITE_LIMITER?: RateLimit;
  READ_LIMITER?: RateLimit;
}

type WorkerEnv = Env;

declare global {
  namespace Cloudflare {
    // Types `env` and `exports` from "cloudflare:workers" (tests use both).
    interface Env extends WorkerEnv {}
    interface GlobalProps {
      mainModule: typeof import("./index.ts");
      durableNamespaces: "ModelWriter";
    }
  }
}
