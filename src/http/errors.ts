import type { WriterError } from "../writer/protocol.ts";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error the API answers, as JSON {"error": {"code", "message"}}. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** A writer's refusal (src/writer/protocol.ts) as the API answers it. */
export function fromWriter(e: WriterError, headers: Record<string, string> = {}): ApiError {
  return new ApiError(e.status, e.code, e.message, headers);
}
