/**
 * The one computation behind every FAM entry point: given the layer maps and compared embeddings of some
 * images (from forward passes only) and a list of jobs "explain image i against references R", compute
 * the contribution weights (Eqs. 11, 15, 18), normalise them (Eq. 12) and combine the maps (Eq. 13), on
 * the device, in one batch, with one read back.
 * @module
 */
import { getRule, tf } from "@cnnlens/core";
import type { Tensor } from "@cnnlens/core";
import type { SimilarityMetric } from "./metric.ts";
import { FAM_PATH, type FamPathRule, sumPerChannel } from "./path_rules.ts";
import type { FamPlan } from "./plan.ts";
import type { FamMap, FamResult } from "./result.ts";

/** Explain row `subject` of the maps/table against rows `refs` of the embedding table. */
export interface Job {
  /** Row of the explained image (in the maps and in the table). */
  subject: number;
  /** Rows of the table holding the references' embeddings. */
  refs: number[];
}

/**
 * Per-embedding-entry contributions `C'` of M jobs (inside the caller's tidy):
 * `c'_d = (1/K) Σ_k t_d(Z, Z^k) / |s(Z, Z^k)|` — Eq. 15 for cosine, the additive generalisation otherwise.
 * @param metric The metric.
 * @param table Embeddings [R, D].
 * @param jobs Jobs.
 * @returns `cPrime` [M, D] and the pair scores [P] (pairs in job order, references in given order).
 */
export function pairContributions(
  metric: SimilarityMetric,
  table: Tensor,
  jobs: Job[],
): { cPrime: Tensor; scores: Tensor } {
  const a: number[] = [];
  const b: number[] = [];
  for (const j of jobs) {
    if (!j.refs.length) throw new RangeError(`Image ${j.subject} has no reference to be compared with`);
    for (const r of j.refs) {
      a.push(j.subject);
      b.push(r);
    }
  }
  const p = a.length;
  // Eq. 11 (FAM): the decided score averages the K references, so each pair weighs 1/K of its job.
  const sel = new Float32Array(jobs.length * p);
  let q = 0;
  jobs.forEach((j, m) => {
    for (let k = 0; k < j.refs.length; k++) sel[m * p + q++] = 1 / j.refs.length;
  });
  const terms = metric.terms(tf.gather(table, a), tf.gather(table, b)); // [P, D]
  const scores = tf.sum(terms, 1); // s(Z, Z^k) = Σ_d t_d
  // Eq. 15 (FAM): c_n = (1/K) Σ_k z_n z^k_n / (|s(Z, Z^k)| ‖Z‖ ‖Z^k‖); a zero score contributes nothing.
  const perPair = tf.mul(terms, tf.reshape(tf.divNoNan(tf.onesLike(scores), tf.abs(scores)), [p, 1]));
  const cPrime = tf.matMul(tf.tensor2d(sel, [jobs.length, p]), perPair);
  return { cPrime, scores };
}

/**
 * Map contributions on the compared embedding [M, D] to the layer's channels [M, N] (inside a tidy):
 * Eq. 18 `C = W × C'^T` for an explicit `W`, else the `fam-path` rules from the embedding node back.
 * @param plan The plan.
 * @param cPrime [M, D].
 * @returns [M, N].
 */
export function toChannels(plan: FamPlan, cPrime: Tensor): Tensor {
  if (plan.transform) return tf.matMul(cPrime, plan.transform, false, true); // Eq. 18 (FAM)
  if (!plan.embedding) return cPrime;
  const g = plan.graph;
  let c = sumPerChannel(cPrime, g.node(plan.embedding).shape);
  for (const node of plan.path) {
    c = getRule<FamPathRule>(FAM_PATH, node.op, node.name)(node, g.node(node.inputs[0]).shape, c)!;
  }
  return c;
}

/**
 * Eq. 12 (FAM) per row: `c̄ = (c − min C) / (max C − min C)`, all 1 when the row is constant.
 * @param c [M, N].
 * @returns [M, N].
 */
export function minMax(c: Tensor): Tensor {
  const lo = tf.min(c, 1, true);
  const range = tf.sub(tf.max(c, 1, true), lo);
  return tf.where(tf.greater(tf.broadcastTo(range, c.shape), 0), tf.divNoNan(tf.sub(c, lo), range), 1);
}

/** One job's numbers. */
export type JobResult = FamMap;

/**
 * Run jobs: contributions, normalisation and maps for every job in one batch, read back once.
 * @param plan The plan.
 * @param maps Layer maps [B, H, W, N] of the subjects' images (backend layout).
 * @param table Embeddings [R, D]; rows 0..B−1 belong to the images of `maps`.
 * @param jobs Jobs.
 * @returns One result per job.
 */
export async function runJobs(plan: FamPlan, maps: Tensor, table: Tensor, jobs: Job[]): Promise<JobResult[]> {
  const m = jobs.length;
  const [, h, w, n] = maps.shape;
  const d = table.shape[1]!;
  if (d !== plan.dim) {
    throw new RangeError(`Reference embeddings have size ${d}, the compared embedding has ${plan.dim}`);
  }
  const hw = h * w;
  const withPrime = plan.embedding !== null || plan.transform !== null;
  const pairs = jobs.reduce((s, j) => s + j.refs.length, 0);
  const packed = tf.tidy(() => {
    const { cPrime, scores } = pairContributions(plan.metric, table, jobs);
    const c = toChannels(plan, cPrime);
    if (c.shape[1] !== n) {
      throw new RangeError(`Contributions map to ${c.shape[1]} channels, layer '${plan.layer}' has ${n}`);
    }
    const cbar = minMax(c);
    const subjects = tf.gather(maps, jobs.map((j) => j.subject));
    // Eq. 13 (FAM): L = Σ_n c̄_n A^n, at the layer's own resolution, no ReLU.
    const l = tf.matMul(tf.reshape(subjects, [m, hw, n]), tf.reshape(cbar, [m, n, 1]));
    const parts = [tf.reshape(l, [-1]), tf.reshape(c, [-1]), tf.reshape(cbar, [-1]), scores];
    if (withPrime) parts.push(tf.reshape(cPrime, [-1]));
    return tf.concat(parts, 0);
  });
  let v: Float32Array;
  try {
    v = await packed.data() as Float32Array;
  } finally {
    packed.dispose();
  }
  const oMap = 0;
  const oC = m * hw;
  const oBar = oC + m * n;
  const oS = oBar + m * n;
  const oPrime = oS + pairs;
  let q = 0;
  return jobs.map((j, i) => {
    const perReference = Array.from(v.subarray(oS + q, oS + q + j.refs.length));
    q += j.refs.length;
    return {
      map: v.slice(oMap + i * hw, oMap + (i + 1) * hw),
      height: h,
      width: w,
      contributions: v.slice(oC + i * n, oC + (i + 1) * n),
      normalized: v.slice(oBar + i * n, oBar + (i + 1) * n),
      embeddingContributions: withPrime ? v.slice(oPrime + i * d, oPrime + (i + 1) * d) : null,
      similarity: { perReference, mean: perReference.reduce((a, b) => a + b, 0) / perReference.length },
    };
  });
}

/** The parametrised nodes (FC, BatchNorm) on the path from the embedding back to the layer, or null. */
function transformNodes(plan: FamPlan): string | null {
  const names = plan.path.filter((n) => Object.keys(n.params).length > 0).map((n) => n.name).reverse();
  return names.length ? names.join(",") : null;
}

/**
 * Dress a job result as a {@linkcode FamResult}.
 * @param plan The plan.
 * @param main The query's job result.
 * @param referenceMaps The references' job results (pair view).
 * @returns The result.
 */
export function famResult(plan: FamPlan, main: JobResult, referenceMaps: JobResult[]): FamResult {
  return {
    ...main,
    layer: plan.layer,
    embedding: plan.embedding,
    pooling: plan.pooling,
    metric: plan.metric.name,
    transform: plan.transform ? "explicit" : transformNodes(plan),
    referenceMaps,
  };
}
