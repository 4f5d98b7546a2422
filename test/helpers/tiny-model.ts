import { initModel } from "../../src/model/init.ts";
import type { RnnLm } from "../../src/model/model.ts";
import { assignClasses } from "../../src/model/output/class-softmax.ts";
import { seededRng } from "../../src/model/rng.ts";
import { SPECIALS, type Vocab, vocabHash } from "../../src/model/vocab.ts";
import { publishVersion } from "../../src/store/kv-layout.ts";
import { encodeModel } from "../../src/store/model-codec.ts";

/** A small untrained class-factorized model over a few dozen words, for HTTP and writer tests. */
export const WORDS = (
  "the quick brown fox jumps over lazy dog a cat sat on mat and it was very good day " +
  "i you we they is are to of in for with my your new old big small red green blue , . ?"
).split(" ");

/** Written forms of the tiny vocabulary's words that are not written as their token. */
export const TINY_FORMS = new Map([["i", "I"]]);

export function tinyVocab(): Vocab {
  const words = [...SPECIALS, ...WORDS];
  return { words, index: new Map(words.map((w, i) => [w, i])), forms: TINY_FORMS };
}

/** Direct n-gram weights like the shipped model's, in a small table. */
export const TINY_DIRECT = { order: 3, size: 1024 };

export function tinyModel(seed = 1, hidden = 16, direct: { order: number; size: number } | null = TINY_DIRECT): RnnLm {
  const n = SPECIALS.length + WORDS.length;
  const counts = Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 100 / i));
  return initModel(
    { vocab: n, hidden, classStart: assignClasses(counts, 6), direct: direct ?? undefined },
    seededRng(seed),
  );
}

/** Publishes a model to KV as `npm run seed` would, as version 1 (or the given version). */
export async function seedTinyModel(kv: KVNamespace, id = "default", version = 1, model = tinyModel()): Promise<void> {
  const vocab = tinyVocab();
  const now = new Date().toISOString();
  const hash = vocabHash(vocab);
  const bytes = encodeModel(model, {
    version,
    vocabHash: hash,
    createdAt: now,
    updatedAt: now,
    tokensLearned: 0,
    learns: 0,
    hyperparameters: { hidden: model.hidden },
  });
  await publishVersion(
    kv,
    id,
    bytes,
    { version, vocabHash: hash, createdAt: now, updatedAt: now, tokensLearned: 0, learns: 0 },
    { vocab },
  );
}
