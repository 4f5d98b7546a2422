/**
 * GET /docs: a self-contained page (no CDN: it must work offline) that renders /openapi.json
 * client-side as a list of operations with their parameters, bodies, examples and responses.
 */
const SCRIPT = `
const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[ch]);
const pre = (v) => "<pre>" + esc(JSON.stringify(v, null, 2)) + "</pre>";
fetch("openapi.json").then((r) => r.json()).then((doc) => {
  const out = [];
  out.push("<h1>" + esc(doc.info.title) + " <small>OpenAPI " + esc(doc.openapi) + "</small></h1><p>" + esc(doc.info.description) + "</p>");
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const auth = op.security.some((s) => Object.keys(s).length === 0) ? (op.security.length ? "token when READ_TOKEN is set" : "public") : "bearer token";
      out.push("<section><h2><span class=m>" + method.toUpperCase() + "</span> " + esc(path) + "</h2><p>" + esc(op.summary) + " <em>(" + auth + ")</em></p>");
      if (op.parameters) {
        out.push("<table><tr><th>parameter</th><th>in</th><th>schema</th><th>example</th></tr>");
        for (const p of op.parameters) {
          out.push("<tr><td>" + esc(p.name) + (p.required ? " *" : "") + "</td><td>" + esc(p.in) + "</td><td><code>" + esc(JSON.stringify(p.schema)) + "</code></td><td>" + esc(p.example ?? "") + "</td></tr>");
        }
        out.push("</table>");
      }
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        out.push("<h3>Body (" + esc(type) + ")</h3>" + pre(media.schema) + (media.example === undefined ? "" : "<h3>Example</h3>" + pre(media.example)));
      }
      out.push("<h3>Responses</h3><ul>");
      for (const [status, r] of Object.entries(op.responses)) out.push("<li><b>" + esc(status) + "</b> " + esc(r.description) + "</li>");
      out.push("</ul></section>");
    }
  }
  document.getElementById("doc").innerHTML = out.join("");
}).catch((e) => { document.getElementById("doc").textContent = "could not load openapi.json: " + e; });
`;

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
section { border-top: 1px solid #ddd; padding: .5rem 0; }
h2 { font-size: 1.1rem; font-family: ui-monospace, monospace; } h3 { font-size: .95rem; margin-bottom: .2rem; }
.m { background: #246; color: #fff; padding: 0 .4rem; border-radius: 3px; }
pre, code { background: #f5f5f5; font-size: .85rem; } pre { padding: .5rem; overflow-x: auto; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .2rem .4rem; text-align: left; vertical-align: top; }
`;

const HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>edge-rnnlm API</title>
<style>${STYLE}</style></head>
<body><main id="doc">Loading <a href="openapi.json">openapi.json</a>…</main>
<script>${SCRIPT}</script></body></html>`;

/**
 * Headers of the HTML pages (the demo's are in public/_headers): no framing by another site, no
 * content sniffing, no referrer. The Content-Security-Policy is each page's own.
 */
export const PAGE_HEADERS = {
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
} as const;

async function sha256Source(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return `'sha256-${btoa(String.fromCharCode(...digest))}'`;
}

/**
 * The page and its headers. Its policy allows exactly its own inline script and style (by their
 * SHA-256) and requests to this origin (openapi.json), nothing else, and no framing.
 */
export async function docsPage(): Promise<{ html: string; headers: Record<string, string> }> {
  const [script, style] = await Promise.all([sha256Source(SCRIPT), sha256Source(STYLE)]);
  const csp = `default-src 'none'; script-src ${script}; style-src ${style}; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html: HTML, headers: { "content-security-policy": csp, ...PAGE_HEADERS } };
}
