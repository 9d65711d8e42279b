/**
 * Retrieval as classification (FAM §V-D): the top-1 gallery image by similarity is the decision, and FAM
 * explains the query against it (K = 1).
 * @module
 */
import { tf } from "@cnnlens/core";
import type { Graph, Tensor } from "@cnnlens/core";
import { type FamOptions, famPlan, forwardFeatures } from "./plan.ts";
import { scoreMatrix } from "./metric.ts";
import { famResult, type Job, runJobs } from "./_jobs.ts";
import type { FamResult } from "./result.ts";
import { checkQuery } from "./fam.ts";

/** Options for {@linkcode retrievalExplain}. */
export interface RetrievalOptions extends FamOptions {
  /** How many ranked gallery items to report. @default 5 */
  top?: number;
  /**
   * With a gallery of embeddings: the image of gallery row i [1, H, W, C] (a new tensor that
   * retrievalExplain disposes), to explain the retrieved image against the query (the pair view).
   */
  image?: (index: number) => Tensor;
}

/** A retrieval and its explanation. */
export interface RetrievalResult {
  /** Gallery index of the top-1 retrieved image (the reference). */
  index: number;
  /** Its similarity to the query. */
  similarity: number;
  /** The `top` best gallery items, best first. */
  ranking: { index: number; similarity: number }[];
  /** FAM of the query against the retrieved image, with the retrieved image's map when it is available. */
  explanation: FamResult;
}

/**
 * Retrieve the most similar gallery item to a query and explain the match with FAM. Pass a small gallery
 * as images [G, H, W, C] (one batched forward with the query); pass a large one as embeddings [G, D]
 * from {@linkcode embed} (with `image` for the pair view).
 *
 * @param graph The model.
 * @param query The image [1, H, W, C] (backend layout).
 * @param gallery Gallery images [G, H, W, C] or compared embeddings [G, D].
 * @param options How many to rank, the image accessor, and the FAM options.
 * @returns The top-1 index, ranking, and explanation.
 * @example
 * ```ts
 * import { retrievalExplain } from "@cnnlens/fam";
 * import { tf, tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const gallery = tf.randomUniform([3, 8, 8, 3], 0, 1, "float32", 5);
 * const q = tf.slice(gallery, [2], [1]);
 * const res = await retrievalExplain(g, q, gallery);
 * if (res.index !== 2 || res.explanation.referenceMaps.length !== 1) throw new Error();
 * tf.dispose([gallery, q]);
 * g.dispose();
 * ```
 */
export async function retrievalExplain(
  graph: Graph,
  query: Tensor,
  gallery: Tensor,
  options: RetrievalOptions = {},
): Promise<RetrievalResult> {
  checkQuery(query);
  const plan = famPlan(graph, options);
  const images = gallery.rank === 4;
  if (!images && gallery.rank !== 2) {
    throw new RangeError(
      `The gallery must be images [G, H, W, C] or embeddings [G, D], got [${gallery.shape}]`,
    );
  }
  if (!images && gallery.shape[1] !== plan.dim) {
    throw new RangeError(
      `Gallery embeddings have size ${gallery.shape[1]}, the compared embedding has ${plan.dim}`,
    );
  }
  const g = gallery.shape[0];
  if (g < 1) throw new RangeError("retrievalExplain() needs a non-empty gallery");
  const owned: Tensor[] = [];
  try {
    let f;
    if (images) {
      const batch = tf.concat([query, gallery], 0);
      try {
        f = forwardFeatures(plan, batch);
      } finally {
        batch.dispose();
      }
    } else {
      f = forwardFeatures(plan, query);
    }
    owned.push(f.maps!, f.embeddings);
    const top = Math.min(options.top ?? 5, g);
    const ranked = tf.tidy(() => {
      const cands = images ? tf.slice(f.embeddings, [1, 0], [g, -1]) : gallery;
      const s = tf.reshape(scoreMatrix(plan.metric, tf.slice(f.embeddings, [0, 0], [1, -1]), cands), [g]);
      const { values, indices } = tf.topk(s, top, true);
      return [values, indices];
    });
    const [vals, idx] = await Promise.all(ranked.map((t) => t.data()));
    tf.dispose(ranked);
    const ranking = Array.from(idx, (index, j) => ({ index, similarity: vals[j] }));
    const best = ranking[0].index;
    let jobs: Job[];
    let maps = f.maps!;
    let table = f.embeddings;
    if (images) {
      jobs = [{ subject: 0, refs: [1 + best] }, { subject: 1 + best, refs: [0] }];
    } else if (options.image) {
      // Rows: 0 query, 1 the retrieved image, 2 the gallery's stored embedding (the decision's).
      const img = options.image(best);
      let r;
      try {
        r = forwardFeatures(plan, img);
      } finally {
        img.dispose();
      }
      owned.push(r.maps!, r.embeddings);
      maps = tf.concat([f.maps!, r.maps!]);
      table = tf.tidy(() => tf.concat([f.embeddings, r.embeddings, tf.slice(gallery, [best, 0], [1, -1])]));
      owned.push(maps, table);
      jobs = [{ subject: 0, refs: [2] }, { subject: 1, refs: [0] }];
    } else {
      table = tf.tidy(() => tf.concat([f.embeddings, tf.slice(gallery, [best, 0], [1, -1])]));
      owned.push(table);
      jobs = [{ subject: 0, refs: [1] }];
    }
    const [main, ...pair] = await runJobs(plan, maps, table, jobs);
    return {
      index: best,
      similarity: ranking[0].similarity,
      ranking,
      explanation: famResult(plan, main, pair),
    };
  } finally {
    tf.dispose(owned);
  }
}
