/**
 * The Worker's bindings and variables. `Cloudflare.Env` is generated from wrangler.toml by
 * `npm run types` into worker-configuration.d.ts (`npm run typecheck` fails when that file is
 * stale), so bindings and types cannot drift apart. Secrets live outside wrangler.toml and a
 * deployment may leave any of them unset, so they are declared here, optional.
 */
export type Env = Cloudflare.Env;

declare global {
  namespace Cloudflare {
    interface Env {
      /** Secret: the bearer token of every write; without it writes are refused (docs/limits.md). */
      LEARN_TOKEN?: string;
      /** Secret, optional: the HS256 key of per-user tokens (src/http/user-token.ts); without it only LEARN_TOKEN works. */
      USER_TOKEN_SECRET?: string;
      /** Secret, optional: when set, reads need it (or LEARN_TOKEN) as a bearer token. */
      READ_TOKEN?: string;
    }
  }
}
