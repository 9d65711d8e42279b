/**
 * The shared base of the CAM family, in pytorch-grad-cam's shape: it captures what a method needs (the
 * target layers' activations, their gradients, or a whole forward trace), asks the method for channel
 * weights (or a whole per-layer image), forms `ReLU(Σ_k w_k A_k)` at each layer's own resolution, and
 * combines several layers. Each method is one small file calling {@linkcode defineCam}.
 * @module
 */
import {
  backwardWalk,
  type Decision,
  decisionNode,
  type Graph,
  runForward,
  type Tensor,
  tf,
  type Trace,
} from "@cnnlens/core";
import { decisionSeed, minMaxScale, readF32, resize } from "./_util.ts";

/** What the base records before calling a method. */
export type CamCapture =
  /** Activations and ∂decision/∂activation at every target layer (one forward, one partial backward). */
  | "gradients"
  /** Activations at every target layer (one forward, no backward). */
  | "activations"
  /** Every node's value up to the decision (for methods that re-run parts of the network). */
  | "trace";

/** Options of every CAM method. */
export interface CamOptions {
  /**
   * Target layers (node names or aliases) with feature-map outputs. Several layers: each layer's map is
   * computed at its own resolution, then combined (see {@linkcode CamOptions.normalizeLayers}).
   * @default [graph.lastSpatialNode().name]
   */
  layers?: string[];
  /**
   * Forward passes stacked per batch by Score-CAM and Ablation-CAM (masked inputs / ablated channels
   * × images). @default 16 for Score-CAM, 32 for Ablation-CAM (pytorch-grad-cam's defaults)
   */
  batchSize?: number;
  /** Seed of the random map. @default 0 */
  seed?: number;
  /** Return every layer's map and channel weights in {@linkcode CamResult.perLayer}. @default false */
  perLayer?: boolean;
  /**
   * With several layers, min-max scale each layer's map per image to [0, 1] before upsampling and
   * averaging (pytorch-grad-cam's combination); `false` averages the raw maps. @default true
   */
  normalizeLayers?: boolean;
}

/** One target layer's map. */
export interface CamLayerMap {
  /** Node name. */
  layer: string;
  /** Map rows (the layer's own H). */
  height: number;
  /** Map columns (the layer's own W). */
  width: number;
  /** Channels of the layer. */
  channels: number;
  /** `batch × height × width`, row-major: `ReLU(Σ_k w_k A_k)` before upsampling and normalisation. */
  map: Float32Array;
  /** `batch × channels` channel weights, for methods that have them (not Layer-CAM, HiResCAM, Eigen-CAM). */
  weights?: Float32Array;
}

/** What a CAM method returns. Plain arrays: nothing to dispose. */
export interface CamResult {
  /** The method ID. */
  method: string;
  /** Number of images. */
  batch: number;
  /** Rows of {@linkcode CamResult.map}. */
  height: number;
  /** Columns of {@linkcode CamResult.map}. */
  width: number;
  /**
   * `batch × height × width`, row-major. One layer: that layer's map at its own resolution, ReLU applied,
   * not upsampled nor normalised. Several layers: their average at the largest layer's resolution.
   */
  map: Float32Array;
  /** The layers used (resolved node names). */
  layers: string[];
  /** The decision per image, `[batch]`. */
  value: Float32Array;
  /** Per-layer maps and weights, when asked for ({@linkcode CamOptions.perLayer}). */
  perLayer?: CamLayerMap[];
}

/** A CAM method: `(graph, input, decision, options) → maps`. The registry maps method IDs to these. */
export type CamFunction = (
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options?: CamOptions,
) => Promise<CamResult>;

/** What a method sees for one target layer. Tensors belong to the base: do not dispose them. */
export interface LayerCapture {
  /** The graph. */
  graph: Graph;
  /** The input batch (backend layout, `[N, H, W, C]`). */
  input: Tensor;
  /** The decision. */
  decision: Decision;
  /** The resolved layer name. */
  layer: string;
  /** Position of the layer in the option list. */
  index: number;
  /** The layer's activations `[N, h, w, C]`. */
  activations: Tensor;
  /** ∂decision/∂activations `[N, h, w, C]` (capture `gradients` only, else null). */
  grads: Tensor | null;
  /** The decision per image `[N]`. */
  value: Tensor;
  /** The forward trace (every node up to the decision with capture `trace`). */
  trace: Trace;
  /** The caller's options. */
  options: CamOptions;
}

/** A method in the base's terms: what to capture, and either channel weights or a per-layer image. */
export interface CamDefinition {
  /** Method ID (as the CLI spells it). */
  id: string;
  /** What the base records first. */
  capture: CamCapture;
  /** Channel weights `[N, C]`; the base forms `Σ_k w_k A_k`. The base disposes the result. */
  weights?: (c: LayerCapture) => Tensor | Promise<Tensor>;
  /** The per-layer map `[N, h, w]` before ReLU, for methods that are not a channel-weighted sum. */
  image?: (c: LayerCapture) => Tensor | Promise<Tensor>;
}

/**
 * Resolve and check target layers: each must exist and output a feature map `[C, H, W]`.
 * @param graph The graph.
 * @param layers Names or aliases; default the last spatial node.
 * @returns Resolved node names.
 * @example
 * ```ts
 * import { tinyNet } from "@cnnlens/core";
 * import { resolveLayers } from "@cnnlens/cam";
 * const g = tinyNet();
 * if (resolveLayers(g).join() !== "relu2") throw new Error("the last spatial node by default");
 * g.dispose();
 * ```
 */
export function resolveLayers(graph: Graph, layers?: string[]): string[] {
  const names = layers?.length ? layers : [graph.lastSpatialNode().name];
  return names.map((l) => {
    const n = graph.node(l);
    if (n.shape.length !== 3 || n.op === "const") {
      throw new RangeError(
        `Layer '${l}' outputs shape [${n.shape}], not a feature map [C, H, W]: CAM methods need a spatial layer such as '${graph.lastSpatialNode().name}'`,
      );
    }
    return n.name;
  });
}

/**
 * The latest of `names` in topological order.
 * @param graph The graph.
 * @param names Node names.
 * @returns The name that comes last.
 * @example
 * ```ts
 * import { tinyNet } from "@cnnlens/core";
 * import { lastOf } from "@cnnlens/cam";
 * const g = tinyNet();
 * if (lastOf(g, ["fc", "conv1"]) !== "fc") throw new Error("fc is last");
 * g.dispose();
 * ```
 */
export function lastOf(graph: Graph, names: string[]): string {
  return names.reduce((a, b) => graph.indexOf(a) >= graph.indexOf(b) ? a : b);
}

/** What {@linkcode capture} recorded. Dispose it when done. */
export interface Captured {
  /** The forward trace (the kept nodes). */
  trace: Trace;
  /** Layer → ∂decision/∂layer (capture `gradients`), else null. */
  grads: Map<string, Tensor> | null;
  /** The decision per image `[N]`. */
  value: Tensor;
  /** Release everything. */
  dispose(): void;
}

/**
 * Record what a method needs. `gradients`: one forward pass keeping the layers, the nodes between them and
 * the decision, and the inputs those nodes read; then one backward walk (core `vjp` rules) from the
 * decision down to the layers only — nothing below the deepest target layer is differentiated.
 * @param kind What to capture.
 * @param graph The graph.
 * @param input Input batch.
 * @param decision The decision.
 * @param layers Resolved layer names.
 * @returns The capture; dispose it.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { capture } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.ones([1, 8, 8, 3]);
 * const c = capture("gradients", g, x, classLogit(0), ["relu2"]);
 * if (c.grads!.get("relu2")!.shape[3] !== 6) throw new Error("6 channels");
 * c.dispose();
 * x.dispose();
 * g.dispose();
 * ```
 */
export function capture(
  kind: CamCapture,
  graph: Graph,
  input: Tensor,
  decision: Decision,
  layers: string[],
): Captured {
  const dnode = decisionNode(graph, decision);
  const until = lastOf(graph, [...layers, dnode]);
  const batch = input.shape[0];
  let keep: "all" | string[];
  let live: string[] = [];
  if (kind === "trace") keep = "all";
  else if (kind === "activations") keep = [...layers, dnode];
  else {
    const below = new Set([...graph.ancestors([dnode]), dnode]);
    live = [...new Set([...layers, ...graph.descendants(layers)])].filter((n) => below.has(n));
    keep = [...new Set([...layers, dnode, ...live, ...live.flatMap((n) => graph.node(n).inputs)])];
  }
  const trace = runForward(graph, input, { keep, until });
  let value: Tensor | undefined;
  let grads: Map<string, Tensor> | null = null;
  try {
    value = tf.tidy(() => tf.reshape(decision.read(trace.get(dnode)), [batch]));
    if (kind === "gradients") {
      const seed = decisionSeed(decision, trace.get(dnode));
      try {
        grads = backwardWalk(graph, trace, new Map([[dnode, seed]]), { to: layers });
      } finally {
        seed.dispose();
      }
    }
  } catch (e) {
    value?.dispose();
    trace.dispose();
    throw e;
  }
  const v = value;
  return {
    trace,
    grads,
    value: v,
    dispose() {
      v.dispose();
      for (const g of grads?.values() ?? []) g.dispose();
      trace.dispose();
    },
  };
}

/**
 * Combine per-layer maps `[N, h_l, w_l]`: one layer is returned as is; several are (optionally) min-max
 * scaled per image, bilinearly upsampled (pixel centres, as `cv2.resize`) to the largest layer's
 * resolution, and averaged — the largest resolution loses no layer's detail, and the result stays a
 * layer-resolution map, never the input's.
 * @param maps Per-layer maps (ReLU applied).
 * @param normalize Min-max scale each layer first.
 * @returns `[N, H, W]`.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { combineLayers } from "@cnnlens/cam";
 * const a = tf.ones([1, 2, 2]);
 * const b = tf.zeros([1, 4, 4]);
 * const m = combineLayers([a, b], false); // the mean of 1 (upsampled) and 0
 * if (m.shape[1] !== 4 || (await m.data())[5] !== 0.5) throw new Error("4×4 mean");
 * tf.dispose([a, b, m]);
 * ```
 */
export function combineLayers(maps: Tensor[], normalize = true): Tensor {
  if (maps.length === 1) return maps[0].clone();
  const big = maps.reduce((a, b) => a.shape[1]! * a.shape[2]! >= b.shape[1]! * b.shape[2]! ? a : b);
  const size: [number, number] = [big.shape[1]!, big.shape[2]!];
  return tf.tidy(() => {
    const ups = maps.map((m) => resize(normalize ? minMaxScale(m) : m, size, "half"));
    return tf.div(tf.addN(ups), maps.length);
  });
}

/**
 * Σ_k w[n, k] · A[n, :, :, k].
 * @param activations `[N, h, w, C]`.
 * @param weights `[N, C]`.
 * @returns `[N, h, w]`.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { weightedSum } from "@cnnlens/cam";
 * const a = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]); // two positions, two channels
 * const w = tf.tensor2d([[1, -1]]);
 * const m = weightedSum(a, w);
 * if ((await m.data()).join() !== "-1,-1") throw new Error("1·1 − 2, 3 − 4");
 * tf.dispose([a, w, m]);
 * ```
 */
export function weightedSum(activations: Tensor, weights: Tensor): Tensor {
  return tf.tidy(() => {
    const [n, , , c] = activations.shape;
    return tf.sum(tf.mul(activations, tf.reshape(weights, [n, 1, 1, c!])), 3);
  });
}

/**
 * Turn a method definition into a {@linkcode CamFunction}: capture, per-layer weights or image,
 * `ReLU`, combination, read-out. All tensors are released before it resolves.
 * @param def The method.
 * @returns The method as a function.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { defineCam } from "@cnnlens/cam";
 * // "Mean activation" CAM: every channel weighs 1/C.
 * const meanCam = defineCam({
 *   id: "mean",
 *   capture: "activations",
 *   weights: (c) => tf.fill([c.input.shape[0], c.activations.shape[3]!], 1 / c.activations.shape[3]!),
 * });
 * const g = tinyNet();
 * const x = tf.ones([1, 8, 8, 3]);
 * const r = await meanCam(g, x, classLogit(0));
 * if (r.height !== 4 || r.map.length !== 16) throw new Error("a 4×4 map");
 * x.dispose();
 * g.dispose();
 * ```
 */
export function defineCam(def: CamDefinition): CamFunction {
  if (!def.weights === !def.image) {
    throw new TypeError(`CAM method '${def.id}' must define exactly one of weights() and image()`);
  }
  return async (graph, input, decision, options = {}) => {
    const layers = resolveLayers(graph, options.layers);
    const cap = capture(def.capture, graph, input, decision, layers);
    const maps: Tensor[] = [];
    const weights: (Tensor | null)[] = [];
    let combined: Tensor | undefined;
    try {
      for (let index = 0; index < layers.length; index++) {
        const layer = layers[index];
        const activations = cap.trace.get(layer);
        const ctx: LayerCapture = {
          graph,
          input,
          decision,
          layer,
          index,
          activations,
          grads: cap.grads?.get(layer) ?? null,
          value: cap.value,
          trace: cap.trace,
          options,
        };
        if (def.weights) {
          const w = await def.weights(ctx);
          weights.push(w);
          maps.push(tf.tidy(() => tf.relu(weightedSum(activations, w))));
        } else {
          const im = await def.image!(ctx);
          weights.push(null);
          maps.push(tf.tidy(() => tf.relu(im)));
          im.dispose();
        }
      }
      combined = combineLayers(maps, options.normalizeLayers ?? true);
      const result: CamResult = {
        method: def.id,
        batch: input.shape[0],
        height: combined.shape[1]!,
        width: combined.shape[2]!,
        map: await readF32(combined),
        layers,
        value: await readF32(cap.value),
      };
      if (options.perLayer) {
        result.perLayer = [];
        for (let i = 0; i < layers.length; i++) {
          const [, h, w, c] = cap.trace.get(layers[i]).shape;
          result.perLayer.push({
            layer: layers[i],
            height: h!,
            width: w!,
            channels: c!,
            map: await readF32(maps[i]),
            ...(weights[i] ? { weights: await readF32(weights[i]!) } : {}),
          });
        }
      }
      return result;
    } finally {
      combined?.dispose();
      for (const m of maps) m.dispose();
      for (const w of weights) w?.dispose();
      cap.dispose();
    }
  };
}
