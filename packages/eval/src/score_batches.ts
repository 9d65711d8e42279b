/**
 * Calling the model callback in bounded batches, with the checks every protocol needs.
 * @module
 */
import type { ScoreFn } from "./types.ts";

/**
 * Scores inputs produced on demand, `batchSize` at a time, so a long curve never holds all its perturbed
 * images at once.
 *
 * @param score The model callback.
 * @param count How many inputs there are.
 * @param make Builds input `i` (called in order `0..count-1`, each once).
 * @param batchSize Most inputs per call. @default 16
 * @returns One score per input, in order.
 * @throws {RangeError} If the callback returns the wrong number of scores or a non-number.
 * @example
 * ```ts
 * import { scoreBatches } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const sums = await scoreBatches((xs) => xs.map((x) => x[0] + x[1]), 3, (i) => new Float32Array([i, 1]), 2);
 * assert.deepEqual(sums, [1, 2, 3]);
 * ```
 */
export async function scoreBatches(
  score: ScoreFn,
  count: number,
  make: (i: number) => Float32Array,
  batchSize = 16,
): Promise<number[]> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`Invalid batchSize ${batchSize}: must be a positive integer`);
  }
  const out: number[] = [];
  for (let start = 0; start < count; start += batchSize) {
    const batch: Float32Array[] = [];
    for (let i = start; i < Math.min(count, start + batchSize); i++) batch.push(make(i));
    const s = await score(batch);
    if (!Array.isArray(s) || s.length !== batch.length) {
      throw new RangeError(
        `Score callback returned ${
          Array.isArray(s) ? s.length : typeof s
        } values for a batch of ${batch.length}`,
      );
    }
    for (const v of s) {
      if (typeof v !== "number") throw new RangeError(`Score callback returned a non-number: ${String(v)}`);
      out.push(v);
    }
  }
  return out;
}
