import assert from "node:assert/strict";
import { imageToTensorData } from "@cnnlens/core";
import { synthInput } from "./synth_input.ts";
import { synthSamples } from "./synth_sample.ts";

Deno.test("synthInput() equals the core's imageToTensorData (what the CLI feeds a model), value for value", () => {
  const images = synthSamples("test", 3).map((s) => s.image);
  const nhwc = synthInput(images);
  const nchw = synthInput(images, { layout: "nchw" });
  const per = 64 * 64 * 3;
  images.forEach((img, n) => {
    assert.deepEqual(nhwc.subarray(n * per, (n + 1) * per), imageToTensorData(img, { layout: "hwc" }).data);
    assert.deepEqual(nchw.subarray(n * per, (n + 1) * per), imageToTensorData(img).data);
  });
});

Deno.test("synthInput(): custom mean/std, and errors for mixed sizes or no images", () => {
  const img = { width: 2, height: 1, data: new Uint8Array([0, 51, 255, 255, 0, 102]) };
  const x = synthInput([img], { mean: [0, 0.2, 1], std: [1, 0.5, 2], layout: "nchw" });
  assert.deepEqual(Array.from(x, (v) => Number(v.toFixed(6)) + 0), [0, 1, 0, -0.4, 0, -0.3]);
  assert.throws(() => synthInput([]), /no images/);
  assert.throws(() => synthInput([img, { width: 1, height: 1, data: new Uint8Array(3) }]), /Image 1 is 1×1/);
  assert.throws(() => synthInput([img], { layout: "hwc" as "nhwc" }), /Layout must be/);
});
