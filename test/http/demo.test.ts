import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";

/** The static assets binding of wrangler.toml's [assets] (the Worker itself never needs it). */
const assets = env.ASSETS;

async function asset(path: string): Promise<Response> {
  return assets.fetch(`http://edge-rnnlm.test${path}`);
}

describe("demo page (static assets)", () => {
  it("serves index.html at / with the text box, the suggestions, the teach button and the token field", async () => {
    const r = await asset("/");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await r.text();
    for (const id of ['id="text"', 'id="suggestions"', 'id="teach"', 'id="token"', 'id="model"'])
      expect(html).toContain(id);
  });

  it("serves every script and stylesheet the page names", async () => {
    const html = await (await asset("/")).text();
    const refs = [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]);
    expect(refs).toEqual(expect.arrayContaining(["/app.js", "/app.css"]));
    for (const ref of refs) {
      const r = await asset(ref);
      expect(r.status, ref).toBe(200);
      expect((await r.text()).length, ref).toBeGreaterThan(100);
    }
  });
});
