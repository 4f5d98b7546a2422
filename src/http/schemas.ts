import { z } from "zod";
import { MAX_BLOCKED_CHARS, MAX_BLOCKED_WORDS } from "../store/blocklist.ts";
import { LEARN_BOUNDS, LIMITS } from "../config.ts";
import { MODEL_ID, MODEL_ID_RULE } from "../store/kv-layout.ts";

/**
 * The API's request and response shapes. Request validation (params.ts, body.ts, models.ts)
 * and the OpenAPI document (openapi.ts) both read these, so the two cannot drift.
 */

type Bounds = { readonly min: number; readonly max: number; readonly default: number };

/** A bounded number with a default; params.ts reads its bounds back for error messages. */
export function boundedNumber(bounds: Bounds, integer: boolean): z.ZodDefault<z.ZodNumber> {
  const n = integer ? z.number().int() : z.number();
  return n.min(bounds.min).max(bounds.max).default(bounds.default);
}

export const modelIdSchema = z.string().regex(MODEL_ID).describe(MODEL_ID_RULE);

export const predictQuerySchema = z.object({
  prefix: z
    .string()
    .max(LIMITS.maxPrefixChars)
    .optional()
    .describe("the text typed so far (before the word being typed, when partial is given)"),
  partial: z
    .string()
    .max(LIMITS.maxPartialChars)
    .optional()
    .describe(
      "the characters typed of the current word: complete it (words only, matched after the tokenizer's normalisation); empty: the next word",
    ),
  k: boundedNumber({ min: LIMITS.minK, max: LIMITS.maxK, default: LIMITS.defaultK }, true).describe(
    "how many next words to return",
  ),
  fresh: z.string().optional().describe("1 or true: ask the writer, which sees every learn at once"),
  user: modelIdSchema
    .optional()
    .describe("predict with this user's personal layer (needs a token; sees every learn of the user at once)"),
});

export const learnBodySchema = z.object({
  sentence: z.string().describe("the sentence to learn (or send it as text/plain)"),
  lr: boundedNumber(LEARN_BOUNDS.lr, false).describe("learning rate"),
  truncate: boundedNumber(LEARN_BOUNDS.truncate, true).describe("BPTT truncation, in steps"),
  steps: boundedNumber(LEARN_BOUNDS.steps, true).describe("gradient steps on the sentence"),
  user: modelIdSchema
    .optional()
    .describe("learn into this user's personal layer only (then lr, truncate and steps do not apply)"),
});

export const forgetBodySchema = z.object({
  word: z.string().min(1).max(64).describe("the word never to suggest again"),
});

const layerInfoSchema = z.object({
  model: z.string(),
  bytes: z.number().int(),
  learns: z.number().int(),
  tokens: z.number().int(),
  learnedWords: z.number().int(),
  forgottenWords: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const userInfoSchema = z.object({
  id: z.string(),
  bytes: z.number().int().describe("stored bytes of the user's data: layer snapshots and log entries"),
  storageBytes: z.number().int().describe("the user's SQLite database, pages and schema included"),
  learns: z.number().int(),
  tokens: z.number().int(),
  learnedWords: z.number().int(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  layers: z.array(layerInfoSchema),
});

export const userDeletedSchema = z.object({
  id: z.string(),
  erased: z.boolean().describe("false when there was nothing to erase"),
});

export const forgetResponseSchema = z.object({ id: z.string(), word: z.string(), layers: z.number().int() });

export const userImportSchema = z.object({ id: z.string(), layers: z.number().int() });

export const createModelBodySchema = z.object({
  id: modelIdSchema,
  from: modelIdSchema.optional().describe('the model to copy (default: "default")'),
});

export const rollbackBodySchema = z.object({ version: z.number().int().min(0) });

const modelRefSchema = z.object({ id: z.string(), version: z.number().int(), published: z.boolean() });

export const predictResponseSchema = z.object({
  prefix: z.array(z.string()),
  /** The partial as matched (normalised), when one was given. */
  partial: z.string().optional(),
  predictions: z.array(
    z.object({
      word: z.string().describe("the token, as the model reads it"),
      text: z.string().describe('the word as people write it: its most frequent written form ("I", "Washington")'),
      p: z.number(),
    }),
  ),
  model: z.object({ id: z.string(), version: z.number().int(), fresh: z.boolean().optional() }),
  user: z
    .object({ id: z.string(), learns: z.number().int() })
    .optional()
    .describe("with user=: whose layer, and its learns"),
});

export const learnResponseSchema = z.object({
  tokens: z.number().int(),
  /** The network's mean loss on the sentence (nats per token), without the phrase memory's mix. */
  lossBefore: z.number(),
  lossAfter: z.number(),
  budget: z.object({ estimateMs: z.number(), budgetMs: z.number(), truncated: z.boolean() }),
  model: modelRefSchema,
});

/** A learn with user=: into the user's layer, visible to their predictions at once. */
export const personalLearnResponseSchema = z.object({
  tokens: z.number().int(),
  /** The personal model's mean loss on the sentence before the learn (nats per token). */
  lossBefore: z.number(),
  model: z.object({
    id: z.string(),
    version: z.number().int().describe("the shared version the layer was learned over"),
  }),
  user: z.object({ id: z.string(), learns: z.number().int() }),
});

export const modelMetadataSchema = z.object({
  id: z.string(),
  version: z.number().int(),
  vocab: z.number().int(),
  hidden: z.number().int(),
  output: z.enum(["full", "class"]),
  classes: z.number().int(),
  directOrder: z.number().int(),
  directSize: z.number().int(),
  learnedWords: z.number().int(),
  hyperparameters: z.record(z.string(), z.unknown()),
  vocabHash: z.string(),
  bytes: z.number().int(),
  learns: z.number().int(),
  tokensLearned: z.number().int(),
  learnLossAvg: z.number().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** POST /models answers the new model's metadata, with the version it was copied from. */
export const createdModelSchema = modelMetadataSchema
  .omit({ learnLossAvg: true })
  .extend({ base: z.object({ id: z.string(), version: z.number().int() }).optional() });

export const rollbackResponseSchema = z.object({ restored: z.number().int(), model: modelRefSchema });

export const importResponseSchema = z.object({
  model: modelRefSchema,
  learns: z.number().int(),
  tokensLearned: z.number().int(),
});

export const healthResponseSchema = z.object({ ok: z.literal(true), service: z.string(), time: z.string() });

export const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const blocklistSchema = z.object({
  words: z
    .array(z.string().max(MAX_BLOCKED_CHARS))
    .min(1)
    .max(MAX_BLOCKED_WORDS)
    .describe("words never suggested, each one word (stored as its token)"),
});

export const blocklistResponseSchema = z.object({
  words: z.array(z.string()).describe("the blocked words as tokens, sorted"),
});
