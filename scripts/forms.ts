/**
 * Adds the written forms of a model's vocabulary (src/model/written-forms.ts) to its vocab.json:
 * each word's most frequent form in the Brown training split (the corpus keeps case), where it is
 * not the word itself. The weights file is unchanged, and so is the vocabulary's hash (of its words).
 *
 *   npm run forms [-- --model models/base]
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseBrownFile, splitBengio } from "../src/corpus/brown.ts";
import { writtenTokens } from "../src/model/tokenizer.ts";
import { vocabToJson } from "../src/model/vocab.ts";
import { FormCounts } from "../src/model/written-forms.ts";
import { flags } from "./lib/args.ts";
import { brownFiles } from "./lib/brown-data.ts";
import { readVocabFile, VOCAB_FILE } from "./lib/model-dir.ts";

const dir = flags({ model: "models/base" }).str("model");
const vocab = readVocabFile(dir);
const sentences = brownFiles().flatMap((f) => {
  const text = readFileSync(f, "utf8");
  const written = parseBrownFile(text, writtenTokens);
  return parseBrownFile(text).map((tokens, i) => ({ tokens, written: written[i], length: tokens.length }));
});
const counts = new FormCounts();
for (const s of splitBengio(sentences).train) counts.addSentence(s.tokens, s.written);
const forms = counts.forms(vocab.words);
writeFileSync(join(dir, VOCAB_FILE), JSON.stringify(vocabToJson({ ...vocab, forms })));
const sample = ["i", "washington", "u.s.", "mr.", "john", "god", "the", "english", "monday", "a"].map(
  (w) => `${w} -> ${forms.get(w) ?? w}`,
);
console.error(`${forms.size} of ${vocab.words.length} words have a written form of their own: ${sample.join(", ")}`);
