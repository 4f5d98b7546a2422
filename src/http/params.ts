import type { z } from "zod";
import { ApiError } from "./errors.ts";

/**
 * Parses an optional numeric request parameter (a query string or JSON value) against its
 * schema (schemas.ts). A failure is a 400 naming the parameter and the schema's bounds.
 */
export function numberParam(name: string, raw: unknown, schema: z.ZodDefault<z.ZodNumber>): number {
  if (raw === undefined || raw === null || raw === "") return schema.parse(undefined);
  const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  const parsed = schema.safeParse(n);
  if (!parsed.success) {
    const bounds = schema.unwrap();
    const kind = bounds.isInt ? "an integer" : "a number";
    throw new ApiError(400, "invalid_parameter", `${name} must be ${kind} from ${bounds.minValue} to ${bounds.maxValue}`);
  }
  return parsed.data;
}
