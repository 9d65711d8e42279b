/**
 * Ablation-CAM (Desai & Ramaswamy, WACV 2020).
 * @module
 */
import { decisionNode, runForward, type Tensor, tf, type TiledBase, tiledBase } from "@cnnlens/core";
import { type CamFunction, defineCam, lastOf } from "./base.ts";
import { readGroups } from "./_util.ts";

/**
 * Ablation-CAM: channel `k` of the layer is set to zero, the decision is read again, and the weight is
 * the relative drop `w_k = (y − y_k) / y` (Ablation-CAM's slope; pytorch-grad-cam's weights); map
 * `ReLU(Σ_k w_k A_k)`. No gradients.
 *
 * Only the layer's descendants are recomputed (`runForward` with `overrides` and a `base` trace), with the
 * ablated copies stacked `batchSize` rows per pass (channels × images); values the descendants read from
 * outside (residual shortcuts) are tiled to match. pytorch-grad-cam replaces the channel by a very
 * negative value when the layer can be negative; this follows the paper and zeroes it.
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision (any: `perItem`, similarity, neuron).
 * @param options Layers, `batchSize` (default 32).
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { ablationCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await ablationCam(g, x, classLogit(0), { batchSize: 4 });
 * if (r.batch !== 2 || r.map.length !== 2 * 16) throw new Error("two 4×4 maps");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const ablationCam: CamFunction = defineCam({
  id: "ablationcam",
  capture: "trace",
  weights: async ({ graph, input, decision, layer, activations, value, trace, options }) => {
    const [n, , , c] = activations.shape as number[];
    const per = Math.max(1, Math.floor((options.batchSize ?? 32) / n));
    const dnode = decisionNode(graph, decision);
    const until = lastOf(graph, [layer, dnode]);
    const bases = new Map<number, TiledBase>();
    const scores: Tensor[] = [];
    try {
      for (let k0 = 0; k0 < c; k0 += per) {
        const b = Math.min(per, c - k0);
        let base = bases.get(b);
        if (!base) {
          base = tiledBase(graph, trace, input, layer, until, b);
          bases.set(b, base);
        }
        const stack = base;
        const s = tf.tidy(() => {
          const rows = [];
          for (let j = 0; j < b; j++) {
            // Channel k0 + j set to zero in every image.
            rows.push(tf.mul(activations, tf.sub(1, tf.oneHot([k0 + j], c))));
          }
          const ablated = b === 1 ? rows[0] : tf.concat(rows, 0);
          const tr = runForward(graph, stack.input, {
            overrides: new Map([[layer, ablated]]),
            base: stack.trace,
            keep: [],
            until: dnode,
          });
          return readGroups(decision, tr.get(dnode), n);
        });
        scores.push(s);
        await s.data();
      }
      return tf.tidy(() => {
        const ablatedScores = tf.transpose(scores.length === 1 ? scores[0] : tf.concat(scores, 0)); // [N, C]
        const y = tf.reshape(value, [n, 1]);
        // Ablation-CAM slope: relative drop of the decision when channel k is removed.
        return tf.div(tf.sub(y, ablatedScores), y);
      });
    } finally {
      for (const s of scores) s.dispose();
      for (const b of bases.values()) b.dispose();
    }
  },
});
