/**
 * FAM (Liao, Gao & Zhang): explain a similarity decision between a query and K references by per-channel
 * contribution weights to the similarity score, min-max normalised, combining the layer's activation maps.
 * @module
 */
import { tf } from "@cnnlens/core";
import type { Graph, Tensor } from "@cnnlens/core";
import { type FamOptions, famPlan, forwardFeatures } from "./plan.ts";
import { famResult, type Job, runJobs } from "./_jobs.ts";
import type { FamResult } from "./result.ts";

/**
 * Check that a tensor is one image [1, H, W, C] in backend layout.
 * @param query The tensor.
 * @internal
 */
export function checkQuery(query: Tensor): void {
  if (query.rank !== 4 || query.shape[0] !== 1) {
    throw new RangeError(`The query must be one image [1, H, W, C] in backend layout, got [${query.shape}]`);
  }
}

/**
 * Feature Activation Map of a query against K references of the decided class (FAM Eqs. 11-15, 18).
 * Forward passes only: the query and the reference images go through the model once, together, up to the
 * embedding node (or the layer); no backward pass.
 *
 * @param graph The model.
 * @param query The explained image [1, H, W, C] (backend layout, preprocessed as the model expects).
 * @param references Reference images [K, H, W, C] (same size as the query), or their precomputed
 *   compared embeddings [K, D] (or [D]); with embeddings there are no reference maps.
 * @param options Layer, embedding node, pooling, transformation, metric.
 * @returns The query's map and contributions, the similarities, and each reference's map against the query.
 * @example
 * ```ts
 * import { fam } from "@cnnlens/fam";
 * import { tf, tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const q = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = tf.randomUniform([1, 8, 8, 3], 0, 1, "float32", 2);
 * const res = await fam(g, q, r);
 * // One reference: the cosine contributions sum to sign(cos) (the paper's percentage reading).
 * const sum = res.contributions.reduce((a, b) => a + b, 0);
 * if (Math.abs(sum - Math.sign(res.similarity.mean)) > 1e-4) throw new Error(`sum ${sum}`);
 * if (res.map.length !== res.height * res.width || res.referenceMaps.length !== 1) throw new Error();
 * tf.dispose([q, r]);
 * g.dispose();
 * ```
 */
export async function fam(
  graph: Graph,
  query: Tensor,
  references: Tensor,
  options: FamOptions = {},
): Promise<FamResult> {
  checkQuery(query);
  const plan = famPlan(graph, options);
  if (references.rank === 4) {
    const k = references.shape[0];
    if (k < 1) throw new RangeError("fam() needs at least one reference image");
    if (references.shape.slice(1).some((d, i) => d !== query.shape[i + 1])) {
      throw new RangeError(
        `References [${references.shape}] differ in size from the query [${query.shape}]: resize them alike`,
      );
    }
    const batch = tf.concat([query, references], 0);
    let f;
    try {
      f = forwardFeatures(plan, batch);
    } finally {
      batch.dispose();
    }
    try {
      const refs = Array.from({ length: k }, (_, i) => i + 1);
      const jobs: Job[] = [{ subject: 0, refs }, ...refs.map((r) => ({ subject: r, refs: [0] }))];
      const [main, ...pair] = await runJobs(plan, f.maps!, f.embeddings, jobs);
      return famResult(plan, main, pair);
    } finally {
      tf.dispose([f.maps!, f.embeddings]);
    }
  }
  if (references.rank !== 1 && references.rank !== 2) {
    throw new RangeError(
      `References must be images [K, H, W, C] or embeddings [K, D], got a rank-${references.rank} tensor`,
    );
  }
  const d = references.shape[references.rank - 1];
  if (d !== plan.dim) {
    throw new RangeError(`Reference embeddings have size ${d}, the compared embedding has ${plan.dim}`);
  }
  const f = forwardFeatures(plan, query);
  const table = tf.tidy(() =>
    tf.concat([f.embeddings, tf.reshape(references, [references.rank === 1 ? 1 : references.shape[0], -1])])
  );
  try {
    const k = table.shape[0] - 1;
    if (k < 1) throw new RangeError("fam() needs at least one reference embedding");
    const [main] = await runJobs(plan, f.maps!, table, [
      { subject: 0, refs: Array.from({ length: k }, (_, i) => i + 1) },
    ]);
    return famResult(plan, main, []);
  } finally {
    tf.dispose([f.maps!, f.embeddings, table]);
  }
}
