import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { PAGE_HEADERS } from "../../src/http/docs-page.ts";
import { call } from "../helpers/api.ts";

/** The static assets binding of wrangler.toml's [assets], which applies public/_headers. */
const assets = (env as unknown as { ASSETS: Fetcher }).ASSETS;

/** A Content-Security-Policy as a map from directive to its sources. */
function directives(csp: string | null): Map<string, string[]> {
  return new Map(
    (csp ?? "")
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0] !== "")
      .map(([name, ...sources]) => [name, sources]),
  );
}

async function sha256Source(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
}

function expectPageHeaders(r: Response): Map<string, string[]> {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) expect(r.headers.get(name), name).toBe(value);
  const csp = directives(r.headers.get("content-security-policy"));
  expect(csp.get("default-src")).toEqual(["'none'"]);
  expect(csp.get("frame-ancestors")).toEqual(["'none'"]);
  expect(csp.get("connect-src")).toEqual(["'self'"]);
  expect(csp.get("base-uri")).toEqual(["'none'"]);
  return csp;
}

describe("security headers", () => {
  it("the demo page and its files: scripts, styles and API of this origin only, no framing, no sniffing", async () => {
    for (const path of ["/", "/index.html", "/app.js", "/app.css"]) {
      const r = await assets.fetch(`http://edge-rnnlm.test${path}`);
      expect(r.status, path).toBe(200);
      const csp = expectPageHeaders(r);
      expect(csp.get("script-src")).toEqual(["'self'"]);
      expect(csp.get("style-src")).toEqual(["'self'"]);
    }
    // Which holds only while the page has no inline script, style or handler.
    const html = await (await assets.fetch("http://edge-rnnlm.test/")).text();
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    expect((await assets.fetch("http://edge-rnnlm.test/_headers")).status).toBe(404);
  });

  it("/docs: its own inline script and style by hash, nothing else", async () => {
    const r = await call("/docs");
    expect(r.status).toBe(200);
    const csp = expectPageHeaders(r);
    const html = await r.text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? "";
    const style = /<style>([\s\S]*)<\/style>/.exec(html)?.[1] ?? "";
    expect(csp.get("script-src")).toEqual([await sha256Source(script)]);
    expect(csp.get("style-src")).toEqual([await sha256Source(style)]);
  });
});
