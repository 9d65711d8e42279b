/**
 * Channel discrimination analysis (section 4.2, Eq. 13): how often each channel ranks in the top of a
 * decomposition, per class, over many images.
 * @module
 */
import type { GapTree } from "./hierarchy.ts";
import { treeNodes } from "./hierarchy.ts";

/**
 * The discriminative degree of one channel, Eq. 13: `D = max_c N_c / Σ_c N_c`, where `N_c` counts the
 * decompositions of images of class `c` in which the channel ranked in the top. 1 when only one class
 * uses the channel, `1/C` when all C classes use it equally; NaN when it never ranked.
 *
 * @param counts `N_c` per class (a map or an array).
 * @returns D.
 * @example
 * ```ts
 * import { discriminativeDegree } from "@cnnlens/gap";
 * if (discriminativeDegree([0, 5, 0]) !== 1) throw new Error();
 * if (discriminativeDegree([2, 2, 2, 2]) !== 0.25) throw new Error();
 * ```
 */
export function discriminativeDegree(counts: ArrayLike<number> | Map<unknown, number>): number {
  const vals = counts instanceof Map ? [...counts.values()] : Array.from(counts);
  let max = 0;
  let sum = 0;
  for (const v of vals) {
    if (v < 0) throw new RangeError(`discriminativeDegree(): negative count ${v}`);
    max = Math.max(max, v);
    sum += v;
  }
  return sum > 0 ? max / sum : NaN;
}

/** Per layer, per channel, per class label: how often the channel is a node of a tree. */
export type ChannelClassCounts = Map<string, Map<number, Map<string | number, number>>>;

/**
 * Count, over trees of many images, how often each (layer, channel) appears as a tree node (i.e. ranks
 * in the top-N of a decomposition), per class label — the `N_c` of Eq. 13.
 *
 * @param entries One tree per image with the image's class label.
 * @returns Counts per layer → channel → label.
 * @example
 * ```ts
 * import { countTreeChannels, type GapTree } from "@cnnlens/gap";
 * const leaf = (channel: number) => ({ layer: "l", channel, position: [0, 0] as [number, number],
 *   contribution: 1, merged: [], children: [] });
 * const tree = (chs: number[]): GapTree => ({ decision: { label: "", node: "fc", value: 0 }, measure: "AA",
 *   into: "l", alpha: [], children: chs.map(leaf) });
 * const counts = countTreeChannels([{ tree: tree([1, 2]), label: 0 }, { tree: tree([1]), label: 1 }]);
 * if (counts.get("l")!.get(1)!.get(0) !== 1 || counts.get("l")!.get(1)!.get(1) !== 1) throw new Error();
 * ```
 */
export function countTreeChannels(entries: { tree: GapTree; label: string | number }[]): ChannelClassCounts {
  const out: ChannelClassCounts = new Map();
  for (const { tree, label } of entries) {
    for (const { node } of treeNodes(tree)) {
      let byChannel = out.get(node.layer);
      if (!byChannel) out.set(node.layer, byChannel = new Map());
      let byLabel = byChannel.get(node.channel);
      if (!byLabel) byChannel.set(node.channel, byLabel = new Map());
      byLabel.set(label, (byLabel.get(label) ?? 0) + 1);
    }
  }
  return out;
}

/**
 * Eq. 13 for every channel that appears in the trees, per layer (Fig. 15's data).
 * @param entries One tree per image with its class label.
 * @returns Per layer, the channels with their degree `D` and total count, by descending total.
 * @example
 * ```ts
 * import { discriminativeDegrees, type GapTree } from "@cnnlens/gap";
 * const tree = (channel: number): GapTree => ({ decision: { label: "", node: "fc", value: 0 }, measure: "AA",
 *   into: "l", alpha: [], children: [{ layer: "l", channel, position: [0, 0], contribution: 1, merged: [], children: [] }] });
 * const d = discriminativeDegrees([{ tree: tree(3), label: 0 }, { tree: tree(3), label: 1 }]);
 * if (d.get("l")![0].degree !== 0.5) throw new Error();
 * ```
 */
export function discriminativeDegrees(
  entries: { tree: GapTree; label: string | number }[],
): Map<string, { channel: number; degree: number; total: number }[]> {
  const out = new Map<string, { channel: number; degree: number; total: number }[]>();
  for (const [layer, byChannel] of countTreeChannels(entries)) {
    const rows = [...byChannel].map(([channel, byLabel]) => ({
      channel,
      degree: discriminativeDegree(byLabel),
      total: [...byLabel.values()].reduce((a, b) => a + b, 0),
    }));
    rows.sort((a, b) => b.total - a.total || a.channel - b.channel);
    out.set(layer, rows);
  }
  return out;
}
