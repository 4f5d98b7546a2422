import type { z } from "zod";
import { ApiError } from "./errors.ts";

type NumberSchema = z.ZodDefault<z.ZodNumber>;

/** The one form a number takes in a query string: a decimal literal ("5", "0.02", "-1"). */
const DECIMAL = /^-?[0-9]+(\.[0-9]+)?$/;

/**
 * An optional numeric query-string parameter: absent means the schema's default; anything but a
 * decimal literal ("0x1", " 5", "1e1", "Infinity", "") is a 400 like a value out of bounds.
 */
export function queryNumber(name: string, raw: string | undefined, schema: NumberSchema): number {
  if (raw === undefined) return schema.parse(undefined);
  return bounded(name, DECIMAL.test(raw) ? Number(raw) : NaN, schema);
}

/** An optional numeric field of a JSON body: absent means the default; only a JSON number is one ("5" is not). */
export function jsonNumber(name: string, raw: unknown, schema: NumberSchema): number {
  if (raw === undefined) return schema.parse(undefined);
  return bounded(name, typeof raw === "number" ? raw : NaN, schema);
}

/** `n` checked against its schema (schemas.ts); a failure is a 400 naming the parameter and its bounds. */
function bounded(name: string, n: number, schema: NumberSchema): number {
  const parsed = schema.safeParse(n);
  if (!parsed.success) {
    const bounds = schema.unwrap();
    const kind = bounds.isInt ? "an integer" : "a number";
    throw new ApiError(
      400,
      "invalid_parameter",
      `${name} must be ${kind} from ${bounds.minValue} to ${bounds.maxValue}`,
    );
  }
  return parsed.data;
}
