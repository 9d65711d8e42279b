/**
 * Private helper of the TensorFlow.js importers: collects core graph nodes, infers each node's shape as
 * it is added (so a mismatch is reported at the layer that causes it), owns the parameter tensors until
 * the graph is built, and releases them if the import fails.
 * @module
 */
import { tf } from "../../tf.ts";
import type { Tensor } from "../../tf.ts";
import { Graph } from "../../graph/graph.ts";
import type { Attrs, GraphNode, OpName } from "../../graph/node.ts";
import { getRule } from "../../rules/registry.ts";
import type { ShapeRule } from "../../rules/forward.ts";
import { TfjsImportError } from "./tfjs_import_error.ts";

/** Whether C, H, W order and H, W, C order coincide for a [C, H, W] map (one channel, or one pixel). */
export function orderFree([c, h, w]: number[]): boolean {
  return c === 1 || h * w === 1;
}

/**
 * A TensorFlow axis (NHWC, including the batch axis) as a core NCHW axis.
 * @param axis TensorFlow axis, negative counts from the end.
 * @param perSampleRank Per-sample rank of the tensor.
 * @returns The NCHW axis, or -1 for the batch axis or out of range.
 */
export function nhwcAxis(axis: number, perSampleRank: number): number {
  const rank = perSampleRank + 1;
  const a = axis < 0 ? axis + rank : axis;
  if (a <= 0 || a >= rank) return -1;
  return rank === 4 ? [0, 2, 3, 1][a] : a;
}

/** Extra fields of an emitted node. */
export interface NodeExtras {
  /** Source layer class or op, for display. */
  sourceOp?: string;
  /** Source names of the parameters. */
  paramNames?: Record<string, string>;
  /** Other names addressing the node. */
  aliases?: string[];
}

/** Builds the node list of a graph being imported. */
export class Emitter {
  readonly nodes: GraphNode[] = [];
  readonly #byName = new Map<string, GraphNode>();
  readonly #made: Tensor[] = [];

  /** Whether a node (or alias) with this name exists. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** The node with this name. */
  node(name: string): GraphNode {
    const n = this.#byName.get(name);
    if (!n) throw new RangeError(`internal: no node '${name}'`);
    return n;
  }

  /** Per-sample NCHW shape of a node. */
  shape(name: string): number[] {
    return this.node(name).shape;
  }

  /** `name`, or `name_1`, `name_2`, … if taken. */
  unique(name: string): string {
    if (!this.#byName.has(name)) return name;
    let i = 1;
    while (this.#byName.has(`${name}_${i}`)) i++;
    return `${name}_${i}`;
  }

  /** A parameter tensor owned by the import until the graph is built. */
  param(data: Float32Array, shape: number[]): Tensor {
    const t = tf.tensor(data, shape, "float32");
    this.#made.push(t);
    return t;
  }

  /** Add the input node. */
  input(name: string, shape: number[]): string {
    const node: GraphNode = { name, op: "input", inputs: [], attrs: {}, params: {}, shape: [...shape] };
    this.nodes.push(node);
    this.#byName.set(name, node);
    return name;
  }

  /**
   * Add a node (name made unique) and infer its shape.
   * @param name Wanted node name.
   * @param op Core op.
   * @param inputs Input node names.
   * @param attrs Attributes.
   * @param params Parameters (from {@linkcode Emitter.param}).
   * @param where Error context, e.g. `layer 'conv1' (class Conv2D)`.
   * @param extras Source op, parameter names, aliases.
   * @returns The node's name.
   */
  add(
    name: string,
    op: OpName,
    inputs: string[],
    attrs: Attrs,
    params: Record<string, Tensor>,
    where: string,
    extras: NodeExtras = {},
  ): string {
    const node: GraphNode = {
      name: this.unique(name),
      op,
      inputs,
      attrs,
      params,
      shape: [],
      ...extras,
    };
    try {
      node.shape = getRule<ShapeRule>("shape", op, node.name)(node, inputs.map((i) => this.shape(i)));
    } catch (e) {
      throw new TfjsImportError(
        `Cannot import TensorFlow.js model: ${where}: ${(e as Error).message.split("\n")[0]}`,
      );
    }
    this.nodes.push(node);
    this.#byName.set(node.name, node);
    for (const a of extras.aliases ?? []) if (!this.#byName.has(a)) this.#byName.set(a, node);
    return node.name;
  }

  /**
   * Add a constant node holding one number, broadcastable against per-sample shapes of `rank` axes.
   * @param name Node name.
   * @param value The number.
   * @param rank Per-sample rank of the tensors it meets.
   * @returns The node's name.
   */
  scalar(name: string, value: number, rank: number): string {
    const shape = Array(rank).fill(1);
    const node: GraphNode = {
      name: this.unique(name),
      op: "const",
      inputs: [],
      attrs: {},
      params: { value: this.param(Float32Array.of(value), [1, ...shape]) },
      shape,
    };
    this.nodes.push(node);
    this.#byName.set(node.name, node);
    return node.name;
  }

  /**
   * Add a constant node from a TensorFlow tensor (NHWC layout), broadcast-aligned like TensorFlow to
   * tensors of `rank` per-sample axes: a [C] bias meets a [C, H, W] map along its channels.
   * @param name Node name.
   * @param data Values, row-major in TensorFlow's layout.
   * @param tfShape TensorFlow shape (no batch axis needed).
   * @param rank Per-sample rank of the tensors it meets.
   * @param where Error context.
   * @returns The node's name.
   */
  tfConst(name: string, data: Float32Array, tfShape: number[], rank: number, where: string): string {
    const full = [...tfShape];
    while (full.length < rank + 1) full.unshift(1);
    if (full.length > rank + 1 || full[0] !== 1) {
      throw new TfjsImportError(
        `Cannot import TensorFlow.js model: ${where}: constant of shape [${tfShape}] cannot broadcast against a rank-${
          rank + 1
        } tensor`,
      );
    }
    const shape = full.length === 4 ? [full[3], full[1], full[2]] : full.slice(1);
    const node: GraphNode = {
      name: this.unique(name),
      op: "const",
      inputs: [],
      attrs: {},
      params: { value: this.param(data, full) },
      shape,
    };
    this.nodes.push(node);
    this.#byName.set(node.name, node);
    return node.name;
  }

  /**
   * A reshape with TensorFlow semantics (row-major over NHWC data) through the core's NCHW reshape. A
   * [C, H, W] map is first brought to H, W, C order as [C, H·W] → transpose → [H·W, C], and a rank-3
   * target (h, w, c) back to the core's [c, h, w] the same way; the intermediates are rank 2, so they
   * never pass for feature maps (`Graph.spatialNodes`). Transposes are skipped where the orders coincide.
   * @param x Input node.
   * @param target Per-sample target shape in TensorFlow order (one -1 allowed).
   * @param name Name of the node holding the result.
   * @param where Error context.
   * @param sourceOp Source layer class or op.
   * @returns The node holding the result.
   */
  reshapeNhwc(x: string, target: number[], name: string, where: string, sourceOp: string): string {
    const add = (n: string, op: OpName, ins: string[], attrs: Attrs) =>
      this.add(n, op, ins, attrs, {}, where, { sourceOp });
    const s = this.shape(x);
    const total = s.reduce((a, b) => a * b, 1);
    const t = [...target];
    const free = t.indexOf(-1);
    if (free >= 0) t[free] = total / t.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    if (t.reduce((a, b) => a * b, 1) !== total || !t.every((d) => Number.isInteger(d) && d > 0)) {
      throw new TfjsImportError(
        `Cannot import TensorFlow.js model: ${where}: cannot reshape per-sample shape [${s}] to [${target}]`,
      );
    }
    // 1. The input as a tensor whose NCHW-order data is TensorFlow's (NHWC) data order.
    const src = s.length === 3 && !orderFree(s) ? this.toHwc(x, `${name}/to_hwc`, where, sourceOp) : x;
    // 2. Reshape to the target; 3. a rank-3 target (h, w, c) back to the core's [c, h, w].
    if (t.length !== 3) return add(name, "reshape", [src], { shape: t });
    const chw = [t[2], t[0], t[1]];
    if (orderFree(chw)) return add(name, "reshape", [src], { shape: chw });
    const r = add(`${name}/reshape`, "reshape", [src], { shape: [t[0] * t[1], t[2]] });
    const tr = add(`${name}/to_chw`, "transpose", [r], { perm: [0, 2, 1] });
    return add(name, "reshape", [tr], { shape: chw });
  }

  /**
   * A [C, H, W] map (or its C, H, W-ordered flattening) as [H·W, C]: H, W, C order, rank 2.
   * @param x Input node ([C, H, W], or [C·H·W] with `chw` given).
   * @param name Name of the transposed node.
   * @param where Error context.
   * @param sourceOp Source layer class or op.
   * @param chw The map shape, when `x` is a flattened vector.
   * @returns The node holding the [H·W, C] tensor.
   */
  toHwc(x: string, name: string, where: string, sourceOp: string, chw?: number[]): string {
    const [c, h, w] = chw ?? this.shape(x);
    const r = this.add(`${name}/reshape`, "reshape", [x], { shape: [c, h * w] }, {}, where, { sourceOp });
    return this.add(name, "transpose", [r], { perm: [0, 2, 1] }, {}, where, { sourceOp });
  }

  /**
   * Let another name address a node.
   * @param name Node name.
   * @param alias The other name (ignored if taken).
   */
  alias(name: string, alias: string): void {
    const n = this.node(name);
    if (this.#byName.has(alias)) return;
    (n.aliases ??= []).push(alias);
    this.#byName.set(alias, n);
  }

  /** Release every parameter made so far (on a failed import). */
  dispose(): void {
    for (const t of this.#made) t.dispose();
  }

  /**
   * The finished graph.
   * @param input Input node name.
   * @param output Output node name.
   * @returns The graph.
   */
  build(input: string, output: string): Graph {
    return new Graph(this.nodes, { input, output });
  }
}
