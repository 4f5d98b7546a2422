import { z } from "zod";
import { type Operation, operationPaths } from "./operation.ts";
import { errorSchema, modelIdSchema } from "./schemas.ts";

type Json = Record<string, unknown>;

/** A zod schema as JSON Schema (OpenAPI 3.1 uses draft 2020-12), without the $schema marker. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io }) as Json;
  return rest;
}

const ERROR_REF = { $ref: "#/components/schemas/Error" };

const DESCRIPTIONS: Record<number, string> = {
  400: "invalid request (see error.code)",
  401: "missing or wrong bearer token",
  404: "no such model",
  409: "conflict with the model's state",
  413: "request too large",
  415: "unsupported media type",
  422: "request cannot be served (e.g. over the CPU budget)",
  429: "rate limited (see Retry-After)",
  503: "model or writer unavailable, or writes disabled (see Retry-After)",
};

/** Statuses the access guard adds: rate limits and tokens (src/http/auth.ts, rate-limit.ts). */
const GUARD_ERRORS: Record<Operation["access"], number[]> = {
  public: [],
  read: [401, 429],
  write: [401, 429, 503],
  user: [401, 403, 429, 503],
};

const SECURITY: Record<Operation["access"], Json[]> = {
  public: [],
  // A read needs a token only when READ_TOKEN is set.
  read: [{}, { bearer: [] }],
  write: [{ bearer: [] }],
  user: [{ bearer: [] }],
};

function parameters(op: Operation, path: string): Json[] {
  const params: Json[] = [];
  if (path.includes(":id")) {
    params.push({
      name: "id",
      in: "path",
      required: true,
      schema: jsonSchema(modelIdSchema, "input"),
      example: "default",
    });
  }
  for (const [name, field] of Object.entries(op.query?.shape ?? {})) {
    const schema = field as z.ZodType;
    const example = op.example.query?.[name];
    params.push({
      name,
      in: "query",
      required: !schema.safeParse(undefined).success,
      schema: jsonSchema(schema, "input"),
      ...(example === undefined ? {} : { example }),
    });
  }
  return params;
}

function operation(op: Operation, path: string): Json {
  const success = op.success;
  const content = {
    [success.contentType ?? "application/json"]: success.schema ? { schema: jsonSchema(success.schema, "output") } : {},
  };
  const responses: Json = { [success.status]: { description: success.description, content } };
  for (const status of [...new Set([...op.errors, ...GUARD_ERRORS[op.access]])].sort((a, b) => a - b)) {
    responses[status] = {
      description: DESCRIPTIONS[status] ?? "error",
      content: { "application/json": { schema: ERROR_REF } },
    };
  }
  const body = op.body && {
    required: true,
    ...(op.body.description ? { description: op.body.description } : {}),
    content: {
      [op.body.contentType]: {
        schema: op.body.schema
          ? jsonSchema(op.body.schema, "input")
          : { type: "string", contentMediaType: op.body.contentType },
        ...(op.example.body === undefined ? {} : { example: op.example.body }),
      },
    },
  };
  const params = parameters(op, path);
  return {
    summary: op.summary,
    operationId: `${op.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, ch: string | undefined) => (ch ?? "").toUpperCase())}`,
    security: SECURITY[op.access],
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the given routes; Hono's ":id" becomes "{id}". */
export function openApiDocument(ops: readonly Operation[]): Json {
  const paths: Record<string, Json> = {};
  for (const op of ops) {
    for (const path of operationPaths(op)) {
      const key = path.replace(/:(\w+)/g, "{$1}");
      paths[key] = { ...paths[key], [op.method]: operation(op, path) };
    }
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "edge-rnnlm",
      version: "1",
      description:
        'Next-word predictions from a small RNN language model that learns online. Errors are JSON {"error": {"code", "message"}}.',
    },
    paths,
    components: {
      schemas: { Error: jsonSchema(errorSchema, "output") },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "LEARN_TOKEN for writes; READ_TOKEN (or LEARN_TOKEN) for reads when READ_TOKEN is set; a user token (JWT, HS256, USER_TOKEN_SECRET) for its own user, and shared learns with scope shared",
        },
      },
    },
  };
}
