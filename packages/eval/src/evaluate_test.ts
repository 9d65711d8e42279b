import assert from "node:assert/strict";
import { famFaithfulness } from "./confidence.ts";
import { evaluateMap, METRIC_IDS } from "./evaluate.ts";
import { iomFaithfulness } from "./iom_protocol.ts";
import { localizationIoU } from "./localization_iou.ts";
import { deletionCurve, insertionCurve } from "./perturbation_curve.ts";
import { energyProportion } from "./proportion.ts";
import { roadCurve } from "./road.ts";
import type { ScoreFn } from "./types.ts";
import { testRng } from "./_testing.ts";

const rand = testRng(31);
const [c, h, w] = [3, 6, 6];
const input = { data: Float32Array.from({ length: c * h * w }, rand), shape: [c, h, w] };
const map = { data: Float32Array.from({ length: h * w }, rand), shape: [h, w] };
const weights = Float64Array.from({ length: c * h * w }, () => rand() + 0.1);
const linear: ScoreFn = (xs) => xs.map((x) => x.reduce((a, v, i) => a + v * weights[i], 0));
const boxes = [{ x0: 1, y0: 1, x1: 4, y1: 5 }];

Deno.test("evaluateMap() runs every group and agrees with the individual metrics", async () => {
  let calls = 0;
  const counted: ScoreFn = (xs) => (calls++, linear(xs));
  const r = await evaluateMap(input, map, counted, {
    metrics: [...METRIC_IDS],
    boxes,
    road: { percentiles: [0.25, 0.5], noise: 0 },
    deletion: { step: 4 },
    insertion: { step: 4 },
  });
  const y = (await linear([input.data]))[0];
  const fam = await famFaithfulness(input, map, linear);
  const iom = await iomFaithfulness(input, map, linear);
  const morf = await roadCurve(input, map, linear, { percentiles: [0.25, 0.5], noise: 0 });
  const lerf = await roadCurve(input, map, linear, {
    percentiles: [0.25, 0.5],
    noise: 0,
    order: "least-first",
  });
  assert.deepEqual(r, {
    score: y,
    proportion: energyProportion(map, boxes),
    iou: localizationIoU(map, boxes).iou,
    masked_score: fam.maskedScore,
    average_drop: fam.drop,
    increase_in_confidence: fam.increase,
    area: iom.area,
    value: iom.value,
    explanation_score: iom.explanationScore,
    average_drop_e: iom.averageDrop,
    perturbed_score: iom.perturbedScore,
    confidence_drop: iom.confidenceDrop,
    deletion_auc: (await deletionCurve(input, map, linear, { step: 4 })).auc,
    insertion_auc: (await insertionCurve(input, map, linear, { step: 4 })).auc,
    road_morf_p25: morf.scores[0],
    road_morf_p50: morf.scores[1],
    road_morf_mean: (morf.scores[0] + morf.scores[1]) / 2,
    road_lerf_p25: lerf.scores[0],
    road_lerf_p50: lerf.scores[1],
    road_lerf_mean: (lerf.scores[0] + lerf.scores[1]) / 2,
    road_residual: Math.max(...morf.residuals, ...lerf.residuals),
  });
  assert.ok(calls > 0);
});

Deno.test("evaluateMap() reuses a known score, writes undefined values as null, and checks its options", async () => {
  let inputs = 0;
  const counted: ScoreFn = (xs) => (inputs += xs.length, xs.map(() => -1));
  const r = await evaluateMap(input, map, counted, { metrics: ["fam", "iom"], baseScore: -2 });
  assert.equal(inputs, 3); // O, E and X̂ only
  assert.equal(r.score, -2);
  assert.equal(r.average_drop, null); // Y ≤ 0: relative drops undefined
  assert.equal(r.confidence_drop, null);
  assert.equal(r.increase_in_confidence, 1);
  await assert.rejects(
    () => evaluateMap(input, map, linear, { metrics: ["iou"] }),
    /need ground-truth boxes/,
  );
  await assert.rejects(
    () => evaluateMap(input, map, linear, { metrics: ["pointing" as "iou"], boxes }),
    /Unknown metric 'pointing'/,
  );
});
