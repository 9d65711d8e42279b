/**
 * Ablation ground truth and masking curves (section 4.1): what a decision does when channels of a layer
 * are removed — replaced by their spatial mean ("setting the k-th feature channel to the average
 * activation") or by zero. Only the sub-graph above the layer is recomputed (core `runForward` with
 * `overrides` + `base`), many ablations per batched forward pass.
 * @module
 */
import { type Graph, runForward, type Tensor, tf, tiledBase, type Trace } from "@cnnlens/core";
import { isNeuron, layerShape, type Target, targetNode, validateTargets, withBase } from "./_engine.ts";

/** How a removed channel is filled. */
export type Replacement = "mean" | "zero";

/** Options of the ablation functions. */
export interface AblationOptions {
  /** A forward trace with every node kept, reused. @default computed and released */
  base?: Trace;
  /** What a removed channel becomes: its spatial mean (the paper's ground truth) or zero. @default "mean" */
  replace?: Replacement;
  /** Ablations per forward pass. @default derived from a memory budget */
  batch?: number;
}

/** The target's value for every item of a batch in which all items carry the same target. */
function readAll(t: Target, v: Tensor): Tensor {
  if (isNeuron(t)) {
    return tf.reshape(tf.slice(v, [0, t.position[0], t.position[1], t.channel], [-1, 1, 1, 1]), [-1]);
  }
  return tf.reshape(t.read(v), [-1]);
}

/**
 * Evaluate the target with the channels of `layer` flagged in each mask removed (one mask per batch item).
 * @returns The unperturbed value and one value per mask.
 */
async function perturbed(
  graph: Graph,
  input: Tensor,
  base: Trace,
  target: Target,
  layer: string,
  masks: Float32Array[],
  replace: Replacement,
  batch: number | undefined,
): Promise<{ value: number; values: Float32Array }> {
  const l = graph.node(layer).name;
  const [K, H, W] = layerShape(graph, l);
  validateTargets(graph, l, [target]);
  const node = targetNode(graph, target);
  const F = base.get(l);
  const v0 = tf.tidy(() => readAll(target, base.get(node)));
  const value = (await v0.data())[0];
  v0.dispose();
  const fill = tf.tidy(() => replace === "mean" ? tf.mean(F, [1, 2], true) : tf.zeros([1, 1, 1, K]));
  const needed = new Set([...graph.ancestors([node]), node]);
  let per = 0;
  for (const n of graph.descendants([l])) {
    if (needed.has(n)) per += graph.node(n).shape.reduce((a, b) => a * b, 1);
  }
  const size = Math.max(1, batch ?? Math.floor(2 ** 25 / (per + 2 * K * H * W)));
  const values = new Float32Array(masks.length);
  try {
    for (let s = 0; s < masks.length; s += size) {
      const part = masks.slice(s, s + size);
      const n = part.length;
      const tb = tiledBase(graph, base, input, l, node, n);
      try {
        const out = tf.tidy(() => {
          const m = tf.reshape(tf.tensor2d(concatMasks(part, K), [n, K]), [n, 1, 1, K]);
          // Removed channels (mask 1) take the fill value; the others keep F.
          const fh = tf.add(tf.mul(F, tf.sub(1, m)), tf.mul(fill, m));
          const tr = runForward(graph, tb.input, {
            overrides: new Map([[l, fh]]),
            base: tb.trace,
            until: node,
            keep: [node],
          });
          return readAll(target, tr.get(node));
        });
        values.set(await out.data() as Float32Array, s);
        out.dispose();
      } finally {
        tb.dispose();
      }
    }
  } finally {
    fill.dispose();
  }
  return { value, values };
}

function concatMasks(masks: Float32Array[], k: number): Float32Array {
  const out = new Float32Array(masks.length * k);
  masks.forEach((m, i) => out.set(m, i * k));
  return out;
}

function oneHot(k: number, c: number): Float32Array {
  const m = new Float32Array(k);
  m[c] = 1;
  return m;
}

/**
 * The ground-truth contribution of each channel of `layer` to a decision (section 4.1): the decision's
 * drop `f − f̂_k` when channel `k` is replaced by its spatial mean (or zero), one channel at a time.
 *
 * @param graph The model.
 * @param input The image, batch 1, backend layout.
 * @param decision The decision (a core decision or a neuron).
 * @param layer The layer whose channels are removed.
 * @param options Channels (default all), replacement, batching, base trace.
 * @returns One drop per requested channel.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { ablationGroundTruth } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * // relu2 feeds global average pooling: replacing a channel by its mean changes nothing.
 * const drops = await ablationGroundTruth(g, x, classLogit(0), "relu2");
 * if (drops.some((d) => Math.abs(d) > 1e-5)) throw new Error();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function ablationGroundTruth(
  graph: Graph,
  input: Tensor,
  decision: Target,
  layer: string,
  options: AblationOptions & { channels?: number[] } = {},
): Promise<Float32Array> {
  const [K] = layerShape(graph, layer);
  const channels = options.channels ?? Array.from({ length: K }, (_, i) => i);
  for (const c of channels) {
    if (!Number.isInteger(c) || c < 0 || c >= K) {
      throw new RangeError(`Channel ${c} is out of range: 0..${K - 1}`);
    }
  }
  return await withBase(graph, input, options.base, async (base) => {
    const { value, values } = await perturbed(
      graph,
      input,
      base,
      decision,
      layer,
      channels.map((c) => oneHot(K, c)),
      options.replace ?? "mean",
      options.batch,
    );
    return values.map((v) => value - v);
  });
}

/** The masking curves of {@linkcode maskingCurve}. */
export interface MaskingCurve {
  /** The unperturbed decision value. */
  value: number;
  /** The numbers of channels removed. */
  ks: number[];
  /** Response change `f̂ − f` after removing the top-k most important channels. */
  important: Float32Array;
  /** Response change after removing the top-k least important channels. */
  unimportant: Float32Array;
}

/**
 * Fig. 6: the decision's change when the k most important (and the k least important) channels of
 * `layer` by `alpha` are removed together, for each k.
 *
 * @param graph The model.
 * @param input The image.
 * @param decision The decision.
 * @param layer The layer.
 * @param alpha Per-channel contributions (e.g. a {@linkcode decompose} result's `alpha`).
 * @param ks Numbers of channels to remove.
 * @param options Replacement, batching, base trace.
 * @returns Both curves.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { decompose, maskingCurve } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const d = await decompose(g, x, classLogit(0), "relu2");
 * const c = await maskingCurve(g, x, classLogit(0), "relu2", d.alpha, [1, 2], { replace: "zero" });
 * if (c.important.length !== 2) throw new Error();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function maskingCurve(
  graph: Graph,
  input: Tensor,
  decision: Target,
  layer: string,
  alpha: ArrayLike<number>,
  ks: number[],
  options: AblationOptions = {},
): Promise<MaskingCurve> {
  const [K] = layerShape(graph, layer);
  if (alpha.length !== K) {
    throw new RangeError(`alpha has ${alpha.length} values; layer '${layer}' has ${K} channels`);
  }
  for (const k of ks) {
    if (!Number.isInteger(k) || k < 0 || k > K) throw new RangeError(`k = ${k} is out of range: 0..${K}`);
  }
  const order = Array.from({ length: K }, (_, i) => i).sort((a, b) => alpha[b] - alpha[a] || a - b);
  const maskOf = (chs: number[]) => {
    const m = new Float32Array(K);
    for (const c of chs) m[c] = 1;
    return m;
  };
  const masks = [
    ...ks.map((k) => maskOf(order.slice(0, k))),
    ...ks.map((k) => maskOf(order.slice(K - k))),
  ];
  return await withBase(graph, input, options.base, async (base) => {
    const { value, values } = await perturbed(
      graph,
      input,
      base,
      decision,
      layer,
      masks,
      options.replace ?? "mean",
      options.batch,
    );
    return {
      value,
      ks: [...ks],
      important: values.slice(0, ks.length).map((v) => v - value),
      unimportant: values.slice(ks.length).map((v) => v - value),
    };
  });
}
