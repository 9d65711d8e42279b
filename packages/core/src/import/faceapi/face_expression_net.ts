/**
 * `zoo:faceapi-expression`: face-api's facial expression classifier (its FaceFeatureExtractor, four dense
 * blocks of depthwise-separable convolutions, then a 7-way linear layer), built as a core graph from
 * `@vladmandic/face-api`'s shipped weights.
 * @module
 */
import { tf } from "../../tf.ts";
import type { Graph } from "../../graph/graph.ts";
import { GraphBuilder } from "../../models/builder.ts";
import { type FaceApiLoadOptions, type FaceApiWeights, loadFaceApiWeights } from "./faceapi_weights.ts";
import { samePads } from "./_same_padding.ts";
import { WeightReader } from "./_weight_reader.ts";

/** The expression classes in face-api's output order (`FACE_EXPRESSION_LABELS`). */
export const FACE_EXPRESSION_LABELS: readonly string[] = Object.freeze([
  "neutral",
  "happy",
  "sad",
  "angry",
  "fearful",
  "disgusted",
  "surprised",
]);

type Pads = [number, number, number, number];

/** tfjs `separableConv2d(x, depthwise, pointwise, stride, 'same') + bias` as two conv2d nodes. */
function separable(b: GraphBuilder, r: WeightReader, name: string, x: string, stride: number): string {
  const [c, h, w] = b.shape(x);
  const dw = r.take(`${name}/depthwise_filter`, [-1, -1, c, 1]);
  const pw = r.take(`${name}/pointwise_filter`, [1, 1, c, -1]);
  const cout = pw.shape[3];
  const d = b.add(
    `${name}/depthwise`,
    "conv2d",
    [x],
    {
      strides: [stride, stride],
      pads: samePads(h, w, dw.shape[0], stride),
      dilations: [1, 1],
      group: c,
    },
    { weight: tf.tensor4d(dw.data, dw.shape as Pads) },
    { weight: `${name}/depthwise_filter` },
  );
  b.nodes[b.nodes.length - 1].sourceOp = "DepthwiseConv2D";
  const out = b.add(
    name,
    "conv2d",
    [d],
    { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], group: 1 },
    {
      weight: tf.tensor4d(pw.data, pw.shape as Pads),
      bias: r.tensor(`${name}/bias`, [cout]),
    },
    { weight: `${name}/pointwise_filter`, bias: `${name}/bias` },
  );
  b.nodes[b.nodes.length - 1].sourceOp = "Conv2D 1×1 (pointwise) + bias";
  return out;
}

/**
 * face-api's `denseBlock4`: out1 = relu(conv0(x)) (stride 2); out2 = conv1(out1);
 * out3 = conv2(relu(out1 + out2)); out4 = conv3(relu(out1 + (out2 + out3)));
 * y = relu(out1 + (out2 + (out3 + out4))). The sums keep face-api's association order.
 */
function denseBlock4(b: GraphBuilder, r: WeightReader, name: string, x: string, first: boolean): string {
  let c0: string;
  if (first) {
    const [c, h, w] = b.shape(x);
    const f = r.take(`${name}/conv0/filters`, [-1, -1, c, -1]);
    c0 = b.add(`${name}/conv0`, "conv2d", [x], {
      strides: [2, 2],
      pads: samePads(h, w, f.shape[0], 2),
      dilations: [1, 1],
      group: 1,
    }, {
      weight: tf.tensor4d(f.data, f.shape as Pads),
      bias: r.tensor(`${name}/conv0/bias`, [f.shape[3]]),
    }, { weight: `${name}/conv0/filters`, bias: `${name}/conv0/bias` });
  } else {
    c0 = separable(b, r, `${name}/conv0`, x, 2);
  }
  const out1 = b.add(`${name}/conv0/relu`, "relu", [c0]);
  const out2 = separable(b, r, `${name}/conv1`, out1, 1);
  const in3 = b.add(`${name}/in3`, "relu", [b.add(`${name}/in3/add`, "add", [out1, out2])]);
  const out3 = separable(b, r, `${name}/conv2`, in3, 1);
  const s23 = b.add(`${name}/in4/add23`, "add", [out2, out3]);
  const in4 = b.add(`${name}/in4`, "relu", [b.add(`${name}/in4/add`, "add", [out1, s23])]);
  const out4 = separable(b, r, `${name}/conv3`, in4, 1);
  const s34 = b.add(`${name}/out/add34`, "add", [out3, out4]);
  const s234 = b.add(`${name}/out/add234`, "add", [out2, s34]);
  return b.add(`${name}/out`, "relu", [b.add(`${name}/out/add`, "add", [out1, s234])]);
}

/**
 * Build face-api's expression network from its dequantized weights (see {@linkcode loadFaceApiWeights}).
 * Input `input` [3, 112, 112] (NHWC [N, 112, 112, 3] in the backend), preprocessed by
 * {@linkcode faceapiPreprocess} with size 112; output `fc` [7], the logits of
 * {@linkcode FACE_EXPRESSION_LABELS} (face-api reports their softmax).
 *
 * Layers, per dense block `dense0..3` (each halves the resolution: 112 → 56 → 28 → 14 → 7):
 * `<block>/conv0` (dense0: 3×3 conv stride 2; others: `<block>/conv0/depthwise` 3×3 stride 2 then the
 * 1×1 `<block>/conv0`), `<block>/conv0/relu`, `<block>/conv1`, `<block>/in3`, `<block>/conv2`,
 * `<block>/in4`, `<block>/conv3`, `<block>/out` (each `convN` of a separable pair is preceded by
 * `<block>/convN/depthwise`); then `avgpool` (7×7 stride 2, valid → 1×1), `flatten`, `fc`. TensorFlow's
 * 'same' padding is made explicit: stride 1 pads 1 on every side, stride 2 pads 0 before and 1 after.
 *
 * @param weights The weights of `face_expression_model`.
 * @returns The graph (dispose it when done).
 * @example
 * ```ts
 * import { useBackend } from "@cnnlens/core";
 * import { faceExpressionGraph } from "./face_expression_net.ts";
 * import { loadFaceApiWeights } from "./faceapi_weights.ts";
 * await useBackend("cpu");
 * const { weights } = await loadFaceApiWeights("face_expression_model");
 * const g = faceExpressionGraph(weights);
 * if (g.node("dense3/out").shape.join() !== "256,7,7") throw new Error("7×7×256 features expected");
 * g.dispose();
 * ```
 */
export function faceExpressionGraph(weights: FaceApiWeights): Graph {
  const r = new WeightReader(weights, "face_expression_model");
  const b = new GraphBuilder([3, 112, 112], 0, "input");
  try {
    let x = denseBlock4(b, r, "dense0", "input", true);
    x = denseBlock4(b, r, "dense1", x, false);
    x = denseBlock4(b, r, "dense2", x, false);
    x = denseBlock4(b, r, "dense3", x, false);
    x = b.add("avgpool", "avgpool", [x], { kernel: [7, 7], strides: [2, 2], pads: [0, 0, 0, 0] });
    x = b.add("flatten", "flatten", [x]);
    const c = b.shape(x)[0];
    const n = FACE_EXPRESSION_LABELS.length;
    const fc = b.add("fc", "gemm", [x], {}, {
      weight: r.tensor("fc/weights", [c, n]),
      bias: r.tensor("fc/bias", [n]),
    }, { weight: "fc/weights", bias: "fc/bias" });
    r.finish();
    return b.build(fc);
  } catch (e) {
    for (const n of b.nodes) for (const t of Object.values(n.params)) t.dispose();
    throw e;
  }
}

/**
 * `zoo:faceapi-expression`: load `@vladmandic/face-api`'s `face_expression_model` weights and build the
 * graph ({@linkcode faceExpressionGraph}).
 *
 * @param options Where the weights are.
 * @returns The graph: input [3, 112, 112], output `fc` [7] (logits).
 * @example
 * ```ts
 * import { useBackend } from "@cnnlens/core";
 * import { FACE_EXPRESSION_LABELS, faceExpressionNet } from "./face_expression_net.ts";
 * await useBackend("cpu");
 * const g = await faceExpressionNet();
 * if (g.node(g.output).shape[0] !== FACE_EXPRESSION_LABELS.length) throw new Error("7 logits expected");
 * g.dispose();
 * ```
 */
export async function faceExpressionNet(options: FaceApiLoadOptions = {}): Promise<Graph> {
  const { weights } = await loadFaceApiWeights("face_expression_model", options);
  return faceExpressionGraph(weights);
}
