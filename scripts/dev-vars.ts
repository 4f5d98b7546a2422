/**
 * Makes sure local development has its secrets: copies .dev.vars.example to .dev.vars (gitignored,
 * read by wrangler dev) unless .dev.vars exists. Run by `npm run dev`.
 */
import { copyFileSync, existsSync } from "node:fs";

if (!existsSync(".dev.vars")) {
  copyFileSync(".dev.vars.example", ".dev.vars");
  console.error("created .dev.vars from .dev.vars.example: writes need `authorization: Bearer dev-token`");
}
