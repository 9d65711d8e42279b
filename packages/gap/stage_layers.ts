/**
 * The default layers of the gAP hierarchy: the last layer of each stage (section 3.2: "a stage is
 * composed of a set of convolution layers with the same output resolution"), computed from the graph.
 * @module
 */
import type { Graph } from "@cnnlens/core";

/**
 * Nodes every input-to-output path passes through (the graph's cut vertices between input and output),
 * in topological order: block outputs of a ResNet, every layer of a chain like VGG.
 *
 * @param graph The graph.
 * @returns Node names.
 * @example
 * ```ts
 * import { tinyNet } from "@cnnlens/core";
 * import { cutNodes } from "@cnnlens/gap";
 * const g = tinyNet(); // a chain: every node is a cut
 * if (cutNodes(g).length !== g.nodes.length) throw new Error();
 * g.dispose();
 * ```
 */
export function cutNodes(graph: Graph): string[] {
  const relevant = new Set([...graph.ancestors([graph.output]), graph.output]);
  const fromInput = new Set([graph.input, ...graph.descendants([graph.input])]);
  const onPath = graph.nodes.filter((n) => relevant.has(n.name) && fromInput.has(n.name)).map((n) => n.name);
  const reaches = (without: string): boolean => {
    const seen = new Set([graph.input]);
    const stack = [graph.input];
    while (stack.length) {
      for (const c of graph.consumers(stack.pop()!)) {
        if (c === without || seen.has(c)) continue;
        if (c === graph.output) return true;
        seen.add(c);
        stack.push(c);
      }
    }
    return false;
  };
  return onPath.filter((n) => n === graph.input || n === graph.output || !reaches(n));
}

/**
 * The last layer of each stage, shallow to deep. A stage is a maximal run of cut nodes (see
 * {@linkcode cutNodes}) with one spatial resolution H×W > 1 in which a convolution outputs at that
 * resolution; its layer is the run's last cut node — the last node before the next spatial
 * down-sampling that every path goes through. The last stage's layer is the last spatial layer.
 *
 * - VGG-16: `features.3, 8, 15, 22, 29` (the ReLUs after conv1_2, conv2_2, conv3_3, conv4_3, conv5_3 —
 *   the paper's S1…S5; pool5 is not a stage: no convolution outputs at 7×7).
 * - ResNet: the stem ReLU `relu` (before the stride-2 max-pool), then the output ReLU of each stage's last
 *   block, e.g. `layer1.2.relu_2 … layer4.2.relu_2` for ResNet-50 (block outputs before each stride-2
 *   stage; the inner ReLU before a stride-2 convolution is not a cut: the shortcut bypasses it).
 *
 * @param graph The graph.
 * @returns Node names, shallow to deep.
 * @example
 * ```ts
 * import { tinyNet } from "@cnnlens/core";
 * import { stageLayers } from "@cnnlens/gap";
 * const g = tinyNet(); // conv1-relu1-pool1 (8×8 → 4×4) - conv2-bn2-relu2 - GAP - fc
 * if (stageLayers(g).join() !== "relu1,relu2") throw new Error();
 * g.dispose();
 * ```
 */
export function stageLayers(graph: Graph): string[] {
  const cuts = cutNodes(graph).filter((n) => graph.node(n).shape.length === 3);
  const res = (n: string) => {
    const s = graph.node(n).shape;
    return `${s[1]}x${s[2]}`;
  };
  const out: string[] = [];
  let start = -1; // index in graph.nodes after which the current run's span begins
  for (let i = 0; i < cuts.length; i++) {
    const n = cuts[i];
    const last = i === cuts.length - 1 || res(cuts[i + 1]) !== res(n);
    if (!last) continue;
    const [, h, w] = graph.node(n).shape;
    const end = graph.indexOf(n);
    const hasConv = graph.nodes.slice(start + 1, end + 1).some((m) =>
      m.op === "conv2d" && m.shape[1] === h && m.shape[2] === w
    );
    if (hasConv && h * w > 1) out.push(n);
    start = end;
  }
  return out;
}

/**
 * The default layer sequence of {@linkcode hierarchy}: {@linkcode stageLayers} deep to shallow (the root
 * decision decomposes into the first).
 * @param graph The graph.
 * @returns Node names, deep to shallow.
 * @example
 * ```ts
 * import { tinyNet } from "@cnnlens/core";
 * import { defaultLayers } from "@cnnlens/gap";
 * const g = tinyNet();
 * if (defaultLayers(g).join() !== "relu2,relu1") throw new Error();
 * g.dispose();
 * ```
 */
export function defaultLayers(graph: Graph): string[] {
  return stageLayers(graph).reverse();
}
