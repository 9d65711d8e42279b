/**
 * The section 4.1 sanity figures on a randomly initialised (UNTRAINED) VGG-16 of width 0.25 at 224×224,
 * printed as Markdown for the README. The numbers say the sanity functions run end to end; they are not
 * the paper's Table 1 (which needs a trained model: the evaluation suite will run these functions on one).
 *
 *   npx deno run -A packages/gap/bench/sanity_untrained.ts [images=4] [backend=wasm]
 * @module
 */
import { type BackendName, classLogit, runForward, tf, useBackend, vgg16 } from "@cnnlens/core";
import {
  decompose,
  defaultLayers,
  discriminativeDegrees,
  type GapTree,
  hierarchy,
  maskingCurve,
  type Measure,
  MEASURES,
  sanityChain,
  sparseSurrogate,
  timeGapVsAblation,
} from "../mod.ts";

const images = Number(Deno.args[0] ?? 4);
const backend = (Deno.args[1] ?? "wasm") as BackendName;
await useBackend(backend);
const g = vgg16({ width: 0.25, seed: 1, classes: 1000 }); // not 0: tfjs treats seed 0 as "unseeded"
const layers = defaultLayers(g);
const names = ["T→S5", "S5→S4", "S4→S3", "S3→S2", "S2→S1"];
const pcc: Record<Measure, number[][]> = { AA: [], MA: [], AG: [], MG: [] };
const curves: { important: number[]; unimportant: number[] }[] = [];
const ks = [1, 2, 4, 8, 16, 32];
const trees: { tree: GapTree; label: number }[] = [];
let match = 0;
for (let i = 0; i < images; i++) {
  // Smooth random images (blurred noise), seeded.
  const x = tf.tidy(() =>
    tf.avgPool(tf.randomNormal([1, 232, 232, 3], 0, 3, "float32", 100 + i) as tf.Tensor4D, 9, 1, "valid")
  );
  const tr = runForward(g, x);
  const out = await tr.get(g.output).data();
  let cls = 0;
  for (let c = 1; c < out.length; c++) if (out[c] > out[cls]) cls = c;
  const rows = await sanityChain(g, x, classLogit(cls), { base: tr, layers });
  for (const m of MEASURES) pcc[m].push(rows.map((r) => r.pcc[m]));
  const d = await decompose(g, x, classLogit(cls), layers[0], { base: tr });
  const c = await maskingCurve(g, x, classLogit(cls), layers[0], d.alpha, ks, { base: tr });
  curves.push({
    important: Array.from(c.important, (v) => v / Math.abs(c.value)),
    unimportant: Array.from(c.unimportant, (v) => v / Math.abs(c.value)),
  });
  const tree = await hierarchy(g, x, classLogit(cls), { top: 3, base: tr });
  trees.push({ tree, label: cls });
  const s = await sparseSurrogate(g, x, tree, { base: tr });
  if (s.predicted === cls) match++;
  tr.dispose();
  x.dispose();
  console.error(`image ${i + 1}/${images} done`);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f3 = (v: number) => Number.isNaN(v) ? "n/a" : v.toFixed(3);
console.log(
  `Untrained VGG-16 (width 0.25, seed 1), 224×224, ${images} smoothed-noise images, backend ${backend}.\n`,
);
console.log(`| PCC (mean over images) | ${names.join(" | ")} |`);
console.log(`|---|${names.map(() => "---").join("|")}|`);
for (const m of MEASURES) {
  console.log(`| ${m} | ${names.map((_, t) => f3(mean(pcc[m].map((r) => r[t])))).join(" | ")} |`);
}
console.log(`\nMasking curve at T→S5 (Fig. 6), change of the logit / |logit|, mean over images:\n`);
console.log(`| k | ${ks.join(" | ")} |`);
console.log(`|---|${ks.map(() => "---").join("|")}|`);
console.log(
  `| top-k important removed | ${
    ks.map((_, i) => mean(curves.map((c) => c.important[i])).toFixed(3)).join(" | ")
  } |`,
);
console.log(
  `| top-k unimportant removed | ${
    ks.map((_, i) => mean(curves.map((c) => c.unimportant[i])).toFixed(3)).join(" | ")
  } |`,
);
console.log(`\nSparse surrogate (top-3 tree, other channels zeroed) match rate: ${match}/${images}`);
const dd = discriminativeDegrees(trees);
console.log(
  `\nDiscriminative degree D (Eq. 13) over ${images} trees (labels = predicted classes: ${
    trees.map((t) => t.label).join(", ")
  }), mean over channels:`,
);
for (const l of layers) {
  const rows = dd.get(l) ?? [];
  console.log(`- ${l}: ${rows.length} channels, mean D ${mean(rows.map((r) => r.degree)).toFixed(3)}`);
}
const x = tf.randomNormal([1, 224, 224, 3], 0, 1, "float32", 7);
const t = await timeGapVsAblation(g, x, classLogit(0), layers[0]);
console.log(
  `\nTiming T→${layers[0]}: forward ${t.forwardMs.toFixed(0)} ms, gAP ${
    t.gapMs.toFixed(1)
  } ms, batched ablation ` +
    `${t.ablationMs.toFixed(0)} ms (${t.ratio.toFixed(1)}×), full-forward ablation (extrapolated) ${
      t.naiveAblationMs.toFixed(0)
    } ms ` +
    `(${t.naiveRatio.toFixed(1)}×)`,
);
x.dispose();
g.dispose();
