/**
 * The metrics panel: for an image whose object box is known (the synthetic samples), score the current
 * explanation's main map with the evaluation suite's functions — energy in the box (FAM Eq. 19,
 * `energyProportion`), the localisation IoU (Eq. 20, `localizationIoU`) and the Average Drop / Increase in
 * Confidence terms (Eqs. 21-22, `famFaithfulness`) — exactly as `cnnlens eval` does for one image.
 * @module
 */
import { type RgbImage, runForward, type Tensor, tf, upsampleMap } from "@cnnlens/core";
import {
  type Box,
  energyProportion,
  famFaithfulness,
  localizationIoU,
  type SaliencyMap,
  scaleBox,
  type ScoreFn,
} from "@cnnlens/eval";
import type { LoadedModel } from "@cnnlens/cli/load";
import type { ResolvedDecision } from "@cnnlens/cli/decision";
import { drawBox, heat, pngDataUrl } from "./render.ts";

/** What the metrics panel shows. */
export interface MetricsJson {
  /** Energy inside the box, Eq. 19 (min-max normalised map), in [0, 1]. */
  proportion: number;
  /** IoU of the box estimated from the map (largest component above 0.2 × max) with the true box. */
  iou: number;
  /** `Y`: the decision's score on the image. */
  score: number;
  /** `O`: the score on `X ⊙ norm(S)`. */
  maskedScore: number;
  /** `max(0, Y − O)/Y` (Eq. 21's term; null when `Y ≤ 0`). */
  averageDrop: number | null;
  /** `1[Y < O]` (Eq. 22's term). */
  increase: number;
  /** What `Y` is. */
  scoreKind: string;
  /** The true box and the estimated one, in the model input's pixels. */
  box: Box;
  estimated: Box | null;
  /** Model input size `[H, W]` the metrics are computed at. */
  size: [number, number];
  /** The map with the true box (green) and the estimated box (red). */
  image: string;
}

/** `[3, H, W]` values in [0, 1] of an 8-bit picture (the protocols' input space). */
export function imageToChw01(img: RgbImage): Float32Array {
  const hw = img.width * img.height;
  const out = new Float32Array(3 * hw);
  for (let p = 0; p < hw; p++) for (let c = 0; c < 3; c++) out[c * hw + p] = img.data[p * 3 + c] / 255;
  return out;
}

function normalise(model: LoadedModel, xs: Float32Array[]): Tensor {
  const [h, w] = model.size;
  return tf.tidy(() => {
    const stacked = tf.stack(xs.map((d) => tf.tensor3d(d, [3, h, w])));
    const nhwc = tf.transpose(stacked, [0, 2, 3, 1]);
    return tf.div(tf.sub(nhwc, tf.tensor1d(model.mean)), tf.tensor1d(model.std));
  });
}

/**
 * The decision's score for a batch of `[3, H, W]` inputs in [0, 1]: the softmax probability of the
 * decided class, or, for a similarity decision, the mean cosine similarity to the references.
 * @param model The model (inputs are normalised with its mean/std).
 * @param decision The resolved decision (its references must still be alive).
 * @returns The scorer and what it scores.
 */
export function decisionScorer(
  model: LoadedModel,
  decision: ResolvedDecision,
): { score: ScoreFn; kind: string } {
  const info = decision.info;
  if (info.kind === "similarity") {
    const node = String(info.embedding);
    const refs = decision.references!;
    const score: ScoreFn = async (xs) => {
      const x = normalise(model, xs);
      const tr = runForward(model.graph, x, { keep: [node], until: node });
      const s = tf.tidy(() => {
        const v = tr.get(node);
        const flat = tf.reshape(v.rank === 4 ? tf.transpose(v, [0, 3, 1, 2]) : v, [xs.length, -1]);
        const unit = (t: Tensor) => tf.div(t, tf.norm(t, 2, 1, true));
        return tf.mean(tf.matMul(unit(flat), unit(refs), false, true), 1);
      });
      const out = Array.from(await s.data() as Float32Array);
      tf.dispose([x, s]);
      tr.dispose();
      return out;
    };
    return { score, kind: `mean cosine similarity to ${refs.shape[0]} reference(s)` };
  }
  const c = Number(info.class);
  const score: ScoreFn = async (xs) => {
    const x = normalise(model, xs);
    const tr = runForward(model.graph, x, { keep: [] });
    const p = tf.tidy(() =>
      tf.gather(tf.softmax(tf.reshape(tr.get(model.graph.output), [xs.length, -1])), c, 1)
    );
    const out = Array.from(await p.data() as Float32Array);
    tf.dispose([x, p]);
    tr.dispose();
    return out;
  };
  return { score, kind: `softmax probability of class ${c}${info.label ? ` (${info.label})` : ""}` };
}

/** The map at the model input's resolution: `[H, W]` maps are upsampled (bilinear), `[C, H, W]` kept. */
export function mapAtInput(
  raw: { data: Float32Array; shape: number[] },
  size: [number, number],
): SaliencyMap {
  if (raw.shape.length === 3) return { data: raw.data, shape: raw.shape };
  const [h, w] = size;
  return { data: upsampleMap(raw.data, raw.shape[0], raw.shape[1], h, w), shape: [h, w] };
}

/**
 * Score one explanation against its image's known box.
 * @param model The model.
 * @param modelDisplay The input picture at the model's size (the protocols' `X`, in [0, 1]).
 * @param shown The (possibly enlarged) picture to draw the boxes on.
 * @param original The original image size (the box's pixels).
 * @param box The object's box `[x0, y0, x1, y1]` in the original image's pixels.
 * @param raw The method's main map (`MethodRun.map()`).
 * @param decision The decision (for the score).
 * @returns The panel's values and picture.
 */
export async function explanationMetrics(
  model: LoadedModel,
  modelDisplay: RgbImage,
  shown: RgbImage,
  original: { width: number; height: number },
  box: [number, number, number, number],
  raw: { data: Float32Array; shape: number[] },
  decision: ResolvedDecision,
): Promise<MetricsJson> {
  const [h, w] = model.size;
  const map = mapAtInput(raw, [h, w]);
  const gt = scaleBox({ x0: box[0], y0: box[1], x1: box[2], y1: box[3] }, original, { width: w, height: h });
  const proportion = energyProportion(map, [gt]);
  const loc = localizationIoU(map, [gt]);
  const x = { data: imageToChw01(modelDisplay), shape: [3, h, w] };
  const { score, kind } = decisionScorer(model, decision);
  const f = await famFaithfulness(x, map, score);
  // The picture: per-pixel relevance (channels summed, as the metrics do) over the shown image.
  let pixel = map.data;
  if (map.shape.length === 3) {
    pixel = new Float32Array(h * w);
    for (let c = 0; c < map.shape[0]; c++) {
      for (let p = 0; p < h * w; p++) pixel[p] += map.data[c * h * w + p];
    }
  }
  const img = heat(shown, pixel, h, w, 0.45);
  const sx = shown.width / w, sy = shown.height / h;
  const scale = (b: Box) => ({ x0: b.x0 * sx, y0: b.y0 * sy, x1: b.x1 * sx, y1: b.y1 * sy });
  const t = Math.max(1, Math.round(shown.width / 112));
  drawBox(img, scale(gt), [0, 230, 0], t);
  if (loc.box) drawBox(img, scale(loc.box), [255, 40, 40], t);
  return {
    proportion,
    iou: loc.iou,
    score: f.score,
    maskedScore: f.maskedScore,
    averageDrop: Number.isFinite(f.drop) ? f.drop : null,
    increase: f.increase,
    scoreKind: kind,
    box: gt,
    estimated: loc.box,
    size: [h, w],
    image: pngDataUrl(img),
  };
}
