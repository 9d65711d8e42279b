import type { Tensor } from "../tf.ts";
import type { GraphNode, OpName } from "./node.ts";
import { getRule } from "../rules/registry.ts";
import type { ShapeRule } from "../rules/forward.ts";
import "../rules/forward.ts";
import { kernelCache } from "../rules/kernel_cache.ts";

/** Raised when a node name (layer) cannot be found; carries the nearest names. */
export class UnknownNodeError extends Error {
  override name = "UnknownNodeError";
  /**
   * @param requested The name asked for.
   * @param nearest The closest existing names.
   */
  constructor(readonly requested: string, readonly nearest: string[]) {
    super(`Cannot find layer '${requested}': did you mean ${nearest.map((n) => `'${n}'`).join(", ")}?`);
  }
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}

/** Options for building a {@linkcode Graph}. */
export interface GraphOptions {
  /** The input node's name. @default the first node with op `input` */
  input?: string;
  /** The output node's name. @default the last node */
  output?: string;
}

/**
 * A feed-forward computation graph of {@linkcode GraphNode}s in topological order, with per-sample NCHW
 * shapes inferred at construction. One input, one output (the decision usually reads the output, but any
 * node can be read).
 */
export class Graph {
  /** Nodes in topological order. */
  readonly nodes: GraphNode[];
  /** Name of the input node. */
  readonly input: string;
  /** Name of the output node. */
  readonly output: string;
  readonly #byName = new Map<string, GraphNode>();
  readonly #index = new Map<string, number>();
  readonly #consumers = new Map<string, string[]>();

  /**
   * @param nodes Nodes; reordered topologically if needed. Shapes are (re)inferred.
   * @param options Input and output node names.
   */
  constructor(nodes: GraphNode[], options: GraphOptions = {}) {
    for (const n of nodes) {
      if (this.#byName.has(n.name)) throw new RangeError(`Duplicate node name '${n.name}' in graph`);
      this.#byName.set(n.name, n);
    }
    this.nodes = topoSort(nodes, this.#byName);
    this.nodes.forEach((n, i) => this.#index.set(n.name, i));
    for (const n of this.nodes) {
      for (const i of n.inputs) {
        if (!this.#byName.has(i)) {
          throw new RangeError(`Node '${n.name}' reads '${i}', which is not a node of the graph`);
        }
        const c = this.#consumers.get(i) ?? [];
        if (!c.includes(n.name)) c.push(n.name);
        this.#consumers.set(i, c);
      }
    }
    for (const n of this.nodes) {
      for (const a of n.aliases ?? []) if (!this.#byName.has(a)) this.#byName.set(a, n);
    }
    const input = options.input ?? this.nodes.find((n) => n.op === "input")?.name;
    if (!input) throw new RangeError("Graph has no input node");
    this.input = input;
    this.output = options.output ?? this.nodes[this.nodes.length - 1].name;
    this.node(this.output);
    this.inferShapes();
  }

  /** (Re)infer every node's per-sample shape from the input shape, through the `shape` rules. */
  inferShapes(): void {
    for (const n of this.nodes) {
      if (n.op === "input" || n.op === "const") continue;
      const rule = getRule<ShapeRule>("shape", n.op, n.name);
      n.shape = rule(n, n.inputs.map((i) => this.node(i).shape));
    }
  }

  /**
   * The node with this name or alias; throws {@linkcode UnknownNodeError} with the nearest names.
   * @param name Node name or alias (e.g. an ONNX output tensor name).
   * @returns The node.
   */
  node(name: string): GraphNode {
    const n = this.#byName.get(name);
    if (n) return n;
    throw new UnknownNodeError(name, this.nearest(name));
  }

  /**
   * Whether a node with this name or alias exists.
   * @param name Node name or alias.
   * @returns True if it exists.
   */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /**
   * The existing names closest to `name` (edit distance, substring matches first).
   * @param name A misspelt name.
   * @param count How many to return.
   * @returns Up to `count` names.
   */
  nearest(name: string, count = 3): string[] {
    const names = [...this.#byName.keys()];
    const lower = name.toLowerCase();
    return names
      .map((n) => ({
        n,
        d: editDistance(lower, n.toLowerCase()) - (n.toLowerCase().includes(lower) ? 1000 : 0),
      }))
      .sort((a, b) => a.d - b.d)
      .slice(0, count)
      .map((x) => x.n);
  }

  /**
   * Position of a node in topological order.
   * @param name Node name or alias.
   * @returns Index into {@linkcode Graph.nodes}.
   */
  indexOf(name: string): number {
    return this.#index.get(this.node(name).name)!;
  }

  /**
   * Names of the nodes that read this node.
   * @param name Node name.
   * @returns Consumer names.
   */
  consumers(name: string): string[] {
    return this.#consumers.get(this.node(name).name) ?? [];
  }

  /**
   * Every node that depends on any of `names` (not including them), in topological order.
   * @param names Node names.
   * @returns Descendant names.
   */
  descendants(names: string[]): string[] {
    const set = new Set(names.map((n) => this.node(n).name));
    const out: string[] = [];
    for (const n of this.nodes) {
      if (set.has(n.name)) continue;
      if (n.inputs.some((i) => set.has(i) || out.includes(i))) out.push(n.name);
    }
    return out;
  }

  /**
   * Every node that `names` depend on (not including them), in topological order.
   * @param names Node names.
   * @returns Ancestor names.
   */
  ancestors(names: string[]): string[] {
    const seen = new Set<string>();
    const stack = names.map((n) => this.node(n).name);
    while (stack.length) {
      for (const i of this.node(stack.pop()!).inputs) {
        if (!seen.has(i)) {
          seen.add(i);
          stack.push(i);
        }
      }
    }
    return this.nodes.filter((n) => seen.has(n.name)).map((n) => n.name);
  }

  /** Nodes whose output is a feature map ([C, H, W]), in order. */
  spatialNodes(): GraphNode[] {
    return this.nodes.filter((n) => n.shape.length === 3 && n.op !== "const");
  }

  /**
   * The last spatial feature map with H×W > 1 that the output depends on: the map that feeds global
   * pooling, the default layer for CAM-style methods.
   * @returns The node.
   */
  lastSpatialNode(): GraphNode {
    const anc = new Set([...this.ancestors([this.output]), this.output]);
    const cands = this.spatialNodes().filter((n) =>
      anc.has(n.name) && n.shape[1] * n.shape[2] > 1 && n.op !== "input"
    );
    if (!cands.length) throw new RangeError("Graph has no spatial feature map before its output");
    return cands[cands.length - 1];
  }

  /**
   * Total number of parameters (batchnorm running statistics excluded, as torchvision counts).
   * @returns Parameter count.
   */
  parameterCount(): number {
    let total = 0;
    for (const n of this.nodes) {
      for (const [k, t] of Object.entries(n.params)) {
        if (n.op === "const" || k === "mean" || k === "variance") continue;
        total += t.size;
      }
    }
    return total;
  }

  /** Nodes with a given op. */
  byOp(op: OpName): GraphNode[] {
    return this.nodes.filter((n) => n.op === op);
  }

  /** Release every parameter tensor, and the kernels derived from them in the shared `kernelCache`. */
  dispose(): void {
    for (const n of this.nodes) for (const t of Object.values(n.params)) t.dispose();
    kernelCache.sweep();
  }
}

function topoSort(nodes: GraphNode[], byName: Map<string, GraphNode>): GraphNode[] {
  const out: GraphNode[] = [];
  const state = new Map<string, number>();
  const visit = (n: GraphNode) => {
    const s = state.get(n.name);
    if (s === 2) return;
    if (s === 1) throw new RangeError(`Graph has a cycle through node '${n.name}'`);
    state.set(n.name, 1);
    for (const i of n.inputs) {
      const m = byName.get(i);
      if (m) visit(m);
    }
    state.set(n.name, 2);
    out.push(n);
  };
  for (const n of nodes) visit(n);
  return out;
}

/** Param tensor helper type used by builders. */
export type Params = Record<string, Tensor>;
