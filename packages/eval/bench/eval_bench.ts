/**
 * Costs of the metrics themselves (the model is a trivial callback, so these are the overheads the
 * library adds on top of the forward passes): ROAD's imputation solve, a deletion curve's perturbed
 * inputs, the localisation metrics. 112×112 by default; `CNNLENS_BENCH_FULL=1` for 224×224.
 *
 *   npx deno bench -A --no-check packages/eval/bench
 */
import {
  deletionCurve,
  energyProportion,
  localizationIoU,
  noisyLinearImpute,
  rankPixels,
  roadCurve,
  type ScoreFn,
  seededRandom,
} from "../mod.ts";

const size = Deno.env.get("CNNLENS_BENCH_FULL") === "1" ? 224 : 112;
const rng = seededRandom(1);
const hw = size * size;
// A smooth image and a smooth map (a blob), as real saliency is.
const image = new Float32Array(3 * hw);
const map = new Float32Array(hw);
for (let y = 0; y < size; y++) {
  for (let x = 0; x < size; x++) {
    const p = y * size + x;
    for (let c = 0; c < 3; c++) {
      image[c * hw + p] = Math.sin((x + 7 * c) / 9) * Math.cos(y / 13) + 0.05 * rng.normal();
    }
    map[p] = Math.exp(-((x - size * 0.4) ** 2 + (y - size * 0.6) ** 2) / (2 * (size / 6) ** 2));
  }
}
const input = { data: image, shape: [3, size, size] };
const saliency = { data: map, shape: [size, size] };
const ranked = rankPixels(saliency, "most-first");
const mask = (fraction: number) => {
  const m = new Uint8Array(hw);
  for (let k = 0; k < Math.round(fraction * hw); k++) m[ranked[k]] = 1;
  return m;
};
const mask50 = mask(0.5), mask90 = mask(0.9);
const mean: ScoreFn = (xs) => xs.map((v) => v[0]);
const boxes = [{ x0: size * 0.2, y0: size * 0.3, x1: size * 0.7, y1: size * 0.9 }];

Deno.bench(`noisyLinearImpute ${size}×${size}×3, 50 % removed (MoRF)`, { group: "road" }, () => {
  noisyLinearImpute(input, mask50);
});
Deno.bench(`noisyLinearImpute ${size}×${size}×3, 90 % removed (MoRF)`, { group: "road" }, () => {
  noisyLinearImpute(input, mask90);
});
Deno.bench(`roadCurve ${size}×${size}, 9 percentiles, trivial model`, { group: "road", n: 3 }, async () => {
  await roadCurve(input, saliency, mean);
});
Deno.bench(`deletionCurve ${size}×${size}, step = width (${size + 1} inputs), trivial model`, async () => {
  await deletionCurve(input, saliency, mean);
});
Deno.bench(`energyProportion + localizationIoU ${size}×${size}`, () => {
  energyProportion(saliency, boxes);
  localizationIoU(saliency, boxes);
});
