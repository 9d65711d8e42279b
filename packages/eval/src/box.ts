/**
 * Boxes in pixel coordinates, half-open: `{x0, y0, x1, y1}` covers the pixels with `x0 ≤ x < x1` and
 * `y0 ≤ y < y1`, so its area is `(x1 − x0)(y1 − y0)` and scaling a box with the image is exact.
 *
 * Pixel `(x, y)` is the unit square `[x, x + 1) × [y, y + 1)`; a box with fractional coordinates (after
 * scaling) covers the pixels whose centre `(x + ½, y + ½)` lies inside it, which for integer coordinates is
 * exactly the half-open rule above. Datasets that give inclusive corners (ImageNet/PASCAL XML `xmax`)
 * convert with {@linkcode boxFromInclusive}; CUB's `x, y, width, height` with {@linkcode boxFromXywh}.
 * @module
 */

/** A box in pixel coordinates, half-open (`x0 ≤ x < x1`, `y0 ≤ y < y1`). */
export interface Box {
  /** Left edge (first column inside). */
  x0: number;
  /** Top edge (first row inside). */
  y0: number;
  /** Right edge (first column outside). */
  x1: number;
  /** Bottom edge (first row outside). */
  y1: number;
}

/**
 * Checks that a value is a box with finite coordinates and `x0 ≤ x1`, `y0 ≤ y1`.
 *
 * @param box The value.
 * @param what Name used in the message.
 * @returns The box (same object).
 * @throws {TypeError} If it is not an object with four finite numbers.
 * @throws {RangeError} If a far edge lies before the near edge.
 * @example
 * ```ts
 * import { checkBox } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * checkBox({ x0: 0, y0: 0, x1: 2, y1: 3 });
 * assert.throws(() => checkBox({ x0: 5, y0: 0, x1: 2, y1: 3 }), RangeError);
 * ```
 */
export function checkBox(box: Box, what = "box"): Box {
  if (box === null || typeof box !== "object") {
    throw new TypeError(`Invalid ${what}: expected {x0, y0, x1, y1}`);
  }
  for (const k of ["x0", "y0", "x1", "y1"] as const) {
    if (typeof box[k] !== "number" || !Number.isFinite(box[k])) {
      throw new TypeError(`Invalid ${what}: ${k} must be a finite number, got ${String(box[k])}`);
    }
  }
  if (box.x1 < box.x0 || box.y1 < box.y0) {
    throw new RangeError(
      `Invalid ${what} {x0: ${box.x0}, y0: ${box.y0}, x1: ${box.x1}, y1: ${box.y1}}: needs x0 ≤ x1 and y0 ≤ y1`,
    );
  }
  return box;
}

/**
 * The integer half-open box of the pixels a box covers inside an `height × width` image (centre rule,
 * clipped to the image). An empty result has `x0 === x1` or `y0 === y1`.
 *
 * @param box The box.
 * @param height Image rows.
 * @param width Image columns.
 * @returns Integer coordinates with `0 ≤ x0 ≤ x1 ≤ width`, `0 ≤ y0 ≤ y1 ≤ height`.
 * @example
 * ```ts
 * import { rasterizeBox } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(rasterizeBox({ x0: -3, y0: 1.4, x1: 2.6, y1: 9 }, 4, 4), { x0: 0, y0: 1, x1: 3, y1: 4 });
 * ```
 */
export function rasterizeBox(box: Box, height: number, width: number): Box {
  checkBox(box);
  const clip = (v: number, hi: number) => Math.min(hi, Math.max(0, v));
  const x0 = clip(Math.ceil(box.x0 - 0.5), width), x1 = clip(Math.ceil(box.x1 - 0.5), width);
  const y0 = clip(Math.ceil(box.y0 - 0.5), height), y1 = clip(Math.ceil(box.y1 - 0.5), height);
  return { x0, y0, x1: Math.max(x0, x1), y1: Math.max(y0, y1) };
}

/**
 * Number of pixels of an integer box (`(x1 − x0)(y1 − y0)`, 0 if empty).
 *
 * @param box A box (normally from {@linkcode rasterizeBox}).
 * @returns Its area.
 * @example
 * ```ts
 * import { boxArea } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(boxArea({ x0: 1, y0: 1, x1: 4, y1: 3 }), 6);
 * ```
 */
export function boxArea(box: Box): number {
  return Math.max(0, box.x1 - box.x0) * Math.max(0, box.y1 - box.y0);
}

/**
 * Intersection over union of two boxes as areas (for integer boxes: pixel counts, Eq. 20 of FAM). Two
 * empty boxes give 0.
 *
 * @param a First box.
 * @param b Second box.
 * @returns `|a ∩ b| / |a ∪ b|` in [0, 1].
 * @example
 * ```ts
 * import { boxIoU } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(boxIoU({ x0: 0, y0: 0, x1: 2, y1: 2 }, { x0: 1, y0: 0, x1: 3, y1: 2 }), 2 / 6);
 * ```
 */
export function boxIoU(a: Box, b: Box): number {
  const inter = boxArea({
    x0: Math.max(a.x0, b.x0),
    y0: Math.max(a.y0, b.y0),
    x1: Math.min(a.x1, b.x1),
    y1: Math.min(a.y1, b.y1),
  });
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Scales a box from one image size to another (e.g. from the original image to the model's input after
 * resizing). Exact for half-open boxes: a box covering the whole image still covers the whole image.
 *
 * @param box Box in the source image's pixels.
 * @param from Source size.
 * @param to Target size.
 * @returns The box in the target image's pixels (fractional coordinates are fine).
 * @example
 * ```ts
 * import { scaleBox } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const b = scaleBox({ x0: 0, y0: 50, x1: 500, y1: 100 }, { width: 500, height: 400 }, { width: 224, height: 224 });
 * assert.deepEqual(b, { x0: 0, y0: 28, x1: 224, y1: 56 });
 * ```
 */
export function scaleBox(
  box: Box,
  from: { width: number; height: number },
  to: { width: number; height: number },
): Box {
  checkBox(box);
  for (
    const [n, v] of [["from.width", from.width], ["from.height", from.height], ["to.width", to.width], [
      "to.height",
      to.height,
    ]] as const
  ) {
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new RangeError(`Cannot scale box: ${n} must be positive, got ${v}`);
    }
  }
  const sx = (v: number) => (v * to.width) / from.width, sy = (v: number) => (v * to.height) / from.height;
  return { x0: sx(box.x0), y0: sy(box.y0), x1: sx(box.x1), y1: sy(box.y1) };
}

/**
 * Converts inclusive integer corners (`xmin ≤ x ≤ xmax`, as ImageNet/PASCAL annotations give them, after
 * making them 0-based) into a half-open box.
 *
 * @param xmin First column inside.
 * @param ymin First row inside.
 * @param xmax Last column inside.
 * @param ymax Last row inside.
 * @returns `{x0: xmin, y0: ymin, x1: xmax + 1, y1: ymax + 1}`.
 * @example
 * ```ts
 * import { boxFromInclusive, boxArea } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(boxArea(boxFromInclusive(2, 2, 2, 2)), 1);
 * ```
 */
export function boxFromInclusive(xmin: number, ymin: number, xmax: number, ymax: number): Box {
  return checkBox({ x0: xmin, y0: ymin, x1: xmax + 1, y1: ymax + 1 });
}

/**
 * Converts `x, y, width, height` (CUB-200-2011's `bounding_boxes.txt`) into a half-open box.
 *
 * @param x Left edge.
 * @param y Top edge.
 * @param width Box width.
 * @param height Box height.
 * @returns `{x0: x, y0: y, x1: x + width, y1: y + height}`.
 * @example
 * ```ts
 * import { boxFromXywh } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * assert.deepEqual(boxFromXywh(1, 2, 3, 4), { x0: 1, y0: 2, x1: 4, y1: 6 });
 * ```
 */
export function boxFromXywh(x: number, y: number, width: number, height: number): Box {
  return checkBox({ x0: x, y0: y, x1: x + width, y1: y + height });
}

/**
 * The union of boxes as a pixel mask (1 inside any box).
 *
 * @param boxes Boxes in this image's pixels.
 * @param height Image rows.
 * @param width Image columns.
 * @returns `height × width` mask, row-major.
 * @example
 * ```ts
 * import { boxMask } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const m = boxMask([{ x0: 0, y0: 0, x1: 1, y1: 1 }, { x0: 0, y0: 0, x1: 2, y1: 1 }], 2, 2);
 * assert.deepEqual(Array.from(m), [1, 1, 0, 0]);
 * ```
 */
export function boxMask(boxes: readonly Box[], height: number, width: number): Uint8Array {
  const mask = new Uint8Array(height * width);
  for (const b of boxes) {
    const r = rasterizeBox(b, height, width);
    for (let y = r.y0; y < r.y1; y++) mask.fill(1, y * width + r.x0, y * width + r.x1);
  }
  return mask;
}
