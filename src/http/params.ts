import { ApiError } from "./errors.ts";

/**
 * Parses an optional numeric request parameter within [min, max]; `integer`
 * refuses fractions. Anything else is a 400 naming the parameter and bounds.
 */
export function numberParam(
  name: string,
  raw: unknown,
  bounds: { min: number; max: number; default: number },
  integer = false,
): number {
  if (raw === undefined || raw === null || raw === "") return bounds.default;
  const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < bounds.min || n > bounds.max || (integer && !Number.isInteger(n))) {
    const kind = integer ? "an integer" : "a number";
    throw new ApiError(400, "invalid_parameter", `${name} must be ${kind} from ${bounds.min} to ${bounds.max}`);
  }
  return n;
}
