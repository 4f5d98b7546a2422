/** End-to-end test of the demo page in headless Chromium (Debian's chromium, driven by playwright-core). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { DevServer } from "../../scripts/lib/dev-server.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

interface Chip {
  word: string;
  /** As shown: the written form, capitalised at a sentence's start. */
  text: string;
  p: number;
}

/** The suggestion chips once they are those for exactly `text` (the page marks which text they are for). */
async function suggestionsFor(page: Page, text: string): Promise<Chip[]> {
  await page.waitForSelector(`#suggestions[data-text=${JSON.stringify(text)}] .chip`);
  const chips = await page.locator(".chip").all();
  return Promise.all(
    chips.map(async (c) => ({
      word: (await c.getAttribute("data-word")) ?? "",
      text: (await c.getAttribute("data-text")) ?? "",
      p: Number(await c.getAttribute("data-p")),
    })),
  );
}

async function type(page: Page, text: string): Promise<void> {
  await page.locator("#text").pressSequentially(text, { delay: 15 });
}

/** The suggestions after typing `text` anew: another text's first, so no earlier answer for `text` is taken for this one. */
async function freshSuggestions(page: Page, text: string): Promise<Chip[]> {
  await page.fill("#text", "");
  await type(page, "the ");
  await suggestionsFor(page, "the ");
  await page.fill("#text", "");
  await type(page, text);
  return suggestionsFor(page, text);
}

/** Registers the browser tests; the last one saves the page as `screenshot`. `weightsBytes` is the seeded model file's size. */
export function browserTests(server: () => DevServer, token: string, screenshot: string, weightsBytes: number): void {
  let profile = "";
  let context: BrowserContext | undefined;
  let page: Page;
  const errors: Error[] = [];
  /** What the browser refused under the pages' Content-Security-Policy (it reports each on the console). */
  const refused: string[] = [];
  let pageHeaders: Record<string, string> = {};

  before(async () => {
    profile = await mkdtemp(join(tmpdir(), "edge-rnnlm-chromium-"));
    // A persistent context is how playwright takes a --user-data-dir: a fresh one per run.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 900, height: 640 },
      timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(20_000);
    page.on("pageerror", (e) => errors.push(e));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    const response = await page.goto(`${server().url}/`);
    pageHeaders = response ? await response.allHeaders() : {};
  });

  after(async () => {
    await context?.close();
    await rm(profile, { recursive: true, force: true });
  });

  it("is served with its security headers", () => {
    assert.match(
      pageHeaders["content-security-policy"] ?? "",
      /default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'.*frame-ancestors 'none'/,
    );
    assert.equal(pageHeaders["x-frame-options"], "DENY");
    assert.equal(pageHeaders["x-content-type-options"], "nosniff");
  });

  it("shows the model's name, published version and size", async () => {
    await page.locator("#model", { hasText: /^Model / }).waitFor();
    const line = await page.textContent("#model");
    const size = `${(weightsBytes / 1e6).toFixed(1)} MB`; // the seeded file, as published
    assert.ok(
      (line ?? "").startsWith(
        `Model “default”, published version 1: 10,000 words, 100 hidden units, 100 word classes, ${size}`,
      ),
      line ?? "(empty)",
    );
  });

  it("keeps the token typed in the token field in localStorage", async () => {
    await page.click("#token-box summary");
    await page.fill("#token", token);
    assert.equal(await page.evaluate('localStorage.getItem("edge-rnnlm-token")'), token);
    await page.click("#token-box summary");
  });

  it("suggests next words as you type, and Tab inserts the first", async () => {
    await page.click("#text");
    await type(page, "we went to ");
    const chips = await suggestionsFor(page, "we went to ");
    assert.ok(chips.length >= 3, JSON.stringify(chips));
    assert.ok(
      chips.every((c, i) => i === 0 || c.p <= chips[i - 1].p),
      "best first",
    );
    await page.keyboard.press("Tab");
    assert.equal(await page.inputValue("#text"), `we went to ${chips[0].text} `);
  });

  it("completes the word being typed (the server's partial=), in written form, capitalised at a sentence's start", async () => {
    await page.fill("#text", "");
    await type(page, "we went to the pl");
    const chips = await suggestionsFor(page, "we went to the pl");
    assert.ok(chips.length >= 3, JSON.stringify(chips));
    assert.ok(
      chips.every((c) => c.word.startsWith("pl")),
      JSON.stringify(chips),
    );
    assert.ok(
      chips.every((c, i) => i === 0 || c.p <= chips[i - 1].p),
      "best first",
    );
    await page.keyboard.press("Tab");
    assert.equal(await page.inputValue("#text"), `we went to the ${chips[0].text} `);
    await page.fill("#text", "");
    await type(page, "It was late. Wash");
    const names = await suggestionsFor(page, "It was late. Wash");
    assert.ok(
      names.some((c) => c.word === "washington" && c.text === "Washington"),
      JSON.stringify(names),
    );
    await page.fill("#text", "");
    await type(page, "th");
    const first = await suggestionsFor(page, "th");
    assert.ok(first.length > 0 && first.every((c) => /^Th/.test(c.text)), JSON.stringify(first));
  });

  it("teaching a sentence shows loss before -> after and its version, and its continuation rises", async () => {
    await page.fill("#text", "");
    await type(page, "we went to the ");
    const before = await suggestionsFor(page, "we went to the ");
    // A continuation the model finds likely but not the likeliest: teaching should lift it.
    const target = before[2];
    await page.click(`.chip[data-word="${target.word}"]`);
    assert.equal(await page.inputValue("#text"), `we went to the ${target.text} `);
    await type(page, "place");
    await page.click("#teach");
    await page.locator("#teach-result", { hasText: /^Learned/ }).waitFor();
    const result = (await page.textContent("#teach-result")) ?? "";
    const m = /^Learned 6 tokens: loss ([0-9.]+) → ([0-9.]+) per token, in version 2/.exec(result);
    assert.ok(m, result);
    assert.ok(Number(m[2]) < Number(m[1]), result);

    await page.fill("#text", "");
    await type(page, "we went to the ");
    const after = await suggestionsFor(page, "we went to the ");
    const lifted = after.find((c) => c.word === target.word);
    assert.ok(lifted, `${target.word} is still suggested: ${JSON.stringify(after)}`);
    assert.ok(lifted.p > target.p, `${target.word}: ${target.p} -> ${lifted.p}`);
    assert.ok(after.indexOf(lifted) <= before.indexOf(target));
  });

  it("follows the model line until the taught version is published, then saves the screenshot", async () => {
    await page
      .locator("#model", { hasText: /published version 2: .* · 1 sentence learned$/ })
      .waitFor({ timeout: 40_000 });
    await page.locator("#teach-result", { hasText: /, now published$/ }).waitFor();
    await page.mouse.move(0, 0); // no chip in :hover on the picture
    await page.screenshot({ path: screenshot, fullPage: true, animations: "disabled" });
  });

  it("/docs renders the API under its own policy", async () => {
    if (!context) throw new Error("no browser");
    const docs = await context.newPage();
    docs.on("pageerror", (e) => errors.push(e));
    docs.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    const response = await docs.goto(`${server().url}/docs`);
    assert.match((await response?.allHeaders())?.["content-security-policy"] ?? "", /script-src 'sha256-/);
    await docs.locator("h2", { hasText: "/predict" }).first().waitFor();
    await docs.close();
  });

  it("with a user chosen, teaches that user's layer only: their suggestions change at once, everyone else's do not", async () => {
    const shared = async () => {
      await page.fill("#user", "");
      await page.dispatchEvent("#user", "change");
      return freshSuggestions(page, "my cat is called ");
    };
    const before = await shared();
    await page.fill("#user", "e2e-ann");
    await page.dispatchEvent("#user", "change");
    for (let i = 0; i < 3; i++) {
      await page.fill("#text", "my cat is called zorblax");
      await page.click("#teach");
      await page
        .locator("#teach-result", { hasText: new RegExp(`into e2e-ann's layer \\(${i + 1} sentences? so far\\)`) })
        .waitFor();
    }
    const mine = await freshSuggestions(page, "my cat is called ");
    assert.ok(
      mine.some((c) => c.word === "zorblax"),
      JSON.stringify(mine),
    );
    await page.locator("#user-info", { hasText: /^3 sentences learned, 1 own words/ }).waitFor();
    assert.deepEqual(await shared(), before);
    // Delete the user: her suggestions are the shared model's again.
    await page.fill("#user", "e2e-ann");
    await page.dispatchEvent("#user", "change");
    await page.click("#forget-user");
    await page.locator("#status", { hasText: /^Deleted everything user e2e-ann taught/ }).waitFor();
    assert.deepEqual(await freshSuggestions(page, "my cat is called "), before);
    await page.fill("#user", "");
    await page.dispatchEvent("#user", "change");
  });

  it("raised no error in the page, and the browser refused nothing under the policies", () => {
    assert.deepEqual(errors.map(String), []);
    assert.deepEqual(refused, []);
  });
}
