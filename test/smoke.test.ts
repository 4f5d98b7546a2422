import { env, exports } from "cloudflare:workers";
import { expect, it } from "vitest";
it("smoke", async () => {
  await env.MODELS.put("a", "b");
  expect(await env.MODELS.get("a")).toBe("b");
  const r = await exports.default.fetch("http://x/");
  expect(await r.json()).toEqual({ ok: true });
  const stub = env.WRITER.get(env.WRITER.idFromName("x"));
  expect(await stub.ping()).toBe("pong");
});
