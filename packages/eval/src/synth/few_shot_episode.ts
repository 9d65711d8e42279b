/**
 * N-way K-shot episodes over a labelled pool (the `fewshot` split, or any list of labels): which classes,
 * which support items, which queries — drawn from a seed, so that every method is scored on the same
 * episodes.
 * @module
 */
import { hashSeed, Prng } from "./prng.ts";

/** One episode: indices into the pool. */
export interface Episode {
  /** The `ways` classes (pool labels), in episode order: episode class `j` is `classes[j]`. */
  classes: number[];
  /** `support[j]`: the `shots` pool indices of episode class `j`. */
  support: number[][];
  /** `query[j]`: the `queries` pool indices of episode class `j` (disjoint from the support). */
  query: number[][];
}

/** Options of {@linkcode fewShotEpisode}. */
export interface EpisodeOptions {
  /** Classes per episode. @default 5 */
  ways?: number;
  /** Support items per class. @default 1 */
  shots?: number;
  /** Query items per class. @default 15 */
  queries?: number;
  /** Seed of the episode stream. @default 1 */
  seed?: number;
}

/**
 * Draws episode number `episode`: `ways` distinct classes uniformly, then for each `shots + queries`
 * distinct items uniformly, the first `shots` as support.
 *
 * @param labels The pool's labels (non-negative integers).
 * @param episode Episode number (each gives an independent draw).
 * @param options Ways, shots, queries, seed.
 * @returns The episode.
 * @throws {RangeError} If fewer than `ways` classes have `shots + queries` items.
 * @example
 * ```ts
 * import { fewShotEpisode } from "./few_shot_episode.ts";
 * import assert from "node:assert/strict";
 * const labels = Array.from({ length: 60 }, (_, i) => i % 6);
 * const e = fewShotEpisode(labels, 0, { ways: 5, shots: 1, queries: 3 });
 * assert.equal(e.classes.length, 5);
 * for (const [j, c] of e.classes.entries()) assert.ok([...e.support[j], ...e.query[j]].every((i) => labels[i] === c));
 * ```
 */
export function fewShotEpisode(
  labels: ArrayLike<number>,
  episode: number,
  options: EpisodeOptions = {},
): Episode {
  const ways = options.ways ?? 5, shots = options.shots ?? 1, queries = options.queries ?? 15;
  for (const [k, v] of Object.entries({ ways, shots, queries })) {
    const min = k === "queries" ? 0 : 1;
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${k} must be an integer ≥ ${min}, got ${v}`);
  }
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0) throw new RangeError(`Label ${i} must be an integer ≥ 0, got ${l}`);
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  }
  const eligible = [...byClass.keys()].filter((c) => byClass.get(c)!.length >= shots + queries).sort((a, b) =>
    a - b
  );
  if (eligible.length < ways) {
    throw new RangeError(
      `Cannot draw a ${ways}-way ${shots}-shot episode with ${queries} queries: only ${eligible.length} classes have ${
        shots + queries
      } items`,
    );
  }
  const rng = new Prng(hashSeed(options.seed ?? 1, episode, 0x5e9));
  const classes = rng.shuffle(eligible.slice()).slice(0, ways);
  const support: number[][] = [], query: number[][] = [];
  for (const c of classes) {
    const items = rng.shuffle(byClass.get(c)!.slice()).slice(0, shots + queries);
    support.push(items.slice(0, shots));
    query.push(items.slice(shots));
  }
  return { classes, support, query };
}
