import { noModelMessage } from "../writer/protocol.ts";
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

export const noModel = (id: string): ApiError => new ApiError(503, "no_model", noModelMessage(id));
