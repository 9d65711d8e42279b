import { tf } from "../tf.ts";
import type { Tensor } from "../tf.ts";
import { Graph } from "../graph/graph.ts";
import type { Attrs, GraphNode, OpName } from "../graph/node.ts";
import { getRule } from "../rules/registry.ts";
import type { ShapeRule } from "../rules/forward.ts";

/** Options for convolution layers built in code. */
export interface ConvSpec {
  /** Output channels. */
  out: number;
  /** Kernel size. @default 3 */
  k?: number;
  /** Stride. @default 1 */
  stride?: number;
  /** Padding (all sides). @default floor(k / 2) */
  pad?: number;
  /** Groups. @default 1 */
  group?: number;
  /** Whether the conv has a bias. @default true */
  bias?: boolean;
  /** Dilation. @default 1 */
  dilation?: number;
}

/**
 * Build a graph in code, torchvision-style: node names are module paths and parameters carry torchvision
 * names (`layer1.0.conv1.weight`), so exported weights drop in. Weights are seeded: the same seed gives
 * the same network on every backend.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  #seed: number;
  #names = new Map<string, number>();

  /**
   * @param inputShape Per-sample input shape [C, H, W].
   * @param seed Random seed for the initialisation. @default 0
   * @param inputName Input node name. @default "input"
   */
  constructor(inputShape: number[], seed = 0, readonly inputName = "input") {
    this.#seed = seed;
    this.nodes.push({
      name: inputName,
      op: "input",
      inputs: [],
      attrs: {},
      params: {},
      shape: [...inputShape],
    });
  }

  /** A unique node name from a module path (`relu`, `relu_1`, … like ONNX exports). */
  unique(name: string): string {
    const n = this.#names.get(name) ?? 0;
    this.#names.set(name, n + 1);
    return n === 0 ? name : `${name}_${n}`;
  }

  /** Per-sample shape of a node built so far. */
  shape(name: string): number[] {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new RangeError(`GraphBuilder: no node '${name}'`);
    return n.shape;
  }

  /**
   * The next tfjs seed. tfjs reads a seed of 0 as "no seed" (`seed ? seed : Math.random()`), so 0 is mapped
   * to a fixed stand-in: every parameter is reproducible, whatever the builder's seed.
   */
  #nextSeed(): number {
    const s = this.#seed++;
    return s === 0 ? 0x5eed : s;
  }

  #rand(shape: number[], std: number): Tensor {
    return tf.randomNormal(shape, 0, std, "float32", this.#nextSeed());
  }

  /**
   * Add a node; its shape is inferred at once.
   * @param name Module path (made unique).
   * @param op Op.
   * @param inputs Input node names.
   * @param attrs Attributes.
   * @param params Parameters.
   * @param paramNames Source names of the parameters.
   * @returns The node name.
   */
  add(
    name: string,
    op: OpName,
    inputs: string[],
    attrs: Attrs = {},
    params: Record<string, Tensor> = {},
    paramNames?: Record<string, string>,
  ): string {
    const node: GraphNode = { name: this.unique(name), op, inputs, attrs, params, paramNames, shape: [] };
    node.shape = getRule<ShapeRule>("shape", op, node.name)(node, inputs.map((i) => this.shape(i)));
    this.nodes.push(node);
    return node.name;
  }

  /** Convolution with Kaiming-normal (fan-out) weights, torchvision layout names. */
  conv(name: string, x: string, s: ConvSpec): string {
    const cin = this.shape(x)[0];
    const k = s.k ?? 3;
    const group = s.group ?? 1;
    const p = s.pad ?? Math.floor(k / 2);
    const std = Math.sqrt(2 / (s.out * k * k / group));
    const depthwise = group === cin && group > 1;
    const weight = depthwise
      ? this.#rand([k, k, cin, s.out / cin], std)
      : this.#rand([k, k, cin / group, s.out], std);
    const params: Record<string, Tensor> = { weight };
    const names: Record<string, string> = { weight: `${name}.weight` };
    if (s.bias ?? true) {
      const bound = 1 / Math.sqrt(cin / group * k * k);
      params.bias = tf.randomUniform([s.out], -bound, bound, "float32", this.#nextSeed());
      names.bias = `${name}.bias`;
    }
    const d = s.dilation ?? 1;
    return this.add(
      name,
      "conv2d",
      [x],
      {
        strides: [s.stride ?? 1, s.stride ?? 1],
        pads: [p, p, p, p],
        dilations: [d, d],
        group,
      },
      params,
      names,
    );
  }

  /** Inference batch norm (scale 1, shift 0, mean 0, var 1 unless `randomStats`). */
  bn(name: string, x: string, randomStats = false): string {
    const c = this.shape(x)[0];
    const params = randomStats
      ? {
        // tidy releases the intermediate random tensors; the four results are returned (kept).
        scale: tf.tidy(() => tf.add(1, this.#rand([c], 0.2))),
        shift: this.#rand([c], 0.2),
        mean: this.#rand([c], 0.2),
        variance: tf.tidy(() => tf.add(0.5, tf.abs(this.#rand([c], 0.5)))),
      }
      : { scale: tf.ones([c]), shift: tf.zeros([c]), mean: tf.zeros([c]), variance: tf.ones([c]) };
    return this.add(name, "batchnorm", [x], { epsilon: 1e-5 }, params, {
      scale: `${name}.weight`,
      shift: `${name}.bias`,
      mean: `${name}.running_mean`,
      variance: `${name}.running_var`,
    });
  }

  /** Fully connected layer (PyTorch default-like uniform init). */
  linear(name: string, x: string, out: number, bias = true): string {
    const fin = this.shape(x)[0];
    const bound = 1 / Math.sqrt(fin);
    const params: Record<string, Tensor> = {
      weight: tf.randomUniform([fin, out], -bound, bound, "float32", this.#nextSeed()),
    };
    const names: Record<string, string> = { weight: `${name}.weight` };
    if (bias) {
      params.bias = tf.randomUniform([out], -bound, bound, "float32", this.#nextSeed());
      names.bias = `${name}.bias`;
    }
    return this.add(name, "gemm", [x], {}, params, names);
  }

  /** Unary op shortcut (relu, sigmoid, flatten, globalavgpool, …). */
  op(name: string, op: OpName, x: string | string[], attrs: Attrs = {}): string {
    return this.add(name, op, Array.isArray(x) ? x : [x], attrs);
  }

  /** Max pool. */
  maxpool(name: string, x: string, k: number, stride = k, pad = 0, ceilMode = false): string {
    return this.add(name, "maxpool", [x], {
      kernel: [k, k],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
      ceilMode,
    });
  }

  /**
   * Finish: a {@linkcode Graph} whose output is `output`.
   * @param output Output node name.
   * @returns The graph.
   */
  build(output: string): Graph {
    return new Graph(this.nodes, { input: this.inputName, output });
  }
}
