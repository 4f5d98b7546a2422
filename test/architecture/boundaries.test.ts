/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { checkImports, rulesFromDoc, specifiers } from "./imports.ts";

// Vite inlines these at build time: workerd has no file system to read them from.
const architecture = Object.values(
  import.meta.glob("/docs/architecture.md", { query: "?raw", import: "default", eager: true }),
)[0] as string;
const sources = Object.fromEntries(
  Object.entries(import.meta.glob("/src/**/*.ts", { query: "?raw", import: "default", eager: true })).map(
    ([path, text]) => [path.slice(1), text as string],
  ),
);
const rules = rulesFromDoc(architecture);

describe("import boundaries (docs/architecture.md, Source layout)", () => {
  it("reads a rule for every layer the page names", () => {
    const units = rules.flatMap((r) => r.units);
    for (const unit of ["src/model/", "src/store/", "src/budget/", "src/writer/", "src/http/", "src/index.ts"]) {
      expect(units).toContain(unit);
    }
    expect(Object.keys(sources).length).toBeGreaterThan(40);
  });

  it("every import under src/ is one the page allows", () => {
    expect(checkImports(sources, rules)).toEqual([]);
  });

  it("fails on a planted violation: the numerics importing a route, a store or a Cloudflare API", () => {
    const planted = {
      ...sources,
      "src/model/planted.ts":
        'import { createApp } from "../http/app.ts";\nimport { env } from "cloudflare:workers";\n',
      "src/store/planted.ts": 'export { predictRoute } from "../http/predict.ts";\n',
    };
    expect(checkImports(planted, rules).map((v) => [v.file, v.specifier])).toEqual([
      ["src/model/planted.ts", "../http/app.ts"],
      ["src/model/planted.ts", "cloudflare:workers"],
      ["src/store/planted.ts", "../http/predict.ts"],
    ]);
  });

  it("a file in a folder the page does not name is a violation too", () => {
    expect(checkImports({ "src/elsewhere/x.ts": "" }, rules)).toHaveLength(1);
  });

  it("finds static, type-only, multi-line, re-export and dynamic imports", () => {
    const source = [
      'import { a } from "./a.ts";',
      'import type { B } from "../b.ts";',
      "import {\n  c,\n  d,\n} from './c.ts';",
      'export * from "./e.ts";',
      'const f = await import("./f.ts");',
      'import "./g.ts";',
    ].join("\n");
    expect(specifiers(source).sort()).toEqual(["../b.ts", "./a.ts", "./c.ts", "./e.ts", "./f.ts", "./g.ts"]);
  });
});
