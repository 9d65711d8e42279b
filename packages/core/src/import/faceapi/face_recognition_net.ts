/**
 * `zoo:faceapi-recognition`: face-api's face recognition ResNet (a dlib-style ResNet-34 variant, 128-d
 * descriptor), built as a core graph from `@vladmandic/face-api`'s shipped weights.
 * @module
 */
import { tf } from "../../tf.ts";
import type { Graph } from "../../graph/graph.ts";
import { GraphBuilder } from "../../models/builder.ts";
import { type FaceApiLoadOptions, type FaceApiWeights, loadFaceApiWeights } from "./faceapi_weights.ts";
import { samePads } from "./_same_padding.ts";
import { WeightReader } from "./_weight_reader.ts";

/** Options for building the face recognition graph. */
export interface FaceRecognitionOptions {
  /**
   * Fold each scale layer (`x · w + b`, per channel) into the convolution before it: weights · w,
   * bias · w + b. When false the scale layers are kept as batchnorm nodes (mean 0, variance 1, epsilon 0)
   * named `…/scale`, so the graph holds the manifest's parameters one for one.
   * @default true
   */
  foldScale?: boolean;
}

function lastNode(b: GraphBuilder) {
  return b.nodes[b.nodes.length - 1];
}

/** face-api's `convLayer`: conv (+ bias) → scale layer → optional ReLU. */
function convLayer(
  b: GraphBuilder,
  r: WeightReader,
  fold: boolean,
  prefix: string,
  x: string,
  stride: number,
  padding: "same" | "valid",
  relu: boolean,
): string {
  const cin = b.shape(x)[0];
  const f = r.take(`${prefix}/conv/filters`, [-1, -1, cin, -1]);
  const [k, , , cout] = f.shape;
  const bias = r.take(`${prefix}/conv/bias`, [cout]);
  const s = r.take(`${prefix}/scale/weights`, [cout]);
  const t = r.take(`${prefix}/scale/biases`, [cout]);
  const [, h, w] = b.shape(x);
  const attrs = {
    strides: [stride, stride] as [number, number],
    pads: padding === "same" ? samePads(h, w, k, stride) : [0, 0, 0, 0] as [number, number, number, number],
    dilations: [1, 1] as [number, number],
    group: 1,
  };
  const names = { weight: `${prefix}/conv/filters`, bias: `${prefix}/conv/bias` };
  let out: string;
  if (fold) {
    // Scale layer folded into the conv: (x ∗ W + c) · s + t = x ∗ (W · s) + (c · s + t), per output channel.
    const wf = new Float32Array(f.data.length);
    for (let i = 0; i < wf.length; i++) wf[i] = f.data[i] * s.data[i % cout];
    const bf = new Float32Array(cout);
    for (let o = 0; o < cout; o++) bf[o] = bias.data[o] * s.data[o] + t.data[o];
    out = b.add(`${prefix}/conv`, "conv2d", [x], attrs, {
      weight: tf.tensor4d(wf, f.shape as [number, number, number, number]),
      bias: tf.tensor1d(bf),
    }, names);
    const node = lastNode(b);
    node.aliases = [`${prefix}/scale`];
    node.sourceOp = "Conv2D + scale layer (folded)";
  } else {
    const conv = b.add(`${prefix}/conv`, "conv2d", [x], attrs, {
      weight: tf.tensor4d(f.data, f.shape as [number, number, number, number]),
      bias: tf.tensor1d(bias.data),
    }, names);
    lastNode(b).sourceOp = "Conv2D";
    out = b.add(`${prefix}/scale`, "batchnorm", [conv], { epsilon: 0 }, {
      scale: tf.tensor1d(s.data),
      shift: tf.tensor1d(t.data),
      mean: tf.zeros([cout]),
      variance: tf.ones([cout]),
    }, { scale: `${prefix}/scale/weights`, shift: `${prefix}/scale/biases` });
    lastNode(b).sourceOp = "scale layer (x · weights + biases)";
  }
  return relu ? b.add(`${prefix}/relu`, "relu", [out]) : out;
}

/** face-api's `residual`: relu(conv2(conv1(x)) + x). */
function residual(b: GraphBuilder, r: WeightReader, fold: boolean, name: string, x: string): string {
  const a = convLayer(b, r, fold, `${name}/conv1`, x, 1, "same", true);
  const c = convLayer(b, r, fold, `${name}/conv2`, a, 1, "same", false);
  return b.add(`${name}/relu`, "relu", [b.add(`${name}/add`, "add", [c, x])]);
}

/**
 * face-api's `residualDown`: the main path downsamples with a stride-2 'valid' conv; the shortcut is a
 * 2×2 average pool, zero-padded in channels when the block widens, and when the two disagree in size the
 * main path gets one zero row (bottom) and one zero column (right).
 */
function residualDown(b: GraphBuilder, r: WeightReader, fold: boolean, name: string, x: string): string {
  const a = convLayer(b, r, fold, `${name}/conv1`, x, 2, "valid", true);
  let c = convLayer(b, r, fold, `${name}/conv2`, a, 1, "same", false);
  let p = b.add(`${name}/avgpool`, "avgpool", [x], { kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0] });
  const [pc, ph, pw] = b.shape(p);
  const [oc, oh, ow] = b.shape(c);
  if (ph !== oh || pw !== ow) {
    if (ph !== oh + 1 || pw !== ow + 1) {
      throw new RangeError(
        `Block '${name}': shortcut [${pc}, ${ph}, ${pw}] and main path [${oc}, ${oh}, ${ow}]`,
      );
    }
    c = b.add(`${name}/conv2/pad`, "pad", [c], { padding: [0, 0, 0, 0, 1, 1], mode: "constant", value: 0 });
  }
  if (pc !== oc) {
    if (oc !== 2 * pc) throw new RangeError(`Block '${name}': shortcut has ${pc} channels, main path ${oc}`);
    p = b.add(`${name}/avgpool/pad`, "pad", [p], {
      padding: [0, 0, 0, pc, 0, 0],
      mode: "constant",
      value: 0,
    });
  }
  return b.add(`${name}/relu`, "relu", [b.add(`${name}/add`, "add", [p, c])]);
}

/**
 * Build face-api's face recognition network from its dequantized weights (see
 * {@linkcode loadFaceApiWeights}). Input `input` [3, 150, 150] (NHWC [N, 150, 150, 3] in the backend),
 * preprocessed by {@linkcode faceapiPreprocess} with size 150; output `fc` [128], the face descriptor
 * (compare descriptors by Euclidean distance; face-api calls two faces the same person below 0.6).
 *
 * Layers: `conv32_down/conv` (7×7 stride 2, valid) → `conv32_down/relu` → `maxpool` (3×3 stride 2) →
 * residual blocks `conv32_1..3`, `conv64_down`, `conv64_1..3`, `conv128_down`, `conv128_1..2`,
 * `conv256_down`, `conv256_1..2`, `conv256_down_out` (each `<block>/conv1/conv`, `<block>/conv1/relu`,
 * `<block>/conv2/conv`, [`<block>/avgpool`, `<block>/avgpool/pad`, `<block>/conv2/pad`], `<block>/add`,
 * `<block>/relu`) → `avgpool` (global) → `flatten` → `fc`.
 *
 * @param weights The weights of `face_recognition_model`.
 * @param options Whether to fold the scale layers.
 * @returns The graph (dispose it when done).
 * @example
 * ```ts
 * import { useBackend } from "@cnnlens/core";
 * import { faceRecognitionGraph } from "./face_recognition_net.ts";
 * import { loadFaceApiWeights } from "./faceapi_weights.ts";
 * await useBackend("cpu");
 * const { weights } = await loadFaceApiWeights("face_recognition_model");
 * const g = faceRecognitionGraph(weights);
 * if (g.node(g.output).shape[0] !== 128) throw new Error("128-d descriptor expected");
 * g.dispose();
 * ```
 */
export function faceRecognitionGraph(weights: FaceApiWeights, options: FaceRecognitionOptions = {}): Graph {
  const fold = options.foldScale ?? true;
  const r = new WeightReader(weights, "face_recognition_model");
  const b = new GraphBuilder([3, 150, 150], 0, "input");
  try {
    let x = convLayer(b, r, fold, "conv32_down", "input", 2, "valid", true);
    x = b.maxpool("maxpool", x, 3, 2, 0);
    for (const n of ["conv32_1", "conv32_2", "conv32_3"]) x = residual(b, r, fold, n, x);
    x = residualDown(b, r, fold, "conv64_down", x);
    for (const n of ["conv64_1", "conv64_2", "conv64_3"]) x = residual(b, r, fold, n, x);
    x = residualDown(b, r, fold, "conv128_down", x);
    for (const n of ["conv128_1", "conv128_2"]) x = residual(b, r, fold, n, x);
    x = residualDown(b, r, fold, "conv256_down", x);
    for (const n of ["conv256_1", "conv256_2"]) x = residual(b, r, fold, n, x);
    x = residualDown(b, r, fold, "conv256_down_out", x);
    x = b.add("avgpool", "globalavgpool", [x]);
    x = b.add("flatten", "flatten", [x]);
    const c = b.shape(x)[0];
    const fc = b.add("fc", "gemm", [x], {}, { weight: r.tensor("fc", [c, 128]) }, { weight: "fc" });
    r.finish();
    return b.build(fc);
  } catch (e) {
    for (const n of b.nodes) for (const t of Object.values(n.params)) t.dispose();
    throw e;
  }
}

/**
 * `zoo:faceapi-recognition`: load `@vladmandic/face-api`'s `face_recognition_model` weights and build
 * the graph ({@linkcode faceRecognitionGraph}).
 *
 * @param options Where the weights are, and whether to fold the scale layers.
 * @returns The graph: input [3, 150, 150], output `fc` [128].
 * @example
 * ```ts
 * import { useBackend } from "@cnnlens/core";
 * import { faceRecognitionNet } from "./face_recognition_net.ts";
 * await useBackend("cpu");
 * const g = await faceRecognitionNet();
 * if (g.lastSpatialNode().name !== "conv256_down_out/relu") throw new Error("last block expected");
 * g.dispose();
 * ```
 */
export async function faceRecognitionNet(
  options: FaceApiLoadOptions & FaceRecognitionOptions = {},
): Promise<Graph> {
  const { weights } = await loadFaceApiWeights("face_recognition_model", options);
  return faceRecognitionGraph(weights, options);
}
