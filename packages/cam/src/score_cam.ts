/**
 * Score-CAM (Wang et al., CVPR Workshops 2020).
 * @module
 */
import { decisionNode, runForward, type Tensor, tf } from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";
import { readGroups, resize } from "./_util.ts";

/**
 * Score-CAM, as pytorch-grad-cam computes it: each channel `A_k` is upsampled to the input size
 * (bilinear, corners aligned as `torch.nn.UpsamplingBilinear2d`), min-max normalised to
 * `H_k = (A_k − min) / (max − min + 1e-8)`, the input is masked `X ⊙ H_k`, the decision is read on the
 * masked input, `s_k = d(X ⊙ H_k)`, and the channel weights are the softmax over channels of those scores,
 * `w = softmax_k(s_k)`; map `ReLU(Σ_k w_k A_k)`. No gradients.
 *
 * The masked forward passes are stacked: `batchSize` rows per pass (channels × images), so a batch of N
 * images runs ⌈C·N / batchSize⌉ passes.
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision (any: `perItem`, similarity, neuron).
 * @param options Layers, `batchSize` (default 16).
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { scoreCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await scoreCam(g, x, classLogit(0), { perLayer: true, batchSize: 4 });
 * const sum = r.perLayer![0].weights!.reduce((a, b) => a + b, 0);
 * if (Math.abs(sum - 1) > 1e-5) throw new Error("softmax weights sum to 1");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const scoreCam: CamFunction = defineCam({
  id: "scorecam",
  capture: "activations",
  weights: async ({ graph, input, decision, activations, options }) => {
    const [n, , , c] = activations.shape as number[];
    const size: [number, number] = [input.shape[1]!, input.shape[2]!];
    const per = Math.max(1, Math.floor((options.batchSize ?? 16) / n));
    const dnode = decisionNode(graph, decision);
    const scores: Tensor[] = [];
    try {
      for (let k0 = 0; k0 < c; k0 += per) {
        const b = Math.min(per, c - k0);
        const s = tf.tidy(() => {
          const up = resize(tf.slice(activations, [0, 0, 0, k0], [-1, -1, -1, b]), size, "corners");
          const lo = tf.min(up, [1, 2], true);
          const masks = tf.div(tf.sub(up, lo), tf.add(tf.sub(tf.max(up, [1, 2], true), lo), 1e-8));
          const rows = [];
          for (let j = 0; j < b; j++) {
            rows.push(tf.mul(input, tf.slice(masks, [0, 0, 0, j], [-1, -1, -1, 1])));
          }
          const batch = b === 1 ? rows[0] : tf.concat(rows, 0);
          const tr = runForward(graph, batch, { keep: [], until: dnode });
          return readGroups(decision, tr.get(dnode), n);
        });
        scores.push(s);
        await s.data(); // keep a bounded amount of work in flight (WebGPU queues otherwise)
      }
      // Softmax over channels of the masked scores (pytorch-grad-cam's Score-CAM weights).
      return tf.tidy(() => tf.softmax(tf.transpose(scores.length === 1 ? scores[0] : tf.concat(scores, 0))));
    } finally {
      for (const s of scores) s.dispose();
    }
  },
});
