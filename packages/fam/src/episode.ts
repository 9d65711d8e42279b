/**
 * N-way K-shot episodes (FAM §V-B): classify each query by the class with the highest mean similarity to
 * its K support images (Eq. 11), and explain the predicted class (or a chosen one) with FAM.
 * @module
 */
import { tf } from "@cnnlens/core";
import type { Graph, Tensor } from "@cnnlens/core";
import { type FamOptions, famPlan, forwardFeatures } from "./plan.ts";
import { scoreMatrix } from "./metric.ts";
import { famResult, type Job, runJobs } from "./_jobs.ts";
import type { FamResult } from "./result.ts";

/** The K support images of one class. */
export interface SupportSet {
  /** The class label. */
  class: string | number;
  /** Support images [K, H, W, C] (backend layout); the caller keeps ownership. */
  images: Tensor;
}

/** Options for {@linkcode episode}. */
export interface EpisodeOptions extends FamOptions {
  /**
   * Which class each query is explained against: `predicted`, a class label (the same for every query),
   * or `none` (classify only: no maps are computed).
   * @default "predicted"
   */
  explain?: "predicted" | "none" | string | number;
  /** True labels of the queries, to report correctness and accuracy. */
  labels?: (string | number)[];
}

/** One classified (and explained) query. */
export interface EpisodeQuery {
  /** Index of the query in the batch. */
  index: number;
  /** The class with the highest mean similarity. */
  prediction: string | number;
  /** Mean similarity to each class's support images (Eq. 11), in support order. */
  scores: { class: string | number; similarity: number }[];
  /** Whether the prediction equals the given label (undefined without labels). */
  correct?: boolean;
  /** The explained class, or null with `explain: "none"`. */
  explained: string | number | null;
  /**
   * FAM of the query against the explained class's support images; `referenceMaps` are those support
   * images explained against the query. Null with `explain: "none"`.
   */
  explanation: FamResult | null;
}

/** A classified episode. */
export interface EpisodeResult {
  /** Number of classes N. */
  ways: number;
  /** Support images per class (K, per class in support order). */
  shots: number[];
  /** Every query, in order. */
  queries: EpisodeQuery[];
  /** Fraction of correct predictions when labels were given, else null. */
  accuracy: number | null;
}

/**
 * Run an N-way K-shot episode: one forward pass over every support and query image (batched), similarity
 * of every query to every support image, prediction by the highest mean similarity per class, and a FAM
 * explanation of every query (no backward pass).
 *
 * @param graph The model (an embedding network; see `FamOptions.embedding`).
 * @param support One {@linkcode SupportSet} per class.
 * @param queries Query images [Q, H, W, C] (same size as the support images).
 * @param options Which class to explain, labels, and the FAM options.
 * @returns Predictions, scores and explanations.
 * @example
 * ```ts
 * import { episode } from "@cnnlens/fam";
 * import { tf, tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const a = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 1);
 * const b = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 2);
 * const res = await episode(g, [{ class: "a", images: a }, { class: "b", images: b }], a, { labels: ["a"] });
 * // The query is support image "a" itself: cosine 1 with it.
 * if (res.queries[0].prediction !== "a" || res.accuracy !== 1) throw new Error();
 * tf.dispose([a, b]);
 * g.dispose();
 * ```
 */
export async function episode(
  graph: Graph,
  support: SupportSet[],
  queries: Tensor,
  options: EpisodeOptions = {},
): Promise<EpisodeResult> {
  if (!support.length) throw new RangeError("episode() needs at least one support class");
  const classes = support.map((s) => s.class);
  if (new Set(classes).size !== classes.length) {
    throw new RangeError(`Support classes must be distinct, got ${classes.join(", ")}`);
  }
  const shots = support.map((s) => {
    if (s.images.rank !== 4 || s.images.shape[0] < 1) {
      throw new RangeError(`Support class '${s.class}' needs images [K, H, W, C], got [${s.images.shape}]`);
    }
    return s.images.shape[0];
  });
  if (queries.rank !== 4) throw new RangeError(`Queries must be [Q, H, W, C], got [${queries.shape}]`);
  const nq = queries.shape[0];
  if (nq < 1) throw new RangeError("episode() needs at least one query");
  if (options.labels && options.labels.length !== nq) {
    throw new RangeError(`Got ${options.labels.length} labels for ${nq} queries`);
  }
  const explain = options.explain ?? "predicted";
  if (explain !== "predicted" && explain !== "none" && !classes.includes(explain)) {
    throw new RangeError(`Cannot explain class '${explain}': the support classes are ${classes.join(", ")}`);
  }
  const plan = famPlan(graph, options);
  // Support rows first, then queries: rows of the maps and embeddings.
  const firstRow: number[] = [];
  let ns = 0;
  for (const k of shots) {
    firstRow.push(ns);
    ns += k;
  }
  const batch = tf.concat([...support.map((s) => s.images), queries], 0);
  let f;
  try {
    f = forwardFeatures(plan, batch, explain !== "none");
  } finally {
    batch.dispose();
  }
  try {
    const sims = tf.tidy(() =>
      scoreMatrix(
        plan.metric,
        tf.slice(f.embeddings, [ns, 0], [nq, -1]),
        tf.slice(f.embeddings, [0, 0], [ns, -1]),
      )
    );
    const s = await sims.data() as Float32Array;
    sims.dispose();
    const results: EpisodeQuery[] = [];
    for (let q = 0; q < nq; q++) {
      // Eq. 11 (FAM): S = (1/K) Σ_k s(Z, Z^M_k) per class; the prediction is the best class.
      const scores = support.map((sup, c) => {
        let sum = 0;
        for (let k = 0; k < shots[c]; k++) sum += s[q * ns + firstRow[c] + k];
        return { class: sup.class, similarity: sum / shots[c] };
      });
      let best = 0;
      scores.forEach((x, c) => (x.similarity > scores[best].similarity ? best = c : 0));
      const prediction = classes[best];
      const label = options.labels?.[q];
      results.push({
        index: q,
        prediction,
        scores,
        ...(label === undefined ? {} : { correct: label === prediction }),
        explained: explain === "none" ? null : explain === "predicted" ? prediction : explain,
        explanation: null,
      });
    }
    if (explain !== "none") {
      const jobs: Job[] = [];
      for (const r of results) {
        const c = classes.indexOf(r.explained!);
        const refs = Array.from({ length: shots[c] }, (_, k) => firstRow[c] + k);
        jobs.push(
          { subject: ns + r.index, refs },
          ...refs.map((row) => ({ subject: row, refs: [ns + r.index] })),
        );
      }
      const out = await runJobs(plan, f.maps!, f.embeddings, jobs);
      let at = 0;
      for (const r of results) {
        const k = shots[classes.indexOf(r.explained!)];
        r.explanation = famResult(plan, out[at], out.slice(at + 1, at + 1 + k));
        at += 1 + k;
      }
    }
    const labelled = results.filter((r) => r.correct !== undefined);
    return {
      ways: support.length,
      shots,
      queries: results,
      accuracy: options.labels ? labelled.filter((r) => r.correct).length / labelled.length : null,
    };
  } finally {
    tf.dispose(f.maps ? [f.maps, f.embeddings] : [f.embeddings]);
  }
}
