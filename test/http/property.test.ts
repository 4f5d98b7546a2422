/**
 * Property-based tests (fast-check): whatever a client sends to whichever route, the answer is
 * never a 500, every error is JSON, and a refused request leaves the model's bytes exactly as
 * they were. Plus the tokenizer's contract on arbitrary strings.
 */
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { tokenize } from "../../src/model/tokenizer.ts";
import { vocabHash } from "../../src/model/vocab.ts";
import { encodeModel } from "../../src/store/model-codec.ts";
import { AUTH, call } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { seedTinyModel, tinyModel, tinyVocab } from "../helpers/tiny-model.ts";

const ID = "default";

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Inputs

const encoder = new TextEncoder();
const utf8 = (s: string) => encoder.encode(s);

/** Percent-encodes every byte: any string, even lone surrogates (as U+FFFD), or raw bytes. */
const pct = (bytes: Uint8Array) => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");

/** Text of every kind: any code points (lone surrogates too), grapheme clusters, huge, empty. */
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.string({ unit: "grapheme", maxLength: 100 }),
  fc.constantFrom("", " ", "\u0000", "the cat sat on my mat", "\u202e\u200b\ufeff", "ﷺ".repeat(500), "a ".repeat(9000)),
  fc.nat({ max: 70_000 }).map((n) => "x".repeat(n)),
);

/** A URL path segment: text (percent-encoded), raw bytes that are not UTF-8, or broken escapes. */
const segment = fc.oneof(
  text.map((s) => pct(utf8(s.slice(0, 300)))),
  fc.uint8Array({ maxLength: 40 }).map(pct),
  fc.constantFrom("%", "%zz", "%E0%A4%A", "..", ".", "default", "a:b", "%00"),
);

const json = fc.jsonValue({ maxDepth: 3 });

/** JSON objects mixing the fields of every endpoint with values of every type. */
const fields = fc.record(
  {
    sentence: fc.oneof(text, json),
    lr: fc.oneof(fc.double(), fc.string(), json),
    truncate: fc.oneof(fc.integer(), fc.double(), fc.string()),
    steps: fc.oneof(fc.integer({ min: -2, max: 8 }), fc.double(), fc.string()),
    id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/), text, json),
    from: fc.oneof(fc.constant(ID), text, json),
    version: fc.oneof(fc.integer({ min: -1, max: 5 }), fc.double(), fc.string(), json),
  },
  { requiredKeys: [] },
);

const validFile = (seed: number) =>
  encodeModel(
    tinyModel(seed),
    {
      version: 1,
      vocabHash: vocabHash(tinyVocab()),
      createdAt: "2026-01-01T00:00:00Z",
      updatedAt: "2026-01-01T00:00:00Z",
      tokensLearned: 0,
      learns: 0,
      hyperparameters: {},
    },
    { dtype: seed % 2 ? "F32" : "F16" },
  );

type Header = Record<string, Record<string, unknown>>;

/** The file with its JSON header edited (the data section kept, the length prefix rewritten). */
function withHeader(file: Uint8Array, edit: (h: Header) => void): Uint8Array {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Header;
  edit(header);
  const head = utf8(JSON.stringify(header));
  const out = new Uint8Array(8 + head.length + file.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(file.subarray(8 + n), 8 + head.length);
  return out;
}

const HEADER_FIELDS: [string, string][] = [
  ...["U", "W", "V", "C", "class_start"].flatMap((t) =>
    ["dtype", "shape", "data_offsets"].map((f): [string, string] => [t, f]),
  ),
  ...["format", "output", "hidden", "vocab", "classes", "vocab_hash", "version", "learns", "created_at", "train"].map(
    (f): [string, string] => ["__metadata__", f],
  ),
];

/** Safetensors files: valid, with bytes overwritten, truncated, with a header field replaced or removed. */
const safetensors = fc.oneof(
  fc.nat(9).map(validFile),
  fc
    .tuple(fc.nat(9), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 8 }), fc.boolean())
    .map(([seed, edits, inHeader]) => {
      const f = validFile(seed);
      for (const [at, value] of edits) f[inHeader ? at % 400 : at % f.length] = value;
      return f;
    }),
  fc.tuple(fc.nat(9), fc.nat()).map(([seed, cut]) => {
    const f = validFile(seed);
    return f.slice(0, cut % f.length);
  }),
  fc
    .tuple(fc.nat(9), fc.constantFrom(...HEADER_FIELDS), fc.option(json, { nil: undefined }))
    .map(([seed, [tensor, field], value]) =>
      withHeader(validFile(seed), (h) => {
        if (value === undefined) delete h[tensor][field];
        else h[tensor][field] = value;
      }),
    ),
  fc.tuple(fc.nat(9), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([seed, length]) => {
    const f = validFile(seed);
    new DataView(f.buffer).setBigUint64(0, length, true);
    return f;
  }),
);

/** Bodies of every kind. */
const body = fc.oneof(
  fc.constant(undefined),
  fields.map((o) => utf8(JSON.stringify(o))),
  json.map((v) => utf8(JSON.stringify(v))),
  fc.tuple(fields, fc.nat()).map(([o, cut]) => {
    const s = JSON.stringify(o);
    return utf8(s.slice(0, cut % (s.length + 1)));
  }),
  text.map(utf8),
  fc.uint8Array({ maxLength: 5000 }),
  safetensors,
);

const contentType = fc.constantFrom(
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "text/plain",
  "text/plain; charset=latin1",
  "application/octet-stream",
  "multipart/form-data; boundary=x",
  "application/x-www-form-urlencoded",
  "text/html",
  ";;;",
);

const authorization = fc.constantFrom(
  undefined,
  AUTH.authorization,
  AUTH.authorization.toLowerCase(),
  "Bearer wrong",
  "Basic dGVzdA==",
  "Bearer",
  "",
);

const ROUTES = ["/predict", "/learn", "/model", "/model/weights"];

const path = fc.oneof(
  fc.constantFrom(...ROUTES, "/models", `/models/${ID}`, `/models/${ID}/rollback`, "/health", "/"),
  fc.tuple(fc.constantFrom("", `/models/${ID}`), fc.constantFrom(...ROUTES)).map(([base, route]) => base + route),
  fc.tuple(segment, fc.constantFrom("", ...ROUTES, "/rollback")).map(([id, route]) => `/models/${id}${route}`),
  fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join("/")}`),
);

const query = fc
  .record(
    {
      prefix: fc.oneof(
        text.map((s) => pct(utf8(s.slice(0, 5000)))),
        segment,
      ),
      k: fc.oneof(fc.integer({ min: -5, max: 60 }).map(String), fc.double().map(String), segment),
      fresh: fc.constantFrom("1", "0", "true", "yes", ""),
      lr: fc.oneof(fc.double().map(String), segment),
      steps: fc.oneof(fc.integer({ min: -1, max: 9 }).map(String), segment),
    },
    { requiredKeys: [] },
  )
  .map((q) => {
    const s = Object.entries(q)
      .map(([k, v]) => `${k}=${v}`)
      .join("&");
    return s ? `?${s}` : "";
  });

function request(
  method: fc.Arbitrary<string>,
  paths: fc.Arbitrary<string>,
  auth = authorization,
  types = contentType,
  bodies = body,
): fc.Arbitrary<Req> {
  return fc
    .record({ method, path: paths, query, auth, type: types, body: bodies })
    .map(({ method: m, path: p, query: q, auth: a, type, body: b }) => ({
      method: m,
      path: p + q,
      headers: { ...(a !== undefined && { authorization: a }), ...(type !== undefined && { "content-type": type }) },
      ...(b !== undefined && m !== "GET" && m !== "HEAD" && { body: b }),
    }));
}

// ---------------------------------------------------------------------------------------------
// The property

interface Outcome {
  status: number;
  code?: string;
}

/**
 * Sends the request and checks: not a 5xx (but for a model that does not exist), a JSON error
 * for every 4xx/5xx, and for a refused request the model unchanged. Returns what happened.
 */
async function sendAndCheck(req: Req): Promise<Outcome> {
  const before = await modelState(ID);
  const r = await call(req.path, { method: req.method, headers: req.headers, body: req.body });
  const where = `${req.method} ${req.path.slice(0, 200)} -> ${r.status}`;
  let code: string | undefined;
  if (r.status >= 400) {
    // A HEAD answer has no body: read the error of the same request as a GET.
    const answer = req.method === "HEAD" ? await call(req.path, { headers: req.headers }) : r;
    expect(answer.status, where).toBe(r.status);
    expect(answer.headers.get("content-type"), where).toContain("application/json");
    const payload = (await answer.json()) as { error: { code: unknown; message: unknown } };
    expect(typeof payload.error.code, where).toBe("string");
    expect(typeof payload.error.message, where).toBe("string");
    code = payload.error.code as string;
  }
  if (!r.bodyUsed) await r.body?.cancel();
  expect(r.status < 500 || (r.status === 503 && code === "no_model"), `${where} ${code}`).toBe(true);
  if (r.status >= 400) expect(await modelState(ID), `${where} ${code} changed the model`).toBe(before);
  return { status: r.status, code };
}

const RUNS = 80;
/** Each property stops early (passing) after this long on a loaded machine; a run takes ~2 s. */
const BUDGET = { interruptAfterTimeLimit: 8_000 };
const TIMEOUT_MS = 30_000;

describe("every endpoint, whatever it is sent", () => {
  beforeAll(() => seedTinyModel(env.MODELS, ID));

  it(
    "never answers 500; errors are JSON; a refused request leaves the model's bytes alone",
    async () => {
      const methods = fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");
      await fc.assert(
        fc.asyncProperty(request(methods, path), async (req) => void (await sendAndCheck(req))),
        { numRuns: 2 * RUNS, ...BUDGET },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "POST /learn with the token: 200 or a 4xx",
    async () => {
      const learnPath = fc.constantFrom("/learn", `/models/${ID}/learn`);
      await fc.assert(
        fc.asyncProperty(request(fc.constant("POST"), learnPath, fc.constant(AUTH.authorization)), async (req) => {
          expect([200, 400, 413, 415, 422]).toContain((await sendAndCheck(req)).status);
        }),
        { numRuns: RUNS, ...BUDGET },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "GET /predict: 200 or a 4xx",
    async () => {
      const predictPath = fc.constantFrom("/predict", `/models/${ID}/predict`);
      await fc.assert(
        fc.asyncProperty(request(fc.constant("GET"), predictPath, fc.constant(undefined)), async (req) => {
          expect([200, 400, 413]).toContain((await sendAndCheck(req)).status);
        }),
        { numRuns: RUNS, ...BUDGET },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "PUT /model/weights with the token and broken safetensors: the model is replaced only by a valid file",
    async () => {
      const weightsPath = fc.constantFrom("/model/weights", `/models/${ID}/model/weights`);
      const octets = fc.constant("application/octet-stream");
      await fc.assert(
        fc.asyncProperty(
          request(fc.constant("PUT"), weightsPath, fc.constant(AUTH.authorization), octets, safetensors),
          async (req) => {
            expect([200, 400, 413, 422]).toContain((await sendAndCheck(req)).status);
          },
        ),
        { numRuns: RUNS, ...BUDGET },
      );
    },
    TIMEOUT_MS,
  );

  it(
    "POST /models and rollback with the token: 200/201 or a 4xx",
    async () => {
      const managePath = fc.constantFrom("/models", `/models/${ID}/rollback`);
      const jsonType = fc.constant("application/json");
      const jsonBody = fc.oneof(
        fields.map((o) => utf8(JSON.stringify(o))),
        json.map((v) => utf8(JSON.stringify(v))),
        text.map(utf8),
      );
      await fc.assert(
        fc.asyncProperty(
          request(fc.constant("POST"), managePath, fc.constant(AUTH.authorization), jsonType, jsonBody),
          async (req) => {
            expect([200, 201, 400, 404, 409, 413, 415]).toContain((await sendAndCheck(req)).status);
          },
        ),
        { numRuns: RUNS, ...BUDGET },
      );
    },
    TIMEOUT_MS,
  );
});

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

describe("tokenize", () => {
  const anyString = fc.oneof(
    fc.string({ unit: "binary", maxLength: 300 }),
    fc.string({ unit: "grapheme", maxLength: 100 }),
    fc.string({ maxLength: 300 }),
  );

  it("is total and bounded: at most maxTokens non-empty tokens without spaces, at most 18 chars out per char in", () => {
    fc.assert(
      fc.property(anyString, fc.nat(400), (s, max) => {
        const tokens = tokenize(s, max);
        expect(tokens.length).toBeLessThanOrEqual(max);
        for (const t of tokens) {
          expect(t.length).toBeGreaterThan(0);
          expect(t).not.toMatch(/[\s\p{Cc}]/u);
        }
        expect(tokens.join("").length).toBeLessThanOrEqual(18 * s.length);
      }),
      { numRuns: 500 },
    );
  });

  it("stops after maxTokens: a limit takes the first tokens of the full answer", () => {
    fc.assert(
      fc.property(anyString, fc.nat(30), (s, max) => {
        expect(tokenize(s, max)).toEqual(tokenize(s).slice(0, max));
      }),
      { numRuns: 300 },
    );
  });

  it("gives the same tokens for the same text, and never a lone surrogate", () => {
    fc.assert(
      fc.property(anyString, (s) => {
        const tokens = tokenize(s);
        expect(tokenize(s)).toEqual(tokens);
        for (const t of tokens) expect(t).not.toMatch(LONE_SURROGATE);
      }),
      { numRuns: 300 },
    );
  });
});
