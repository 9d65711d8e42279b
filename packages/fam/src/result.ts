/**
 * What a FAM explanation returns: raw maps at the layer's own resolution and the contribution weights,
 * as plain arrays (rendering, upsampling and files are the caller's).
 * @module
 */
import type { Pooling } from "./pooling.ts";

/** One explained image: its map, its contribution weights and its similarity to its references. */
export interface FamMap {
  /** `L_FAM = Σ_n c̄_n A^n` (Eq. 13, no ReLU), row-major `height × width`, at the layer's resolution. */
  map: Float32Array;
  /** Rows of the map (the layer's H). */
  height: number;
  /** Columns of the map (the layer's W). */
  width: number;
  /** `c_n` per channel of the layer (Eq. 15 for cosine), before min-max normalisation; length N. */
  contributions: Float32Array;
  /** `c̄_n` (Eq. 12), min-max normalised to [0, 1]; all 1 when every `c_n` is equal. */
  normalized: Float32Array;
  /**
   * `C'` on the compared embedding (length D) when it is not the layer's own pooling (an embedding node or
   * a transformation module), else null.
   */
  embeddingContributions: Float32Array | null;
  /** Similarity to each reference (in the order given) and their mean (Eq. 11, the decided score). */
  similarity: { perReference: number[]; mean: number };
}

/** A FAM explanation of a query, with each reference explained against the query for the pair view. */
export interface FamResult extends FamMap {
  /** The explained layer. */
  layer: string;
  /** The embedding node, or null when FAM pooled the layer itself. */
  embedding: string | null;
  /** FAM's pooling, or null when an embedding node was used. */
  pooling: Pooling | null;
  /** The metric's name. */
  metric: string;
  /** The transformation module: the walked node names (`fc`, …), `explicit`, or null. */
  transform: string | null;
  /**
   * Each reference image explained against the query (its own map and contributions, with the query as
   * its single reference); empty when the references were given as embeddings.
   */
  referenceMaps: FamMap[];
}
