import type { Tensor } from "../tf.ts";

/**
 * The ops of the cnnlens graph. Semantics follow ONNX; shapes and axes are always in NCHW terms
 * (channel `k` is the source model's channel `k`), whatever layout the backend uses inside.
 */
export type OpName =
  | "input"
  | "const"
  | "conv2d"
  | "batchnorm"
  | "relu"
  | "leakyrelu"
  | "clip"
  | "sigmoid"
  | "hardsigmoid"
  | "hardswish"
  | "maxpool"
  | "avgpool"
  | "globalavgpool"
  | "globalmaxpool"
  | "reducemean"
  | "reducemax"
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "concat"
  | "flatten"
  | "reshape"
  | "transpose"
  | "gemm"
  | "softmax"
  | "pad"
  | "identity";

/** Attributes of a node; which keys exist depends on the op (see `graph/ops.md` in the package README). */
export interface Attrs {
  /** conv2d / pools: [strideH, strideW]. */
  strides?: [number, number];
  /** conv2d / pools: [top, left, bottom, right]. */
  pads?: [number, number, number, number];
  /** conv2d: [dilationH, dilationW]. */
  dilations?: [number, number];
  /** conv2d: number of groups (1 = dense, C = depthwise). */
  group?: number;
  /** pools: [kernelH, kernelW]. */
  kernel?: [number, number];
  /** avgpool: count padded zeros in the average (ONNX count_include_pad). */
  countIncludePad?: boolean;
  /** pools: output size rounds up (ONNX ceil_mode). */
  ceilMode?: boolean;
  /** batchnorm epsilon. */
  epsilon?: number;
  /** leakyrelu slope; hardsigmoid alpha. */
  alpha?: number;
  /** hardsigmoid beta. */
  beta?: number;
  /** clip bounds. */
  min?: number;
  max?: number;
  /** concat / softmax / flatten axis, NCHW including the batch axis (ONNX convention). */
  axis?: number;
  /** reduce axes, NCHW including the batch axis. */
  axes?: number[];
  keepdims?: boolean;
  /** reshape target (per-sample, without the batch axis; -1 allowed once). */
  shape?: number[];
  /** transpose permutation (NCHW, including batch axis 0, which must stay 0). */
  perm?: number[];
  /** pad: ONNX-style pads for the per-sample axes [begin..., end...] in NCHW order without batch. */
  padding?: number[];
  /** pad mode. */
  mode?: "constant" | "reflect" | "edge";
  /** pad constant value. */
  value?: number;
}

/** One node of the graph: an op applied to named inputs, producing one output. */
export interface GraphNode {
  /** Unique node name (ONNX node name, tfjs layer name, or torchvision module path). */
  name: string;
  /** The op. */
  op: OpName;
  /** Names of input nodes, in order. */
  inputs: string[];
  /** Op attributes. */
  attrs: Attrs;
  /**
   * Parameters in the backend's layout: conv2d `weight` [kh, kw, cin/group, cout] (depthwise:
   * [kh, kw, cin, multiplier]) and `bias` [cout]; gemm `weight` [in, out] and `bias` [out]; batchnorm
   * `scale`, `shift`, `mean`, `variance` [C]; const `value` (backend layout).
   */
  params: Record<string, Tensor>;
  /** Source names of the parameters (e.g. torchvision `layer1.0.conv1.weight`) keyed like `params`. */
  paramNames?: Record<string, string>;
  /** Per-sample output shape in NCHW terms: [C, H, W] for feature maps, [F] for vectors. */
  shape: number[];
  /** Other names that address this node (e.g. the ONNX output tensor name). */
  aliases?: string[];
  /** Source op (e.g. ONNX `Conv` with fused BatchNorm), for display. */
  sourceOp?: string;
}
