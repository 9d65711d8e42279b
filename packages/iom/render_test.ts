import assert from "node:assert/strict";
import { renderColour, renderSignedMagnitude } from "./render.ts";

Deno.test("renderColour() shows each input channel's saliency in its own colour", () => {
  // 2×1 image: pixel 0 red channel −0.5 and blue 1; pixel 1 all three channels at 1 (white).
  const map = Float32Array.from([-0.5, 1, 0, 1, 1, 1]); // CHW: R=[−0.5, 1], G=[0, 1], B=[1, 1]
  const img = renderColour(map, [3, 1, 2]);
  assert.equal(img.width, 2);
  assert.equal(img.height, 1);
  assert.deepEqual(Array.from(img.rgb), [128, 0, 255, 255, 255, 255]);
  assert.deepEqual(Array.from(img.float), [0.5, 0, 1, 1, 1, 1]);
  const pos = renderColour(map, [3, 1, 2], { mode: "positive" });
  assert.deepEqual(Array.from(pos.rgb), [0, 0, 255, 255, 255, 255]);
  const grey = renderColour(Float32Array.from([0.2]), [1, 1, 1]);
  assert.deepEqual(Array.from(grey.rgb), [51, 51, 51]);
  assert.throws(() => renderColour(new Float32Array(4), [4, 1, 1]), /3-channel/);
});

Deno.test("renderSignedMagnitude() sums channels, scales to [−1, 1] and renders blue–white–red", () => {
  const map = Float32Array.from([1, -2, 0, 1, 0, 0]); // C=2, 1×3: sums [2, −2, 0]
  const img = renderSignedMagnitude(map, [2, 1, 3]);
  assert.deepEqual(Array.from(img.magnitude), [1, -1, 0]);
  assert.deepEqual(Array.from(img.rgb), [255, 0, 0, 0, 0, 255, 255, 255, 255]);
});
