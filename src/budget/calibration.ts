import { type Calibration, parseCalibration } from "./cost-model.ts";
import data from "./calibration.json";

/**
 * The cost model's prices as `npm run bench -- --calibrate` measured them
 * (workerd, warm code, p95 with a margin; see docs/benchmarks.md). Kept apart
 * from cost-model.ts so Node scripts can use the model without a JSON import.
 */
export const CALIBRATION: Calibration = parseCalibration(data);
