/**
 * Memory-bank kNN classification as in NPID (Wu et al., the paper's contrastive models, FAM §V-C), and its
 * FAM explanation: the references are the predicted class's neighbours among the top k.
 * @module
 */
import { tf } from "@cnnlens/core";
import type { Graph, Tensor } from "@cnnlens/core";
import { type FamOptions, famPlan, forwardFeatures } from "./plan.ts";
import { cosineMetric } from "./metric.ts";
import { famResult, type Job, runJobs } from "./_jobs.ts";
import type { FamResult } from "./result.ts";
import { checkQuery } from "./fam.ts";

/** A memory bank: one embedding and one label per stored image. */
export interface MemoryBank {
  /** Stored embeddings [M, D] in the compared space (NPID stores them L2-normalised; scale is immaterial). */
  embeddings: Tensor;
  /** One label per row. */
  labels: ArrayLike<string | number>;
  /**
   * The image of a bank row [1, H, W, C] (backend layout, a new tensor that knnExplain disposes), to
   * explain the neighbours against the query too (the pair view).
   */
  image?: (index: number) => Tensor;
}

/** A neighbour of the query in the bank. */
export interface KnnNeighbour {
  /** Row in the bank. */
  index: number;
  /** Its label. */
  label: string | number;
  /** Cosine similarity to the query. */
  similarity: number;
}

/** Options for {@linkcode knnExplain}. The metric is NPID's: cosine. */
export interface KnnOptions extends Omit<FamOptions, "metric"> {
  /** Neighbours that vote (NPID and the paper: 200). @default 200 */
  k?: number;
  /** Temperature τ of the vote weights `exp(s/τ)` (NPID's σ). @default 0.07 */
  tau?: number;
  /** Explain the predicted class, or this class (which must have neighbours among the top k). @default "predicted" */
  explain?: "predicted" | string | number;
}

/** A kNN decision and its explanation. */
export interface KnnResult {
  /** The class with the highest vote. */
  prediction: string | number;
  /** Vote per class present among the top k, highest first. */
  votes: { class: string | number; score: number }[];
  /** The top-k neighbours, most similar first. */
  neighbours: KnnNeighbour[];
  /** The explained class. */
  explained: string | number;
  /** Bank rows of the explained class's neighbours: FAM's K references, most similar first. */
  references: number[];
  /** FAM of the query against those references (reference maps only when the bank has `image`). */
  explanation: FamResult;
}

/**
 * NPID's weighted kNN vote: each neighbour votes for its label with weight `exp(s/τ)`; class scores are
 * the sums (NPID's `probs`, unnormalised), highest first, ties in order of first appearance.
 * @param neighbours Neighbours with labels and cosine similarities.
 * @param tau Temperature. @default 0.07
 * @returns Class scores, highest first.
 * @example
 * ```ts
 * import { knnVote } from "@cnnlens/fam";
 * // Two weak neighbours of "a" lose to one strong neighbour of "b": exp(0.9/0.07) > 2·exp(0.5/0.07).
 * const v = knnVote([
 *   { label: "b", similarity: 0.9 }, { label: "a", similarity: 0.5 }, { label: "a", similarity: 0.5 },
 * ]);
 * if (v[0].class !== "b") throw new Error();
 * ```
 */
export function knnVote(
  neighbours: { label: string | number; similarity: number }[],
  tau = 0.07,
): { class: string | number; score: number }[] {
  if (!(tau > 0)) throw new RangeError(`kNN temperature tau must be > 0, got ${tau}`);
  const scores = new Map<string | number, number>();
  for (const n of neighbours) scores.set(n.label, (scores.get(n.label) ?? 0) + Math.exp(n.similarity / tau));
  return [...scores].map(([c, score]) => ({ class: c, score })).sort((a, b) => b.score - a.score);
}

/**
 * Classify a query by NPID's memory-bank kNN (cosine similarity to every bank row, top k, weighted vote)
 * and explain it with FAM against the explained class's neighbours (Eq. 11 over them, cosine Eq. 15).
 * Forward passes only.
 *
 * @param graph The model (name `embedding` as the bank's space, e.g. NPID's 128-d FC).
 * @param query The image [1, H, W, C] (backend layout).
 * @param bank The memory bank.
 * @param options k, τ, the explained class, and the FAM options.
 * @returns Prediction, votes, neighbours and the explanation.
 * @example
 * ```ts
 * import { embed, knnExplain } from "@cnnlens/fam";
 * import { tf, tinyNet } from "@cnnlens/core";
 * const g = tinyNet();
 * const imgs = tf.randomUniform([4, 8, 8, 3], 0, 1, "float32", 3);
 * const bank = { embeddings: embed(g, imgs), labels: ["x", "y", "x", "y"] };
 * const q = tf.slice(imgs, [1], [1]);
 * const res = await knnExplain(g, q, bank, { k: 2 });
 * if (res.neighbours[0].index !== 1 || res.prediction !== "y") throw new Error();
 * tf.dispose([imgs, bank.embeddings, q]);
 * g.dispose();
 * ```
 */
export async function knnExplain(
  graph: Graph,
  query: Tensor,
  bank: MemoryBank,
  options: KnnOptions = {},
): Promise<KnnResult> {
  checkQuery(query);
  const plan = famPlan(graph, { ...options, metric: "cosine" });
  const m = bank.embeddings.shape[0];
  if (bank.embeddings.rank !== 2 || bank.embeddings.shape[1] !== plan.dim) {
    throw new RangeError(
      `The bank's embeddings are [${bank.embeddings.shape}], expected [M, ${plan.dim}] (the compared embedding)`,
    );
  }
  if (bank.labels.length !== m) {
    throw new RangeError(`The bank has ${m} rows but ${bank.labels.length} labels`);
  }
  const k = Math.min(options.k ?? 200, m);
  if (!(k >= 1)) throw new RangeError(`k must be ≥ 1, got ${options.k}`);
  const q = forwardFeatures(plan, query);
  const owned: Tensor[] = [q.maps!, q.embeddings];
  try {
    const top = tf.tidy(() => {
      const sims = tf.reshape(cosineMetric.scores!(q.embeddings, bank.embeddings), [m]);
      const { values, indices } = tf.topk(sims, k, true);
      return [values, indices];
    });
    const [vals, idx] = await Promise.all(top.map((t) => t.data()));
    tf.dispose(top);
    const neighbours: KnnNeighbour[] = Array.from(idx, (i, j) => ({
      index: i,
      label: bank.labels[i],
      similarity: vals[j],
    }));
    const votes = knnVote(neighbours, options.tau ?? 0.07);
    const prediction = votes[0].class;
    const explained = options.explain === undefined || options.explain === "predicted"
      ? prediction
      : options.explain;
    const references = neighbours.filter((n) => n.label === explained).map((n) => n.index);
    if (!references.length) {
      throw new RangeError(
        `Class '${explained}' has no neighbour among the top ${k}: it cannot be explained`,
      );
    }
    const kk = references.length;
    const jobs: Job[] = [];
    let maps = q.maps!;
    let table: Tensor;
    if (bank.image) {
      // Rows: 0 query, 1..K the neighbours' images, then the bank rows (the decision's embeddings).
      const imgs = references.map((i) => bank.image!(i));
      const batch = tf.concat(imgs, 0);
      tf.dispose(imgs);
      let r;
      try {
        r = forwardFeatures(plan, batch);
      } finally {
        batch.dispose();
      }
      owned.push(r.maps!, r.embeddings);
      maps = tf.concat([q.maps!, r.maps!]);
      owned.push(maps);
      const stored = Array.from({ length: kk }, (_, i) => 1 + kk + i);
      jobs.push({ subject: 0, refs: stored }, ...stored.map((_, i) => ({ subject: 1 + i, refs: [0] })));
      table = tf.tidy(() => tf.concat([q.embeddings, r.embeddings, tf.gather(bank.embeddings, references)]));
    } else {
      jobs.push({ subject: 0, refs: Array.from({ length: kk }, (_, i) => 1 + i) });
      table = tf.tidy(() => tf.concat([q.embeddings, tf.gather(bank.embeddings, references)]));
    }
    owned.push(table);
    const [main, ...pair] = await runJobs(plan, maps, table, jobs);
    return { prediction, votes, neighbours, explained, references, explanation: famResult(plan, main, pair) };
  } finally {
    tf.dispose(owned);
  }
}
