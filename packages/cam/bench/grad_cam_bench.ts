/**
 * Grad-CAM on ResNet-18 and ResNet-50 (core `resnet18()` / `resnet50()`, seeded random weights, 1000
 * classes), one image, the last spatial layer (`layer4.*.relu`), class-0 logit, per backend.
 *
 *   npx deno bench -A --no-check packages/cam/bench                       # 112 × 112, cpu + wasm
 *   CNNLENS_BENCH_FULL=1 npx deno bench -A --no-check packages/cam/bench  # 224 × 224
 *   CNNLENS_BENCH_BACKENDS=cpu,wasm,webgpu …                              # choose (webgpu: default on a hardware adapter)
 *
 * Besides Deno's table, each case prints one line `median <ms> ms` over its measured runs (warm-up
 * excluded), the figure compared with `torch_gradcam.py`.
 * @module
 */
import {
  type BackendName,
  benchBackends,
  classLogit,
  type Graph,
  resnet18,
  resnet50,
  type Tensor,
  tf,
  useBackend,
} from "@cnnlens/core";
import { gradCam } from "../mod.ts";

const full = Deno.env.get("CNNLENS_BENCH_FULL") === "1";
const size = full ? 224 : 112;
const backends: BackendName[] = await benchBackends(["cpu", "wasm"]);
const models: [string, typeof resnet18][] = [["resnet18", resnet18], ["resnet50", resnet50]];
const runs = full ? 3 : 5;

let state: { key: string; graph: Graph; input: Tensor; times: number[] } | undefined;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

for (const backend of backends) {
  for (const [name, make] of models) {
    const key = `${name} ${size}×${size} [${backend}]`;
    Deno.bench({
      name: `gradCam() ${key}`,
      group: name,
      n: runs,
      warmup: 1,
      async fn(b) {
        if (state?.key !== key) {
          state?.graph.dispose();
          state?.input.dispose();
          await useBackend(backend);
          const graph = make({ size: [size, size], seed: 0 });
          const input = tf.randomNormal([1, size, size, 3], 0, 1, "float32", 1);
          state = { key, graph, input, times: [] };
        }
        const s = state;
        b.start();
        const t0 = performance.now();
        const r = await gradCam(s.graph, s.input, classLogit(0));
        s.times.push(performance.now() - t0);
        b.end();
        if (r.map.length !== r.height * r.width) throw new Error("bad map");
        if (s.times.length === runs + 1) {
          const measured = s.times.slice(1);
          console.log(
            `${key}: median ${median(measured).toFixed(1)} ms over ${measured.length} runs (layer ${
              r.layers[0]
            })`,
          );
        }
      },
    });
  }
}
