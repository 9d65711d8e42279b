/**
 * The generator's seeded random source: mulberry32 (32-bit state, period 2³²), plus a seed mixer so that
 * every sample draws from its own stream (`hashSeed(seed, split, index)`) and can be made alone, in any
 * order, on any machine, with the same bytes.
 * @module
 */

/**
 * Mixes integers into one 32-bit seed (MurmurHash3's finaliser over each part), so that nearby inputs give
 * unrelated streams.
 *
 * @param parts Integers (each taken modulo 2³²).
 * @returns An unsigned 32-bit seed.
 * @example
 * ```ts
 * import { hashSeed } from "./prng.ts";
 * import assert from "node:assert/strict";
 * assert.equal(hashSeed(1, 2, 3), hashSeed(1, 2, 3));
 * assert.notEqual(hashSeed(1, 2, 3), hashSeed(1, 3, 2));
 * ```
 */
export function hashSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    let k = Math.imul(p >>> 0, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= parts.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seeded pseudo-random stream (mulberry32). The same seed gives the same sequence everywhere. */
export class Prng {
  #state: number;

  /**
   * @param seed Any integer (taken modulo 2³²).
   */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /**
   * The next unsigned 32-bit integer.
   * @returns An integer in [0, 2³²).
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * import assert from "node:assert/strict";
   * assert.equal(new Prng(1).uint32(), new Prng(1).uint32());
   * ```
   */
  uint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /**
   * Uniform in [0, 1) (32 random bits).
   * @returns A number in [0, 1).
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * const u = new Prng(7).next();
   * if (!(u >= 0 && u < 1)) throw new Error("out of range");
   * ```
   */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /**
   * Uniform in [lo, hi).
   * @param lo Lower bound.
   * @param hi Upper bound.
   * @returns A number in [lo, hi).
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * const v = new Prng(7).range(2, 3);
   * if (!(v >= 2 && v < 3)) throw new Error("out of range");
   * ```
   */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /**
   * Uniform integer in [lo, hi], both included.
   * @param lo Smallest value (integer).
   * @param hi Largest value (integer, ≥ lo).
   * @returns An integer in [lo, hi].
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * const r = new Prng(3);
   * for (let i = 0; i < 100; i++) {
   *   const k = r.int(1, 3);
   *   if (k < 1 || k > 3 || !Number.isInteger(k)) throw new Error("out of range");
   * }
   * ```
   */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /**
   * Standard normal (Box-Muller, one value per two uniforms).
   * @returns A sample of N(0, 1).
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * const r = new Prng(5);
   * let s = 0;
   * for (let i = 0; i < 4000; i++) s += r.normal();
   * if (Math.abs(s / 4000) > 0.1) throw new Error("mean far from 0");
   * ```
   */
  normal(): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * One element, uniformly.
   * @param items A non-empty array.
   * @returns One of its elements.
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * if (!["a", "b"].includes(new Prng(1).pick(["a", "b"]))) throw new Error("not an element");
   * ```
   */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("Cannot pick from an empty array");
    return items[Math.floor(this.next() * items.length)];
  }

  /**
   * Shuffles an array in place (Fisher-Yates).
   * @param items The array.
   * @returns The same array, shuffled.
   * @example
   * ```ts
   * import { Prng } from "./prng.ts";
   * import assert from "node:assert/strict";
   * assert.deepEqual(new Prng(2).shuffle([1, 2, 3, 4]).sort(), [1, 2, 3, 4]);
   * ```
   */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }
}
