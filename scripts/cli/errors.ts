/**
 * Exit codes of `edge-rnnlm` (docs/api.md "CLI" lists them):
 *   0 success
 *   1 the server refused a request (its JSON error is printed), or some sentences of `learn` failed
 *   2 usage: unknown command, missing argument, invalid option
 *   3 no edge-rnnlm API answered: connection refused, timeout, or an answer that is not the API's JSON
 *   4 a local file could not be read or written, or is not a safetensors file
 */
export const EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3, file: 4 } as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports in one line and turns into its exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** The API's own error answer, {"error": {"code", "message"}} with an HTTP status. */
export class ApiRefusal extends CliError {
  readonly status: number;
  readonly code: string;
  /** The server's message, without status and code. */
  readonly detail: string;

  constructor(status: number, code: string, detail: string) {
    super(EXIT.refused, `${status} ${code}: ${detail}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
  }
}
