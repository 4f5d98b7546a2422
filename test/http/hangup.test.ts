import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { type ApiErrorBody, AUTH, callWith } from "../helpers/api.ts";
import { modelState } from "../helpers/model-state.ts";
import { seedTinyModel } from "../helpers/tiny-model.ts";

const ID = "hangup";

/** A body that sends a first chunk, then fails as a connection dropped mid-body does. */
function brokenBody(first: string): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (sent) return controller.error(new Error("Network connection lost."));
      sent = true;
      controller.enqueue(new TextEncoder().encode(first));
    },
  });
}

/** Every line the Worker logged (console.log, warn and error) while `run` ran. */
async function logs(run: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const spies = (["log", "warn", "error"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((line: unknown) => void lines.push(String(line))),
  );
  try {
    await run();
  } finally {
    for (const s of spies) s.mockRestore();
  }
  return lines;
}

describe("a client that hangs up mid-body", () => {
  beforeAll(() => seedTinyModel(env.MODELS, ID));

  const routes: [string, string, string, string][] = [
    ["POST", `/models/${ID}/learn`, "application/json", '{"sentence": "the cat'],
    ["POST", `/models/${ID}/learn`, "text/plain", "the cat"],
    ["PUT", `/models/${ID}/model/weights`, "application/octet-stream", "\u0010\u0000"],
    ["POST", "/models", "application/json", '{"id": "hangup-'],
    ["POST", `/models/${ID}/rollback`, "application/json", '{"vers'],
  ];

  it.each(routes)(
    "%s %s (%s) ends in a logged 400, not a 500, and changes nothing",
    async (method, path, type, first) => {
      const before = await modelState(ID);
      let status = 0;
      let code = "";
      const lines = await logs(async () => {
        const r = await callWith({}, path, {
          method,
          headers: { ...AUTH, "content-type": type },
          body: brokenBody(first),
          duplex: "half",
        } as RequestInit);
        status = r.status;
        code = ((await r.json()) as ApiErrorBody).error.code;
      });
      expect(status).toBe(400);
      expect(code).toBe("body_incomplete");
      const events = lines.map((l) => JSON.parse(l) as { event: string; status?: number });
      expect(events.map((e) => e.event)).toEqual(["body_read_failed", "request"]);
      expect(events[1].status).toBe(400);
      expect(await modelState(ID)).toEqual(before);
    },
  );
});
