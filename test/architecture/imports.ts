/**
 * The import rule of docs/architecture.md, read from the page itself so the page and the check
 * cannot drift apart: each row of its "Source layout" table names units (a folder `src/x/` or a
 * file `src/x.ts`) and, in its "may import" column, the other units and the packages they may
 * import. A unit may always import itself.
 */

export interface Rule {
  /** The units of the row: "src/model/" or "src/config.ts". */
  units: string[];
  /** Units and packages ("hono" also allows "hono/jwt") it may import. */
  allowed: string[];
}

export interface Violation {
  file: string;
  specifier: string;
  message: string;
}

const TICKED = /`([^`]+)`/g;

function ticked(cell: string): string[] {
  return [...cell.matchAll(TICKED)].map((m) => m[1]);
}

/** The rows of the markdown table whose first column names `src/` units. */
export function rulesFromDoc(markdown: string): Rule[] {
  const rules: Rule[] = [];
  for (const line of markdown.split("\n")) {
    const cells = line.split("|").slice(1, -1);
    if (cells.length < 3) continue;
    const units = ticked(cells[0]).filter((u) => u.startsWith("src/"));
    if (units.length === 0) continue;
    rules.push({ units, allowed: ticked(cells[cells.length - 1]) });
  }
  return rules;
}

/** Every module specifier a TypeScript source imports or re-exports, static or dynamic. */
export function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:^|[\s;}])(?:import|export)\b[^;"']*?\bfrom\s*["']([^"']+)["']/g))
    found.push(m[1]);
  for (const m of source.matchAll(/(?:^|[\s;])import\s*\(?\s*["']([^"']+)["']/g)) found.push(m[1]);
  return found;
}

function resolveRelative(file: string, specifier: string): string {
  const parts = file.split("/").slice(0, -1);
  for (const step of specifier.split("/")) {
    if (step === "..") parts.pop();
    else if (step !== ".") parts.push(step);
  }
  return parts.join("/");
}

/** The unit a repository path belongs to: the longest unit that is the path or a folder holding it. */
function unitOf(path: string, units: readonly string[]): string | undefined {
  return units
    .filter((u) => (u.endsWith("/") ? path.startsWith(u) : path === u))
    .sort((a, b) => b.length - a.length)[0];
}

function packageAllowed(specifier: string, allowed: readonly string[]): boolean {
  return allowed.some((p) => !p.startsWith("src/") && (specifier === p || specifier.startsWith(`${p}/`)));
}

/** Checks `files` (repository path -> source) against the rules; every file must belong to a unit. */
export function checkImports(files: Readonly<Record<string, string>>, rules: readonly Rule[]): Violation[] {
  const units = rules.flatMap((r) => r.units);
  const ruleOf = new Map(rules.flatMap((r) => r.units.map((u) => [u, r] as const)));
  const violations: Violation[] = [];
  for (const [file, source] of Object.entries(files)) {
    const unit = unitOf(file, units);
    if (unit === undefined) {
      violations.push({ file, specifier: "", message: `${file} belongs to no row of the source layout table` });
      continue;
    }
    const rule = ruleOf.get(unit)!;
    for (const specifier of specifiers(source)) {
      if (!specifier.startsWith(".")) {
        if (!packageAllowed(specifier, rule.allowed)) {
          violations.push({ file, specifier, message: `${unit} may not import the package ${specifier}` });
        }
        continue;
      }
      const target = resolveRelative(file, specifier);
      const targetUnit = unitOf(target, units);
      const ok = targetUnit !== undefined && (rule.units.includes(targetUnit) || rule.allowed.includes(targetUnit));
      if (!ok) violations.push({ file, specifier, message: `${unit} may not import ${targetUnit ?? target}` });
    }
  }
  return violations;
}
