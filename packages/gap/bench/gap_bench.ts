/**
 * gAP benchmark (issue #8): one decomposition and a full top-3 tree on VGG-16 and ResNet-50 per backend,
 * and the ratio ablation-ground-truth time / gAP time for one layer. Prints a Markdown table.
 *
 *   npx deno bench -A --no-check packages/gap/bench
 *
 * Environment: `CNNLENS_BENCH_FULL=1` for 224×224 inputs (default 112×112), `CNNLENS_BENCH_BACKENDS`
 * (default `wasm,cpu`, plus `webgpu` on a hardware adapter; a software adapter — llvmpipe: minutes per
 * tree — runs only when named), `CNNLENS_BENCH_MODELS` (default `vgg16,resnet50`).
 *
 * The figures are timed here with `performance.now()` rather than as `Deno.bench` functions: Deno runs a
 * bench function n + warmup + 1 ≥ 3 times, and one top-3 tree on the pure-JS backend takes ~100 s. Each
 * figure is taken after a warm-up decomposition (kernels compiled, weights uploaded), as the median of
 * `CNNLENS_BENCH_REPEAT` runs (default 3 on wasm/webgpu, 1 on cpu; trees and ablations: 1).
 * Weights are random (seeded): the cost of gAP does not depend on them.
 * @module
 */
import { benchBackends, classLogit, runForward, tf, useBackend } from "@cnnlens/core";
import { decompose, defaultLayers, hierarchy, timeGapVsAblation, treeNodes } from "../mod.ts";
import { benchModel } from "./_models.ts";

const FULL = Deno.env.get("CNNLENS_BENCH_FULL") === "1";
const SIZE = FULL ? 224 : 112;
const BACKENDS = await benchBackends(["wasm", "cpu"]);
const MODELS = (Deno.env.get("CNNLENS_BENCH_MODELS") ?? "vgg16,resnet50").split(
  ",",
) as ("vgg16" | "resnet50")[];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timed(repeat: number, fn: () => Promise<unknown>): Promise<number> {
  const ts: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const ms = (v: number) => v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(0)} ms`;
const rows: string[] = [];
for (const backend of BACKENDS) {
  try {
    await useBackend(backend);
  } catch (e) {
    console.log(`gap bench: skipping ${backend}: ${(e as Error).message}`);
    continue;
  }
  const repeat = Number(Deno.env.get("CNNLENS_BENCH_REPEAT") ?? (backend === "cpu" ? 1 : 3));
  for (const model of MODELS) {
    const g = benchModel(model, SIZE);
    const x = tf.randomNormal([1, SIZE, SIZE, 3], 0, 1, "float32", 1);
    const layers = defaultLayers(g);
    const tr = runForward(g, x);
    const out = await tr.get(g.output).data();
    tr.dispose();
    let cls = 0;
    for (let i = 1; i < out.length; i++) if (out[i] > out[cls]) cls = i;
    const decision = classLogit(cls);
    await decompose(g, x, decision, layers[0]); // warm-up
    const forward = await timed(repeat, async () => {
      const t = runForward(g, x);
      await t.get(g.output).data();
      t.dispose();
    });
    const one = await timed(repeat, () => decompose(g, x, decision, layers[0]));
    let nodes = 0;
    const tree = await timed(1, async () => {
      nodes = treeNodes(await hierarchy(g, x, decision, { top: 3 })).length;
    });
    const t = await timeGapVsAblation(g, x, decision, layers[0], {
      repeat,
      warmup: false,
      naiveSample: backend === "cpu" ? 2 : 4,
    });
    const K = g.node(layers[0]).shape[0];
    const row =
      `| ${model} | ${backend} | ${SIZE} | ${ms(forward)} | ${ms(one)} | ${ms(t.gapMs)} | ${
        ms(tree)
      } (${nodes} nodes) | ` +
      `${layers[0]} (${K}) | ${ms(t.ablationMs)} | ${t.ratio.toFixed(0)}× | ${ms(t.naiveAblationMs)} | ${
        t.naiveRatio.toFixed(0)
      }× |`;
    console.log(row);
    rows.push(row);
    x.dispose();
    g.dispose();
  }
}
console.log(
  `\n| model | backend | size | forward | decompose T→S5 (incl. forward) | gAP T→S5 (forward reused) | top-3 tree, ` +
    `5 stage layers (incl. forward) | layer (channels) | ablation GT (batched sub-graph) | ratio | ablation GT, one ` +
    `full forward per channel (extrapolated) | ratio vs forward + gAP |`,
);
console.log(`|---|---|---|---|---|---|---|---|---|---|---|---|`);
for (const r of rows) console.log(r);
