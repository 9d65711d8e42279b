/**
 * Guided Backpropagation (Springenberg et al., ICLR Workshop 2015) and Guided Grad-CAM.
 * @module
 */
import {
  backwardWalk,
  type Decision,
  decisionNode,
  findRule,
  type Graph,
  registeredOps,
  registerRule,
  runForward,
  type Tensor,
  tf,
  toNCHW,
  type VjpRule,
} from "@cnnlens/core";
import { decisionSeed, readF32, resize } from "./_util.ts";
import type { CamOptions } from "./base.ts";
import { gradCam } from "./grad_cam.ts";

/** Rule kind of Guided Backpropagation (same signature as core `vjp` rules). */
export const GUIDED_BACKPROP = "guidedbackprop";

/**
 * The guided ReLU: pass the cotangent only where the forward input was positive (the ReLU's own gradient)
 * and the cotangent itself is positive (the "guidance"): `dx = dy ⊙ [x > 0] ⊙ [dy > 0]`.
 */
const guidedRelu: VjpRule = (_n, [x], _o, dy) => [tf.mul(tf.mul(dy, tf.step(x, 0)), tf.step(dy, 0))];
registerRule(GUIDED_BACKPROP, "relu", guidedRelu);

/**
 * Fill the `guidedbackprop` kind: every op that has a core `vjp` rule but no guided rule gets the core
 * `vjp` rule (the chain rule), so only ReLUs are guided. Idempotent; called before each walk so that ops
 * registered later (by importers) are covered too.
 * @returns The ops that use the plain chain rule.
 * @example
 * ```ts
 * import { ensureGuidedRules } from "@cnnlens/cam";
 * const plain = ensureGuidedRules();
 * if (plain.includes("relu") || !plain.includes("conv2d")) throw new Error("only relu is guided");
 * ```
 */
export function ensureGuidedRules(): string[] {
  const plain: string[] = [];
  for (const op of registeredOps("vjp")) {
    const own = findRule(GUIDED_BACKPROP, op);
    if (!own) registerRule(GUIDED_BACKPROP, op, findRule<VjpRule>("vjp", op)!);
    if (own !== guidedRelu) plain.push(op);
  }
  return plain;
}
ensureGuidedRules();

/** Guided Backpropagation's result: one signed map per input channel. */
export interface GuidedBackpropResult {
  /** Images. */
  batch: number;
  /** Input channels. */
  channels: number;
  /** Input rows. */
  height: number;
  /** Input columns. */
  width: number;
  /** `batch × channels × height × width` (NCHW), the guided gradient at the input. */
  map: Float32Array;
  /** The decision per image. */
  value: Float32Array;
}

function guided(graph: Graph, input: Tensor, decision: Decision): { grad: Tensor; value: Tensor } {
  ensureGuidedRules();
  const dnode = decisionNode(graph, decision);
  const trace = runForward(graph, input, { keep: "all", until: dnode });
  try {
    const seed = decisionSeed(decision, trace.get(dnode));
    try {
      const grads = backwardWalk(graph, trace, new Map([[dnode, seed]]), {
        to: [graph.input],
        kind: GUIDED_BACKPROP,
      });
      const value = tf.tidy(() => tf.reshape(decision.read(trace.get(dnode)), [input.shape[0]]));
      return { grad: grads.get(graph.input)!, value };
    } finally {
      seed.dispose();
    }
  } finally {
    trace.dispose();
  }
}

/**
 * Guided Backpropagation: the gradient of the decision at the input, with every ReLU passing back only
 * positive signal through positive inputs. A backward walk with the `guidedbackprop` rule kind — a guided
 * rule for `relu`, the core `vjp` rule for every other op.
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision.
 * @returns The guided gradient in NCHW order.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { guidedBackprop } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await guidedBackprop(g, x, classLogit(0));
 * if (r.channels !== 3 || r.map.length !== 3 * 64) throw new Error("one map per colour");
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function guidedBackprop(
  graph: Graph,
  input: Tensor,
  decision: Decision,
): Promise<GuidedBackpropResult> {
  const { grad, value } = guided(graph, input, decision);
  const nchw = toNCHW(grad);
  try {
    const [n, c, h, w] = nchw.shape as number[];
    return {
      batch: n,
      channels: c,
      height: h,
      width: w,
      map: await readF32(nchw),
      value: await readF32(value),
    };
  } finally {
    nchw.dispose();
    grad.dispose();
    value.dispose();
  }
}

/**
 * Guided Grad-CAM (Selvaraju et al.): Guided Backpropagation multiplied element-wise by the Grad-CAM map
 * upsampled (bilinear, pixel centres) to the input size.
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision.
 * @param options Grad-CAM's layers.
 * @returns NCHW maps at the input resolution.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { guidedGradCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const r = await guidedGradCam(g, x, classLogit(0));
 * if (r.height !== 8) throw new Error("input resolution");
 * x.dispose();
 * g.dispose();
 * ```
 */
export async function guidedGradCam(
  graph: Graph,
  input: Tensor,
  decision: Decision,
  options: CamOptions = {},
): Promise<GuidedBackpropResult> {
  const gc = await gradCam(graph, input, decision, options);
  const gb = await guidedBackprop(graph, input, decision);
  const map = tf.tidy(() => {
    const m = tf.tensor3d(gc.map, [gc.batch, gc.height, gc.width]);
    const up = resize(m, [gb.height, gb.width], "half");
    return tf.mul(tf.tensor4d(gb.map, [gb.batch, gb.channels, gb.height, gb.width]), tf.expandDims(up, 1));
  });
  try {
    return { ...gb, map: await readF32(map) };
  } finally {
    map.dispose();
  }
}
