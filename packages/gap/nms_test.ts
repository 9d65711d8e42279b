import assert from "node:assert/strict";
import { maskIoU, mergeChannels, thresholdMask } from "./nms.ts";

/** A 4×4 map with value `v` on the given cells (row-major indices) and `bg` elsewhere. */
function map4(cells: number[], v = 1, bg = 0): Float32Array {
  const m = new Float32Array(16).fill(bg);
  for (const c of cells) m[c] = v;
  return m;
}

Deno.test("thresholdMask() keeps A > threshold · max(A), strictly, and nothing when max ≤ 0", () => {
  const m = Float32Array.of(4, 2, 2.0001, -5, 0, 3.9);
  assert.deepEqual(Array.from(thresholdMask(m)), [1, 0, 1, 0, 0, 1]);
  assert.deepEqual(Array.from(thresholdMask(m, 0.9)), [1, 0, 0, 0, 0, 1]);
  assert.deepEqual(Array.from(thresholdMask(m, 0)), [1, 1, 1, 0, 0, 1]);
  assert.deepEqual(Array.from(thresholdMask(Float32Array.of(-1, -2, 0))), [0, 0, 0]);
  assert.deepEqual(Array.from(thresholdMask(new Float32Array(3))), [0, 0, 0]);
});

Deno.test("maskIoU() is |a ∩ b| / |a ∪ b|, 0 for two empty masks", () => {
  assert.equal(maskIoU(map4([0, 1, 2, 3]), map4([2, 3, 4, 5, 6, 7])), 2 / 8);
  assert.equal(maskIoU(map4([5]), map4([5])), 1);
  assert.equal(maskIoU(map4([]), map4([])), 0);
  assert.equal(maskIoU(map4([1]), map4([])), 0);
  assert.throws(() => maskIoU([1], [1, 0]), RangeError);
});

Deno.test("mergeChannels(): NMS in contribution order on hand-made maps", async () => {
  // Channel 0: top-left 2×2 block. Channel 1: the same block at another scale (IoU 1 with 0).
  // Channel 2: top-left block plus one more cell (IoU 4/5 = 0.8 with 0). Channel 3: bottom-right block.
  // Channel 4: negative everywhere (empty mask). Channel 5: the block of 3, but faint cells off the
  // block stay below half the peak (mask identical to channel 3's).
  const maps: Record<number, Float32Array> = {
    0: map4([0, 1, 4, 5], 2),
    1: map4([0, 1, 4, 5], 7),
    2: map4([0, 1, 4, 5, 2], 1),
    3: map4([10, 11, 14, 15], 1),
    4: map4([], 0, -1),
    5: (() => {
      const m = map4([10, 11, 14, 15], 4, 1.9); // background 1.9 < 0.5 · 4
      return m;
    })(),
  };
  const asked: number[][] = [];
  const maps$ = (cs: number[]) => {
    asked.push(cs);
    return cs.map((c) => maps[c]);
  };
  // Order 1 > 0 > 2 > 3 > 5 > 4 (by contribution).
  const order = [1, 0, 2, 3, 5, 4];
  let r = await mergeChannels(order, maps$, { top: 3 });
  assert.deepEqual(r.kept, [
    { channel: 1, merged: [0] }, // IoU 1 > 0.9
    { channel: 2, merged: [] }, // IoU 0.8 ≤ 0.9: a distinct channel
    { channel: 3, merged: [] },
  ]);
  assert.deepEqual(asked, [order]); // one batch of up to max(4 · top, 16) channels
  assert.deepEqual([...r.read.keys()], [1, 0, 2, 3]); // examined until 3 were kept
  // Lower IoU limit: channel 2 (0.8) now merges into 1; channel 5 (IoU 1 with 3) merges into 3; the empty
  // mask of 4 overlaps nothing and is kept.
  r = await mergeChannels(order, maps$, { top: 3, mergeIoU: 0.75 });
  assert.deepEqual(r.kept, [
    { channel: 1, merged: [0, 2] },
    { channel: 3, merged: [5] },
    { channel: 4, merged: [] },
  ]);
  // top larger than what is left after merging: everything examined.
  r = await mergeChannels(order, maps$, { top: 10, mergeIoU: 0.75 });
  assert.deepEqual(r.kept.map((k) => k.channel), [1, 3, 4]);
  // mergeIoU ≥ 1 never merges: plain top-N.
  r = await mergeChannels(order, maps$, { top: 4, mergeIoU: 1 });
  assert.deepEqual(r.kept, [1, 0, 2, 3].map((channel) => ({ channel, merged: [] })));
  // The threshold changes the masks: at 0.45, channel 5's background (1.9 > 1.8) joins its mask.
  r = await mergeChannels([3, 5], maps$, { top: 2, threshold: 0.45 });
  assert.deepEqual(r.kept.map((k) => k.channel), [3, 5]);
  r = await mergeChannels([3, 5], maps$, { top: 2, threshold: 0.5 });
  assert.deepEqual(r.kept, [{ channel: 3, merged: [5] }]);
});

Deno.test("mergeChannels() reads maps lazily, a batch at a time", async () => {
  // 100 channels, all with the same mask: everything merges into the first, so every batch is read.
  const asked: number[] = [];
  const order = Array.from({ length: 100 }, (_, i) => 99 - i);
  const r = await mergeChannels(order, (cs) => {
    asked.push(cs.length);
    return cs.map(() => map4([3]));
  }, { top: 2 });
  assert.deepEqual(asked, [16, 16, 16, 16, 16, 16, 4]);
  assert.equal(r.kept.length, 1);
  assert.equal(r.kept[0].channel, 99);
  assert.equal(r.kept[0].merged.length, 99);
  // Distinct masks: a single batch of max(4 · 5, 16) = 20 is enough for top 5.
  const asked2: number[] = [];
  await mergeChannels(order, (cs) => {
    asked2.push(cs.length);
    return cs.map((c) => map4([c % 16]));
  }, { top: 5 });
  assert.deepEqual(asked2, [20]);
});
