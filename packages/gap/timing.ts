/**
 * The cost comparison of section 4.1: gAP needs one backward pass per decision, the ablation ground truth
 * one forward pass per channel (the paper: about 50 ms against 10 s on VGG-16, ~200×).
 * @module
 */
import { type Graph, runForward, type Tensor, tf } from "@cnnlens/core";
import { isNeuron, layerShape, type Target, targetNode } from "./_engine.ts";
import { ablationGroundTruth } from "./ablation.ts";
import { decompose } from "./decompose.ts";

/** Timings of {@linkcode timeGapVsAblation}, in milliseconds (medians). */
export interface GapTiming {
  /** One forward pass of the whole graph (shared by both; not included below). */
  forwardMs: number;
  /** One gAP decomposition into the layer (backward pass through the sub-graph, maps read back). */
  gapMs: number;
  /** The ablation ground truth for every channel of the layer (batched sub-graph forward passes). */
  ablationMs: number;
  /** `ablationMs / gapMs`. */
  ratio: number;
  /**
   * The paper's protocol estimated: one full forward pass per channel (nothing reused, nothing batched),
   * measured on `naiveSample` channels and scaled to all of them; NaN when `naiveSample` is 0.
   */
  naiveAblationMs: number;
  /** `naiveAblationMs / (forwardMs + gapMs)`: a full-forward ablation against one gAP from scratch. */
  naiveRatio: number;
}

function readTarget(t: Target, v: Tensor): Tensor {
  return isNeuron(t) ? tf.slice(v, [0, t.position[0], t.position[1], t.channel], [1, 1, 1, 1]) : t.read(v);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Time one gAP decomposition of `decision` into `layer` against its ablation ground truth (every channel
 * replaced by its mean, one at a time), on the same forward trace; each measured `repeat` times after a
 * warm-up (the ablation `ablationRepeat` times). Also estimates the paper's protocol (one full forward
 * pass per channel) from `naiveSample` channels.
 *
 * @param graph The model.
 * @param input The image, batch 1.
 * @param decision The decision.
 * @param layer The layer.
 * @param options Repetitions.
 * @returns Medians and the ratio.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { timeGapVsAblation } from "@cnnlens/gap";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 3);
 * const t = await timeGapVsAblation(g, x, classLogit(0), "relu1", { repeat: 1 });
 * if (!(t.gapMs > 0 && t.ablationMs > 0)) throw new Error();
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function timeGapVsAblation(
  graph: Graph,
  input: Tensor,
  decision: Target,
  layer: string,
  options: { repeat?: number; ablationRepeat?: number; warmup?: boolean; naiveSample?: number } = {},
): Promise<GapTiming> {
  const repeat = options.repeat ?? 3;
  const [K] = layerShape(graph, layer);
  const ablationRepeat = options.ablationRepeat ?? 1;
  const fw: number[] = [];
  const run = async () => {
    const t0 = performance.now();
    const tr = runForward(graph, input);
    await tr.get(graph.output).data();
    fw.push(performance.now() - t0);
    return tr;
  };
  const base = await run();
  try {
    if (options.warmup ?? true) {
      await decompose(graph, input, decision, layer, { base });
      await ablationGroundTruth(graph, input, decision, layer, { base, channels: [0] });
    }
    const gap: number[] = [];
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      await decompose(graph, input, decision, layer, { base });
      gap.push(performance.now() - t0);
    }
    const abl: number[] = [];
    for (let i = 0; i < ablationRepeat; i++) {
      const t0 = performance.now();
      await ablationGroundTruth(graph, input, decision, layer, { base });
      abl.push(performance.now() - t0);
    }
    const gapMs = median(gap);
    const ablationMs = median(abl);
    const sample = Math.min(options.naiveSample ?? 4, K);
    const naive: number[] = [];
    for (let i = 0; i < sample; i++) {
      const c = Math.floor((i * K) / sample);
      const F = base.get(layer);
      const ablated = tf.tidy(() => {
        const m = tf.reshape(tf.cast(tf.oneHot(tf.tensor1d([c], "int32"), K), "float32"), [1, 1, 1, K]);
        return tf.add(tf.mul(F, tf.sub(1, m)), tf.mul(tf.mean(F, [1, 2], true), m));
      });
      const t0 = performance.now();
      // No base trace: every node is recomputed from the input, as one full forward pass per channel.
      const tr = runForward(graph, input, {
        overrides: new Map([[layer, ablated]]),
        keep: [targetNode(graph, decision)],
      });
      const v = tf.tidy(() => readTarget(decision, tr.get(targetNode(graph, decision))));
      await v.data();
      naive.push(performance.now() - t0);
      v.dispose();
      tr.dispose();
      ablated.dispose();
    }
    const naiveAblationMs = sample ? (naive.reduce((a, b) => a + b, 0) / sample) * K : NaN;
    const forwardMs = median(fw);
    return {
      forwardMs,
      gapMs,
      ablationMs,
      ratio: ablationMs / gapMs,
      naiveAblationMs,
      naiveRatio: naiveAblationMs / (forwardMs + gapMs),
    };
  } finally {
    base.dispose();
  }
}
