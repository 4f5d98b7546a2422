import { z } from "zod";
import { deleteBlocklistRoute, getBlocklistRoute, putBlocklistRoute } from "./blocklist.ts";
import { docsPage } from "./docs-page.ts";
import { healthRoute } from "./health.ts";
import { learnRoute } from "./learn.ts";
import { modelRoute, weightsRoute } from "./model.ts";
import { createRoute, rollbackRoute } from "./models.ts";
import { openApiDocument } from "./openapi.ts";
import type { Operation } from "./operation.ts";
import { predictRoute } from "./predict.ts";
import {
  blocklistResponseSchema,
  blocklistSchema,
  createdModelSchema,
  createModelBodySchema,
  healthResponseSchema,
  importResponseSchema,
  learnBodySchema,
  forgetBodySchema,
  forgetResponseSchema,
  learnResponseSchema,
  personalLearnResponseSchema,
  userDeletedSchema,
  userImportSchema,
  userInfoSchema,
  modelMetadataSchema,
  predictQuerySchema,
  predictResponseSchema,
  rollbackBodySchema,
  rollbackResponseSchema,
} from "./schemas.ts";
import { deleteUserRoute, exportRoute, forgetRoute, importUserRoute, userRoute } from "./users.ts";
import { importRoute } from "./weights-import.ts";

/**
 * Every route of the API. app.ts registers exactly these and openapi.ts documents exactly
 * these, so a route cannot exist undocumented.
 */
// The document and the page never change while the isolate lives: made on first request, then reused.
let openApi: ReturnType<typeof openApiDocument> | undefined;
let page: ReturnType<typeof docsPage> | undefined;

export const OPERATIONS: readonly Operation[] = [
  {
    method: "get", path: "/health", perModel: false, access: "public",
    summary: "The Worker answers (touches no binding)",
    handlers: [healthRoute], example: {},
    success: { status: 200, description: "alive", schema: healthResponseSchema }, errors: [],
  },
  {
    method: "get", path: "/openapi.json", perModel: false, access: "public",
    summary: "This OpenAPI 3.1 document",
    handlers: [(c) => c.json((openApi ??= openApiDocument(OPERATIONS)))], example: {},
    success: { status: 200, description: "the document" }, errors: [],
  },
  {
    method: "get", path: "/docs", perModel: false, access: "public",
    summary: "A browsable page of this document (works offline)",
    handlers: [async (c) => {
      const { html, headers } = await (page ??= docsPage());
      return c.html(html, 200, headers);
    }], example: {},
    success: { status: 200, description: "HTML page", contentType: "text/html" }, errors: [],
  },
  {
    method: "get", path: "/predict", perModel: true, access: "read",
    summary: "The k most probable next words after a prefix, or with partial the k most probable words completing the word being typed",
    handlers: [predictRoute], query: predictQuerySchema, example: { query: { prefix: "the quick brown", partial: "f", k: 3 } },
    success: { status: 200, description: "predictions", schema: predictResponseSchema },
    errors: [400, 404, 409, 413, 503],
  },
  {
    method: "post", path: "/learn", perModel: true, access: "user",
    summary: "Fine-tune the model on one sentence (JSON, or the sentence as text/plain)",
    handlers: [learnRoute],
    body: { contentType: "application/json", schema: learnBodySchema },
    example: { body: { sentence: "the quick brown fox jumps over the lazy dog", lr: 0.02, truncate: 4, steps: 1 } },
    success: {
      status: 200,
      description: "losses before and after, and the model version; with user: the user's learns",
      schema: z.union([learnResponseSchema, personalLearnResponseSchema]),
    },
    errors: [400, 404, 409, 413, 415, 422, 503],
  },
  {
    method: "get", path: "/model", perModel: true, access: "read",
    summary: "The published model's metadata",
    handlers: [modelRoute], example: {},
    success: { status: 200, description: "metadata", schema: modelMetadataSchema }, errors: [400, 404, 503],
  },
  {
    method: "get", path: "/model/weights", perModel: true, access: "read",
    summary: "The published weights as a safetensors file",
    handlers: [weightsRoute], example: {},
    success: { status: 200, description: "safetensors bytes", contentType: "application/octet-stream" },
    errors: [400, 404, 503],
  },
  {
    method: "put", path: "/model/weights", perModel: true, access: "write",
    summary: "Replace the weights with a safetensors file of the same architecture",
    handlers: [importRoute],
    body: { contentType: "application/octet-stream", description: "a safetensors file, as from GET /model/weights" },
    example: {},
    success: { status: 200, description: "the new version", schema: importResponseSchema },
    errors: [400, 404, 409, 413, 415, 422, 503],
  },
  {
    method: "post", path: "/models", perModel: false, access: "write",
    summary: "Create a model as a copy of another (copy-on-write)",
    handlers: [createRoute],
    body: { contentType: "application/json", schema: createModelBodySchema },
    example: { body: { id: "my-model", from: "default" } },
    success: { status: 201, description: "the new model's metadata", schema: createdModelSchema },
    errors: [400, 404, 409, 413, 415, 503],
  },
  {
    method: "get", path: "/blocklist", perModel: false, access: "write",
    summary: "The deployment-wide blocklist: words never suggested (admin token)",
    handlers: [getBlocklistRoute], example: {},
    success: { status: 200, description: "the blocked words (tokens), sorted", schema: blocklistResponseSchema }, errors: [503],
  },
  {
    method: "put", path: "/blocklist", perModel: false, access: "write",
    summary: "Replace the blocklist: its words are never suggested, still read as context, and never take a learned-word slot",
    handlers: [putBlocklistRoute],
    body: { contentType: "application/json", schema: blocklistSchema },
    example: { body: { words: ["zorblax"] } },
    success: { status: 200, description: "the blocklist as stored (tokens, sorted)", schema: blocklistResponseSchema },
    errors: [400, 413, 415],
  },
  {
    method: "delete", path: "/blocklist", perModel: false, access: "write",
    summary: "Clear the blocklist",
    handlers: [deleteBlocklistRoute], example: {},
    success: { status: 200, description: "the (empty) blocklist", schema: blocklistResponseSchema }, errors: [],
  },
  {
    method: "get", path: "/models/:id", perModel: false, access: "read",
    summary: "A model's metadata (as /models/{id}/model)",
    handlers: [modelRoute], example: {},
    success: { status: 200, description: "metadata", schema: modelMetadataSchema }, errors: [400, 404, 503],
  },
  {
    method: "post", path: "/models/:id/rollback", perModel: false, access: "write",
    summary: "Restore a retained version; it becomes a new version at once",
    handlers: [rollbackRoute],
    body: { contentType: "application/json", schema: rollbackBodySchema },
    example: { body: { version: 1 } },
    success: { status: 200, description: "the restored version and the new one", schema: rollbackResponseSchema },
    errors: [400, 404, 409, 413, 415, 503],
  },
  {
    method: "get", path: "/users/:id", perModel: false, access: "user",
    summary: "A user's personal data: bytes, learns, tokens, learned words, dates (per layer and in all)",
    handlers: [userRoute], example: {},
    success: { status: 200, description: "the user's data summary", schema: userInfoSchema }, errors: [400, 503],
  },
  {
    method: "delete", path: "/users/:id", perModel: false, access: "user",
    summary: "Erase all of a user's data (every layer, snapshot and log entry)",
    handlers: [deleteUserRoute], example: {},
    success: { status: 200, description: "erased", schema: userDeletedSchema }, errors: [400, 503],
  },
  {
    method: "post", path: "/users/:id/forget", perModel: false, access: "user",
    summary: "Never suggest a word from the user's layers again, and forget its remembered phrases",
    handlers: [forgetRoute],
    body: { contentType: "application/json", schema: forgetBodySchema },
    example: { body: { word: "quick" } },
    success: { status: 200, description: "how many layers now forget the word", schema: forgetResponseSchema },
    errors: [400, 409, 413, 415, 503],
  },
  {
    method: "get", path: "/users/:id/export", perModel: false, access: "user",
    summary: "The user's data as a safetensors file (docs/personal.md)",
    handlers: [exportRoute], example: {},
    success: { status: 200, description: "safetensors bytes", contentType: "application/octet-stream" }, errors: [400, 409, 503],
  },
  {
    method: "put", path: "/users/:id/import", perModel: false, access: "user",
    summary: "Replace the user's data with an exported file (validated; on any error nothing changes)",
    handlers: [importUserRoute],
    body: { contentType: "application/octet-stream", description: "a user file, as from GET /users/{id}/export" },
    example: {},
    success: { status: 200, description: "the layers imported", schema: userImportSchema },
    errors: [400, 413, 415, 422, 503],
  },
];
