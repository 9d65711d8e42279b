/**
 * Channel-effect overlaps (section 4.1): threshold activation maps into binary masks and merge channels
 * whose masks overlap with IoU above a limit, by non-maximum suppression in contribution order.
 * @module
 */

/**
 * The binary mask of an activation map: `A > threshold · max(A)`, and empty when `max(A) ≤ 0` (a map
 * with no positive evidence covers nothing). This is the rule the gAP tree uses (threshold 0.5).
 *
 * @param map Row-major map.
 * @param threshold Fraction of the map's maximum. @default 0.5
 * @returns A 0/1 mask of the same length.
 * @example
 * ```ts
 * import { thresholdMask } from "@cnnlens/gap";
 * const m = thresholdMask(Float32Array.of(0, 1, 4, 3), 0.5);
 * if (m.join() !== "0,0,1,1") throw new Error();
 * ```
 */
export function thresholdMask(map: ArrayLike<number>, threshold = 0.5): Uint8Array {
  let max = -Infinity;
  for (let i = 0; i < map.length; i++) if (map[i] > max) max = map[i];
  const mask = new Uint8Array(map.length);
  if (!(max > 0)) return mask;
  const t = threshold * max;
  for (let i = 0; i < map.length; i++) mask[i] = map[i] > t ? 1 : 0;
  return mask;
}

/**
 * Intersection over union of two binary masks (0 when both are empty).
 * @param a Mask.
 * @param b Mask of the same length.
 * @returns |a ∩ b| / |a ∪ b|.
 * @example
 * ```ts
 * import { maskIoU } from "@cnnlens/gap";
 * if (maskIoU(Uint8Array.of(1, 1, 0, 0), Uint8Array.of(0, 1, 1, 0)) !== 1 / 3) throw new Error();
 * ```
 */
export function maskIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`maskIoU(): masks of ${a.length} and ${b.length} values`);
  let inter = 0;
  let uni = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] !== 0;
    const y = b[i] !== 0;
    if (x && y) inter++;
    if (x || y) uni++;
  }
  return uni ? inter / uni : 0;
}

/** A channel kept by {@linkcode mergeChannels}, with the channels merged into it. */
export interface MergedChannel {
  /** The kept channel. */
  channel: number;
  /** Channels suppressed because their masks overlap this one's with IoU > the limit (in order). */
  merged: number[];
}

/** Options of {@linkcode mergeChannels}. */
export interface MergeOptions {
  /** How many channels to keep. */
  top: number;
  /** IoU above which a channel is merged into a kept one. @default 0.9 */
  mergeIoU?: number;
  /** Mask threshold (fraction of each map's maximum). @default 0.5 */
  threshold?: number;
}

/**
 * Non-maximum suppression over channels in contribution order: walk the channels by descending
 * contribution; a channel whose thresholded map has IoU > `mergeIoU` with an already kept channel's is
 * merged into the first such kept channel; otherwise it is kept; stop once `top` are kept. Maps are asked
 * for lazily, a batch at a time, so only the channels examined are read.
 *
 * @param order Channels in descending contribution.
 * @param maps Returns the row-major maps of the given channels (sync or async).
 * @param options How many to keep, the IoU limit and the mask threshold.
 * @returns The kept channels (in order) with what each absorbed, and the maps read (channel → map).
 * @example
 * ```ts
 * import { mergeChannels } from "@cnnlens/gap";
 * const maps: Record<number, Float32Array> = {
 *   0: Float32Array.of(1, 1, 0, 0), 1: Float32Array.of(2, 2, 0, 0), 2: Float32Array.of(0, 0, 1, 1),
 * };
 * const { kept } = await mergeChannels([0, 1, 2], (cs) => cs.map((c) => maps[c]), { top: 2 });
 * // Channel 1 covers exactly channel 0's area: merged into it.
 * if (JSON.stringify(kept) !== '[{"channel":0,"merged":[1]},{"channel":2,"merged":[]}]') throw new Error();
 * ```
 */
export async function mergeChannels(
  order: number[],
  maps: (channels: number[]) => Promise<ArrayLike<number>[]> | ArrayLike<number>[],
  options: MergeOptions,
): Promise<{ kept: MergedChannel[]; read: Map<number, ArrayLike<number>> }> {
  const limit = options.mergeIoU ?? 0.9;
  const threshold = options.threshold ?? 0.5;
  const top = Math.min(options.top, order.length);
  const kept: (MergedChannel & { mask: Uint8Array })[] = [];
  const read = new Map<number, ArrayLike<number>>();
  const batch = Math.max(4 * top, 16);
  let next = 0;
  while (kept.length < top && next < order.length) {
    const channels = order.slice(next, next + batch);
    next += channels.length;
    const got = await maps(channels);
    for (let i = 0; i < channels.length && kept.length < top; i++) {
      const c = channels[i];
      read.set(c, got[i]);
      const mask = thresholdMask(got[i], threshold);
      const owner = kept.find((k) => maskIoU(k.mask, mask) > limit);
      if (owner) owner.merged.push(c);
      else kept.push({ channel: c, merged: [], mask });
    }
  }
  return { kept: kept.map(({ channel, merged }) => ({ channel, merged })), read };
}
