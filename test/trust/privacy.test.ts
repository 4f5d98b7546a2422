/**
 * Nothing private leaks through a shared model (docs/limits.md): what one subject taught, however
 * often, is never suggested to anyone else, and the public weights download carries no raw
 * learned text.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { vocabFromJson, vocabHash } from "../../src/model/vocab.ts";
import { firstVersionFields, publishVersion } from "../../src/store/kv-layout.ts";
import { decodeModel } from "../../src/store/model-codec.ts";
import { AUTH, call, json, learnJson } from "../helpers/api.ts";
import { repoFile, repoJson } from "../helpers/repo-files.ts";
import { learnAs, publishNow, sleep } from "../writer/support.ts";

const PASSWORD = "my bank password is swordfish";
const PROBES = ["my bank password is", "bank password is", "password is"];

async function seedShipped(id: string): Promise<void> {
  const [bytes, json] = await Promise.all([
    repoFile("models/base/weights.safetensors"),
    repoJson("models/base/vocab.json"),
  ]);
  const vocab = vocabFromJson(json);
  const fields = firstVersionFields(vocabHash(vocab));
  await publishVersion(env.MODELS, id, new Uint8Array(bytes), fields, { vocab });
}

/** Every word the model suggests (k = 50) after any probe, fresh from the writer or published. */
async function suggested(id: string, fresh: boolean): Promise<Set<string>> {
  const out = new Set<string>();
  for (const p of PROBES) {
    const r = await json<{ predictions: { word: string }[] }>(
      `/models/${id}/predict?prefix=${encodeURIComponent(p)}&k=50${fresh ? "&fresh=1" : ""}`,
    );
    expect(r.status).toBe(200);
    for (const x of r.body.predictions) out.add(x.word);
  }
  return out;
}

const has = (bytes: ArrayBuffer, text: string) => new TextDecoder().decode(bytes).includes(text);

describe("the password example", () => {
  it("taught 20 times by one subject, is never suggested nor in the public download; a second subject's learn makes it shared", async () => {
    const id = "privacy";
    await seedShipped(id);
    for (let i = 0; i < 20; i++) expect((await learnJson(PASSWORD, {}, `/models/${id}/learn`)).status).toBe(200);
    expect(await suggested(id, true)).not.toContain("swordfish");
    expect(await publishNow(id)).toBe(true);
    await sleep(1100); // the isolate cache trusts a manifest read for 1 s
    expect(await suggested(id, false)).not.toContain("swordfish");

    // The public file: no memory, no unshared word; the admin's export holds both.
    const open = await (await call(`/models/${id}/model/weights`)).arrayBuffer();
    expect(has(open, "swordfish")).toBe(false);
    expect(decodeModel(open.slice(0)).model.memory).toBeUndefined();
    const admin = await (await call(`/models/${id}/model/weights`, { headers: AUTH })).arrayBuffer();
    expect(has(admin, "swordfish")).toBe(true);
    expect(decodeModel(admin.slice(0)).model.memory?.sentences()).toHaveLength(20);

    // The control: once another subject teaches it, it is the shared model's to suggest.
    await learnAs(id, "bob", PASSWORD);
    expect(await suggested(id, true)).toContain("swordfish");
  }, 60_000);
});
