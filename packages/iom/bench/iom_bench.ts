/**
 * IOM on ResNet-18 per backend, as a ratio to one gradient-to-input pass (the core's `gradients()` with
 * respect to the input: one forward and one backward pass through tfjs autodiff).
 *
 *   npx deno bench -A --no-check packages/iom/bench                          # 112×112, cpu + wasm
 *   CNNLENS_BENCH_FULL=1 npx deno bench -A --no-check packages/iom/bench     # 224×224
 *   CNNLENS_BENCH_BACKENDS=webgpu,wasm …                                     # choose backends
 *
 * Per backend: `gradient` (the baseline), `relativeExcitation` (r-Exc⁺ and r-Exc⁻ read back; the
 * default two-transpose sign split), the same with the literal four-way split, and `iom()` end to end
 * (plus CHW read-back, 3×3 smoothing, normalisation). Deno prints each bench's ratio to the baseline; a
 * table of mean times and ratios is printed at the end as well. WebGPU runs by default only on a
 * hardware adapter (the software fallback adapter is far too slow for ResNet-18).
 * @module
 */
import {
  type BackendName,
  benchBackends,
  classLogit,
  gradients,
  type Graph,
  resnet18,
  type Tensor,
  tf,
  useBackend,
} from "@cnnlens/core";
import { iom, registerExcitationRules, relativeExcitation } from "../mod.ts";

const full = Deno.env.get("CNNLENS_BENCH_FULL") === "1";
const size = full ? 224 : 112;
const n = full ? 3 : 5;

const backends = await benchBackends(["cpu", "wasm"]);

registerExcitationRules("four-way", ["excitation4", "excitation4-"]);

let active: { backend: BackendName; graph: Graph; x: Tensor } | null = null;
async function setup(backend: BackendName) {
  if (active?.backend === backend) return active;
  if (active) {
    active.graph.dispose();
    active.x.dispose();
  }
  await useBackend(backend);
  active = {
    backend,
    graph: resnet18({ size: [size, size], randomBn: true, seed: 1 }),
    x: tf.randomNormal([1, size, size, 3], 0, 1, "float32", 2),
  };
  return active;
}

const times = new Map<string, number[]>();
function record(key: string, ms: number) {
  times.set(key, [...(times.get(key) ?? []), ms]);
}

const decision = classLogit(7);
const cases: [string, (g: Graph, x: Tensor) => Promise<void>][] = [
  ["gradient", async (g, x) => {
    const r = gradients(g, x, decision, [g.input]);
    await r.grads.get(g.input)!.data();
    r.dispose();
  }],
  ["relativeExcitation", async (g, x) => {
    const r = relativeExcitation(g, x, decision);
    await r.pos.data();
    await r.neg.data();
    r.dispose();
  }],
  ["relativeExcitation four-way", async (g, x) => {
    const r = relativeExcitation(g, x, decision, { kinds: ["excitation4", "excitation4-"] });
    await r.pos.data();
    await r.neg.data();
    r.dispose();
  }],
  ["iom()", async (g, x) => {
    await iom(g, x, decision);
  }],
];

for (const backend of backends) {
  for (const [name, run] of cases) {
    Deno.bench({
      name: `${name} [${backend}, ResNet-18 ${size}×${size}]`,
      group: `${backend} ${size}`,
      baseline: name === "gradient",
      n,
      warmup: 1,
      async fn(b) {
        const { graph, x } = await setup(backend);
        b.start();
        const t0 = performance.now();
        await run(graph, x);
        record(`${backend}|${name}`, performance.now() - t0);
        b.end();
      },
    });
  }
}

globalThis.addEventListener("unload", () => {
  const runs = (k: string) => times.get(k) ?? [];
  // The first run is Deno's warm-up: for IOM it also derives and caches the flipped kernels.
  const mean = (k: string) => {
    const v = runs(k).length > 1 ? runs(k).slice(1) : runs(k);
    return v.reduce((a, b) => a + b, 0) / (v.length || 1);
  };
  console.log(
    `\nIOM on ResNet-18 ${size}×${size}: mean ms (ratio to one gradient-to-input pass); first call`,
  );
  for (const backend of backends) {
    const base = mean(`${backend}|gradient`);
    const line = cases.map(([name]) => {
      const k = `${backend}|${name}`;
      return `${name} ${mean(k).toFixed(0)} ms (${(mean(k) / base).toFixed(2)}×; first ${
        runs(k)[0]?.toFixed(0)
      } ms)`;
    });
    console.log(`  ${backend}: ${line.join(", ")}`);
  }
});
