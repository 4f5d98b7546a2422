import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { LEARN_BOUNDS, LIMITS } from "../../src/config.ts";
import { createApp } from "../../src/http/app.ts";
import { type Operation, operationPaths } from "../../src/http/operation.ts";
import { OPERATIONS } from "../../src/http/routes.ts";
import { type ApiErrorBody, AUTH, call, json } from "../helpers/api.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";

interface MediaType {
  schema?: unknown;
  example?: unknown;
}
interface DocOperation {
  summary: string;
  operationId: string;
  parameters?: { name: string; in: string; schema: unknown; example?: unknown }[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<string, { description: string; content?: Record<string, MediaType> }>;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, DocOperation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

const docPath = (honoPath: string) => honoPath.replace(/:(\w+)/g, "{$1}");
let doc: Doc;
let models = 0;

beforeAll(async () => {
  const r = await json<Doc>("/openapi.json");
  expect(r.status).toBe(200);
  doc = r.body;
  await seedTinyModel(env.MODELS); // the default model, for the paths without {id}
});

/** The documented operation at a Hono path, as served in /openapi.json. */
const documented = (op: Operation, path: string): DocOperation => doc.paths[docPath(path)][op.method];

/** The example request of an operation at one of its paths, read back from the document. */
function exampleRequest(op: Operation, path: string, id: string): { url: string; init: RequestInit } | null {
  const d = documented(op, path);
  const query = new URLSearchParams();
  for (const p of d.parameters ?? [])
    if (p.in === "query" && p.example !== undefined) query.set(p.name, String(p.example));
  const url = path.replace(":id", id) + (query.size ? `?${query}` : "");
  const headers: Record<string, string> = { ...AUTH };
  if (!d.requestBody) return { url, init: { method: op.method.toUpperCase(), headers } };
  const [type, media] = Object.entries(d.requestBody.content)[0];
  if (media.example === undefined) return null; // a binary upload: no JSON example to send
  headers["content-type"] = type;
  return { url, init: { method: op.method.toUpperCase(), headers, body: JSON.stringify(media.example) } };
}

/**
 * The binary uploads (PUT /model/weights, PUT /users/{id}/import) have no JSON example: each is
 * sent what its GET counterpart answers (the model's own file, the user's export).
 */
async function weightsUpload(op: Operation, path: string, id: string): Promise<{ url: string; init: RequestInit }> {
  expect(op.body?.contentType).toBe("application/octet-stream");
  const url = path.replace(":id", id);
  const file = await call(url.replace(/\/import$/, "/export"), { headers: AUTH });
  expect(file.status).toBe(200);
  const headers = { ...AUTH, "content-type": "application/octet-stream" };
  return { url, init: { method: "PUT", headers, body: await file.arrayBuffer() } };
}

describe("the OpenAPI document", () => {
  it("is OpenAPI 3.1 with info, paths and the shared error schema", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe("edge-rnnlm");
    expect(doc.info.version).toBeTruthy();
    expect(Object.keys(doc.paths).length).toBeGreaterThan(5);
    expect(doc.components.schemas.Error).toMatchObject({ type: "object", required: ["error"] });
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    const ids = new Set<string>();
    for (const ops of Object.values(doc.paths)) {
      for (const op of Object.values(ops)) {
        expect(op.summary).toBeTruthy();
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        const statuses = Object.keys(op.responses).map(Number);
        expect(statuses.some((s) => s >= 200 && s < 300)).toBe(true);
        for (const s of statuses.filter((s) => s >= 400)) {
          expect(op.responses[s].content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
        }
      }
    }
  });

  it("documents every route Hono has registered, with its method, and nothing more", () => {
    const registered = new Set(
      createApp()
        .routes.filter((r) => r.method !== "ALL")
        .map((r) => `${r.method.toLowerCase()} ${docPath(r.path)}`),
    );
    const inDoc = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`)),
    );
    expect(registered.size).toBeGreaterThan(10);
    expect([...inDoc].sort()).toEqual([...registered].sort());
    expect(inDoc).toContain("get /models/{id}/predict");
    expect(inDoc).toContain("post /learn");
  });

  it("asks for the bearer token on writes", () => {
    expect(doc.paths["/learn"].post).toMatchObject({ security: [{ bearer: [] }] });
    expect(doc.paths["/models/{id}/model/weights"].put).toMatchObject({ security: [{ bearer: [] }] });
    expect(doc.paths["/predict"].get).toMatchObject({ security: [{}, { bearer: [] }] });
  });

  it("takes its bounds from the config", () => {
    const k = doc.paths["/predict"].get.parameters?.find((p) => p.name === "k");
    expect(k?.schema).toMatchObject({
      type: "integer",
      minimum: LIMITS.minK,
      maximum: LIMITS.maxK,
      default: LIMITS.defaultK,
    });
    const body = doc.paths["/learn"].post.requestBody?.content["application/json"].schema;
    expect(body).toMatchObject({ properties: { lr: { minimum: LEARN_BOUNDS.lr.min, maximum: LEARN_BOUNDS.lr.max } } });
  });

  it("serves /docs as a self-contained page that renders /openapi.json", async () => {
    const r = await call("/docs");
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("text/html");
    const html = await r.text();
    expect(html).toContain('fetch("openapi.json")');
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)=/);
  });
});

describe("the documented examples", () => {
  it("validate against their schemas", () => {
    const checked: string[] = [];
    for (const op of OPERATIONS) {
      for (const path of operationPaths(op)) {
        const d = documented(op, path);
        const query = Object.fromEntries(
          (d.parameters ?? []).filter((p) => p.in === "query").map((p) => [p.name, p.example]),
        );
        const body = d.requestBody && Object.values(d.requestBody.content)[0].example;
        for (const [schema, example] of [
          [op.query, query],
          [op.body?.schema, body],
        ] as const) {
          if (!schema) continue;
          expect(schema.safeParse(example).success, `${op.method} ${path}`).toBe(true);
          checked.push(`${op.method} ${path}`);
        }
      }
    }
    // /predict and /learn (both paths each), POST /models, rollback, forget, PUT /blocklist.
    expect(checked).toHaveLength(8);
  });

  it.each(OPERATIONS.flatMap((op) => operationPaths(op).map((path) => [`${op.method} ${path}`, op, path] as const)))(
    "%s: the example is accepted by the live endpoint, which answers the documented shape",
    async (_name, op, path) => {
      const id = `openapi-${++models}`;
      await seedTinyModel(env.MODELS, id);
      const req = exampleRequest(op, path, id) ?? (await weightsUpload(op, path, id));
      const r = await call(req.url, req.init);
      expect(r.status, `${req.init.method} ${req.url}`).toBe(op.success.status);
      // And the answer has the documented shape.
      if (op.success.schema) {
        const parsed = op.success.schema.safeParse(await r.json());
        expect(parsed.success, `${req.init.method} ${req.url}: ${parsed.error?.message}`).toBe(true);
      }
    },
  );

  it.each([
    ["get", "/predict", { query: { k: LIMITS.maxK + 1 } }, "invalid_parameter"],
    ["post", "/learn", { body: { sentence: "the cat", lr: LEARN_BOUNDS.lr.max * 2 } }, "invalid_parameter"],
    ["post", "/learn", { body: { sentence: 7 } }, "invalid_sentence"],
    ["post", "/models", { body: { id: "not a model id!" } }, "invalid_model_id"],
    ["post", "/models/:id/rollback", { body: { version: -1 } }, "invalid_version"],
    ["put", "/blocklist", { body: { words: [] } }, "invalid_blocklist"],
  ] as const)(
    "%s %s refuses the invalid example %o with the documented error %s",
    async (method, path, example, code) => {
      const op = OPERATIONS.find((o) => o.method === method && o.path === path) as Operation;
      const schema = "query" in example ? op.query : op.body?.schema;
      expect(schema?.safeParse("query" in example ? example.query : example.body).success).toBe(false);
      const id = `openapi-${++models}`;
      await seedTinyModel(env.MODELS, id);
      const query =
        "query" in example
          ? `?${new URLSearchParams(Object.entries(example.query).map(([k, v]) => [k, String(v)]))}`
          : "";
      const init: RequestInit = {
        method: method.toUpperCase(),
        headers: { ...AUTH, "content-type": "application/json" },
      };
      if ("body" in example) init.body = JSON.stringify(example.body);
      const r = await json<ApiErrorBody>(path.replace(":id", id) + query, init);
      expect(r.body.error.code).toBe(code);
      expect(Object.keys(documented(op, path).responses)).toContain(String(r.status));
    },
  );
});
