/**
 * Connected components of a binary mask with 8-connectivity (pixels touching by an edge or a corner
 * belong together), and the bounding box of the largest one.
 * @module
 */
import type { Box } from "./box.ts";

/** Components of a mask. */
export interface Components {
  /** `H × W` labels: 0 for background, `1..count` for the components in raster order of first pixel. */
  labels: Int32Array;
  /** Number of components. */
  count: number;
  /** `sizes[k − 1]` = pixels of component `k`. */
  sizes: number[];
  /** `boxes[k − 1]` = half-open bounding box of component `k`. */
  boxes: Box[];
}

/**
 * Labels the 8-connected components of a binary mask.
 *
 * @param mask `height × width` values; non-zero means foreground.
 * @param height Rows.
 * @param width Columns.
 * @returns Labels, sizes and bounding boxes, components numbered in raster order of their first pixel.
 * @throws {RangeError} If `mask.length !== height * width`.
 * @example
 * ```ts
 * import { connectedComponents } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * // Diagonal neighbours join under 8-connectivity.
 * const c = connectedComponents(new Uint8Array([1, 0, 0, 1]), 2, 2);
 * assert.deepEqual(c.count, 1);
 * ```
 */
export function connectedComponents(
  mask: ArrayLike<number>,
  height: number,
  width: number,
): Components {
  if (mask.length !== height * width) {
    throw new RangeError(
      `Cannot label components: mask has ${mask.length} values, expected ${height}×${width}`,
    );
  }
  const labels = new Int32Array(height * width);
  const queue = new Int32Array(height * width);
  const sizes: number[] = [];
  const boxes: Box[] = [];
  let count = 0;
  for (let start = 0; start < labels.length; start++) {
    if (!mask[start] || labels[start]) continue;
    const label = ++count;
    let head = 0, tail = 0, size = 0;
    let x0 = width, y0 = height, x1 = -1, y1 = -1;
    labels[start] = label;
    queue[tail++] = start;
    while (head < tail) {
      const p = queue[head++];
      const y = (p / width) | 0, x = p - y * width;
      size++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width || (dx === 0 && dy === 0)) continue;
          const q = ny * width + nx;
          if (mask[q] && !labels[q]) {
            labels[q] = label;
            queue[tail++] = q;
          }
        }
      }
    }
    sizes.push(size);
    boxes.push({ x0, y0, x1: x1 + 1, y1: y1 + 1 });
  }
  return { labels, count, sizes, boxes };
}

/**
 * The bounding box of the largest 8-connected component of a mask; among equally large components, the
 * one whose first pixel comes first in raster order.
 *
 * @param mask `height × width` values; non-zero means foreground.
 * @param height Rows.
 * @param width Columns.
 * @returns Its half-open box, or `null` when the mask is empty.
 * @example
 * ```ts
 * import { largestComponentBox } from "@cnnlens/eval";
 * import assert from "node:assert/strict";
 * const mask = new Uint8Array([
 *   1, 0, 0, 0,
 *   0, 0, 1, 1,
 *   0, 0, 1, 0,
 * ]);
 * assert.deepEqual(largestComponentBox(mask, 3, 4), { x0: 2, y0: 1, x1: 4, y1: 3 });
 * ```
 */
export function largestComponentBox(mask: ArrayLike<number>, height: number, width: number): Box | null {
  const c = connectedComponents(mask, height, width);
  let best = -1;
  for (let k = 0; k < c.count; k++) if (best < 0 || c.sizes[k] > c.sizes[best]) best = k;
  return best < 0 ? null : c.boxes[best];
}
