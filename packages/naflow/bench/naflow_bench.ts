/**
 * NAFlow's full flow on ResNet-18 and ResNet-50 per backend, as a ratio to one Grad-CAM on the same
 * backend (one `gradients()` call to the last spatial layer plus the weighted sum), with peak memory.
 *
 *   npx deno bench -A --no-check packages/naflow/bench                          # 112×112, wasm
 *   CNNLENS_BENCH_FULL=1 npx deno bench -A --no-check packages/naflow/bench     # 224×224
 *   CNNLENS_BENCH_BACKENDS=cpu,wasm …   CNNLENS_BENCH_MODELS=resnet18 …         # choose
 *
 * Deno prints each bench's time and its ratio to the Grad-CAM baseline of its group. At the end a table
 * adds what limits the flow: LSQR iterations and solves, relative residuals, and peak memory — the exact
 * kernel-level high-water mark of `tf.memory().numBytes` (`tf.profile`) over one run, above what was
 * allocated before it, for NAFlow, for Grad-CAM and for one full forward+backward pass (the gradient
 * with respect to the input), plus the high-water mark sampled at every layer the flow reads out.
 * WebGPU runs by default only on a hardware adapter (the software fallback is far too slow here).
 * @module
 */
import {
  type BackendName,
  benchBackends,
  classLogit,
  gradients,
  type Graph,
  resnet18,
  resnet50,
  type Tensor,
  tf,
  useBackend,
} from "@cnnlens/core";
import { naflow, type NAFlowResult } from "../mod.ts";

const full = Deno.env.get("CNNLENS_BENCH_FULL") === "1";
const size = full ? 224 : 112;
const n = full ? 1 : 2;

const backends = await benchBackends(["wasm"]);
const models = (Deno.env.get("CNNLENS_BENCH_MODELS")?.split(",") ?? ["resnet18", "resnet50"]) as (
  | "resnet18"
  | "resnet50"
)[];
const build = { resnet18, resnet50 };
const decision = classLogit(7);

let active: { key: string; graph: Graph; x: Tensor } | null = null;
async function setup(backend: BackendName, model: "resnet18" | "resnet50") {
  const key = `${backend}|${model}`;
  if (active?.key === key) return active;
  if (active) {
    active.graph.dispose();
    active.x.dispose();
  }
  await useBackend(backend);
  active = {
    key,
    graph: build[model]({ size: [size, size], randomBn: true, seed: 1 }),
    x: tf.randomNormal([1, size, size, 3], 0, 1, "float32", 2),
  };
  return active;
}

async function gradCam(g: Graph, x: Tensor): Promise<void> {
  const layer = g.lastSpatialNode().name;
  const r = gradients(g, x, decision, [layer]);
  const m = tf.tidy(() =>
    tf.relu(tf.sum(tf.mul(tf.mean(r.grads.get(layer)!, [1, 2], true), r.trace.get(layer)), -1))
  );
  await m.data();
  m.dispose();
  r.dispose();
}

async function forwardBackward(g: Graph, x: Tensor): Promise<void> {
  const r = gradients(g, x, decision, [g.input]);
  await r.grads.get(g.input)!.data();
  r.dispose();
}

/** Kernel-level peak of tf.memory().numBytes during `f`, above the bytes held before it. */
async function peakBytes(f: () => Promise<unknown>): Promise<number> {
  const start = tf.memory().numBytes;
  const info = await tf.profile(async () => {
    await f();
  });
  return info.peakBytes - start;
}

const times = new Map<string, number[]>();
const flows = new Map<string, NAFlowResult>();
const memory = new Map<string, { flow: number; sampled: number; gradcam: number; fwdbwd: number }>();

for (const backend of backends) {
  for (const model of models) {
    const group = `${backend} ${model} ${size}`;
    for (const name of ["Grad-CAM", "NAFlow"] as const) {
      Deno.bench({
        name: `${name} [${backend}, ${model} ${size}×${size}]`,
        group,
        baseline: name === "Grad-CAM",
        n,
        warmup: 1,
        async fn(b) {
          const { graph, x } = await setup(backend, model);
          const key = `${backend}|${model}`;
          b.start();
          const t0 = performance.now();
          if (name === "Grad-CAM") await gradCam(graph, x);
          else flows.set(key, await naflow(graph, x, decision));
          times.set(`${key}|${name}`, [...(times.get(`${key}|${name}`) ?? []), performance.now() - t0]);
          b.end();
          if (name === "NAFlow" && !memory.has(key)) {
            // Memory, once per model and backend, outside the timed region.
            const start = tf.memory().numBytes;
            let sampled = 0;
            const flowPeak = await peakBytes(() =>
              naflow(graph, x, decision, {
                onLayer: () => sampled = Math.max(sampled, tf.memory().numBytes - start),
              })
            );
            memory.set(key, {
              flow: flowPeak,
              sampled,
              gradcam: await peakBytes(() => gradCam(graph, x)),
              fwdbwd: await peakBytes(() => forwardBackward(graph, x)),
            });
          }
        },
      });
    }
  }
}

globalThis.addEventListener("unload", () => {
  const mean = (k: string) => {
    const v = times.get(k) ?? [];
    const w = v.length > 1 ? v.slice(1) : v; // drop the warm-up
    return w.reduce((a, b) => a + b, 0) / (w.length || 1);
  };
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`\nNAFlow on ${size}×${size} (random weights, random BN statistics), class 7 logit:`);
  for (const backend of backends) {
    for (const model of models) {
      const key = `${backend}|${model}`;
      const f = flows.get(key);
      const m = memory.get(key);
      if (!f || !m) continue;
      const gc = mean(`${key}|Grad-CAM`);
      const nf = mean(`${key}|NAFlow`);
      const solved = f.layers.filter((l) => l.residual !== null);
      const res = solved.map((l) => l.residual!);
      console.log(
        `  ${backend} ${model}: Grad-CAM ${gc.toFixed(0)} ms, NAFlow ${nf.toFixed(0)} ms = ${
          (nf / gc).toFixed(1)
        }× ` +
          `| ${f.layers.length} maps, ${f.solves} least-squares solves, ${f.iterations} LSQR iterations ` +
          `(${
            solved.filter((l) => l.converged).length
          }/${solved.length} converged), relative residual mean ` +
          `${(res.reduce((a, b) => a + b, 0) / (res.length || 1)).toFixed(3)}, max ${
            Math.max(...res).toFixed(3)
          } ` +
          `| peak memory: NAFlow ${mb(m.flow)} (sampled per layer ${mb(m.sampled)}), Grad-CAM ${
            mb(m.gradcam)
          }, ` +
          `forward+backward ${mb(m.fwdbwd)} → ${(m.flow / m.fwdbwd).toFixed(2)}× forward+backward`,
      );
    }
  }
});
