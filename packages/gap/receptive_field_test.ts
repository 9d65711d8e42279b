import assert from "node:assert/strict";
import { classLogit, GraphBuilder, type Tensor, tf, useBackend } from "@cnnlens/core";
import { assertAllClose } from "../core/src/_testing/assert.ts";
import { decomposeMany, type GapNeuron, MEASURES } from "./decompose.ts";
import { receptiveField } from "./receptive_field.ts";
import { resLike, vggLike } from "./_testing.ts";

Deno.test("receptiveField() windows follow kernel, stride, padding and dilation (hand-computed)", async () => {
  await useBackend("cpu");
  const b = new GraphBuilder([1, 20, 20], 1);
  const c1 = b.conv("c1", b.inputName, { out: 2, k: 3 }); // 20×20, pad 1
  const p1 = b.maxpool("p1", c1, 2, 2); // 10×10
  const c2 = b.conv("c2", p1, { out: 2, k: 3, stride: 2, pad: 1, dilation: 2 }); // reads o·2 − 1 + {0, 2, 4}
  const g = b.build(c2);
  assert.deepEqual(g.node("c2").shape, [2, 4, 4]);
  // c2[1, 2]: rows 1..5 of p1 (2·1 − 1 = 1 to 1 + 4), columns 3..7; p1 rows 1..5 come from c1 rows 2..11.
  const rf = receptiveField(g, "c1", "c2", [1, 2])!;
  assert.deepEqual(rf.window, { y: { lo: 2, hi: 11 }, x: { lo: 6, hi: 15 } });
  assert.deepEqual(rf.stride, [4, 4]);
  assert.deepEqual(rf.crop, { y0: 0, x0: 4, height: 12, width: 12 });
  assert.deepEqual(rf.position, [1, 1]);
  // Clipped at the top-left border (the padding is real there), down to the input.
  const rf0 = receptiveField(g, "input", "c2", [0, 0])!;
  assert.deepEqual(rf0.window, { y: { lo: 0, hi: 8 }, x: { lo: 0, hi: 8 } });
  assert.deepEqual(rf0.crop, { y0: 0, x0: 0, height: 9, width: 9 });
  // A neuron of the same layer is its own window.
  assert.deepEqual(receptiveField(g, "c2", "c2", [3, 1])!.crop, { y0: 3, x0: 1, height: 1, width: 1 });
  g.dispose();
});

/** A linear net with positive weights and inputs: the gradient of a neuron is > 0 exactly on its
 * receptive field, so the field can be read off the gradient's support. */
function positiveLinearNet(): ReturnType<GraphBuilder["build"]> {
  const b = new GraphBuilder([2, 23, 21], 2);
  const conv = (name: string, x: string, out: number, k: number, stride: number, pads: number[]) => {
    const cin = b.shape(x)[0];
    return b.add(name, "conv2d", [x], {
      strides: [stride, stride],
      pads: pads as [number, number, number, number],
      dilations: [1, 1],
      group: 1,
    }, { weight: tf.add(0.1, tf.abs(tf.randomNormal([k, k, cin, out], 0, 1, "float32", out * 7 + k))) });
  };
  let x = conv("a", b.inputName, 3, 3, 1, [1, 1, 1, 1]);
  x = b.add("pool", "avgpool", [x], { kernel: [3, 3], strides: [2, 2], pads: [1, 0, 1, 1], ceilMode: true });
  x = conv("b", x, 3, 3, 2, [0, 1, 2, 0]);
  x = b.op("pad", "pad", x, { padding: [0, 2, 1, 0, 0, 1] });
  x = conv("c", x, 2, 3, 1, [0, 0, 0, 0]);
  return b.build(x);
}

Deno.test("receptiveField() equals the support of the true gradient (positive linear net)", async () => {
  await useBackend("cpu");
  const g = positiveLinearNet();
  const [, Ht, Wt] = g.node("c").shape;
  const x = tf.add(0.5, tf.abs(tf.randomNormal([1, 23, 21, 2], 0, 1, "float32", 4)));
  for (const layer of ["a", "pool", "b"]) {
    const [K, H, W] = g.node(layer).shape;
    const targets: GapNeuron[] = [];
    for (let y = 0; y < Ht; y++) {
      for (let xx = 0; xx < Wt; xx++) targets.push({ layer: "c", channel: 1, position: [y, xx] });
    }
    const ds = await decomposeMany(g, x, targets, layer, { gradients: true, crop: false });
    ds.forEach((d, i) => {
      let [ylo, yhi, xlo, xhi] = [Infinity, -1, Infinity, -1];
      for (let k = 0; k < K; k++) {
        for (let y = 0; y < H; y++) {
          for (let xx = 0; xx < W; xx++) {
            if (d.gradients![(k * H + y) * W + xx] <= 0) continue;
            ylo = Math.min(ylo, y);
            yhi = Math.max(yhi, y);
            xlo = Math.min(xlo, xx);
            xhi = Math.max(xhi, xx);
          }
        }
      }
      const rf = receptiveField(g, layer, "c", targets[i].position)!;
      assert.deepEqual(
        rf.window,
        { y: { lo: ylo, hi: yhi }, x: { lo: xlo, hi: xhi } },
        `${layer} ${targets[i].position}`,
      );
    });
  }
  x.dispose();
  g.dispose();
});

async function cropEqualsFull(
  g: ReturnType<typeof vggLike>,
  x: Tensor,
  top: string,
  into: string,
  channel: number,
) {
  const [, Ht, Wt] = g.node(top).shape;
  const targets: GapNeuron[] = [];
  for (let y = 0; y < Ht; y++) {
    for (let xx = 0; xx < Wt; xx++) targets.push({ layer: top, channel, position: [y, xx] });
  }
  const cropped = await decomposeMany(g, x, targets, into, { gradients: true, crop: true });
  const full = await decomposeMany(g, x, targets, into, { gradients: true, crop: false });
  let crops = 0;
  const [, H, W] = g.node(into).shape;
  targets.forEach((t, i) => {
    const rf = receptiveField(g, into, top, t.position);
    if (rf && rf.crop.height * rf.crop.width <= 0.5 * H * W) crops++;
    const label = `${top}[${t.position}] → ${into}`;
    for (const m of MEASURES) {
      assertAllClose(cropped[i].contributions[m], full[i].contributions[m], {
        rtol: 1e-5,
        atol: 1e-7,
        label: `${label} ${m}`,
      });
    }
    assertAllClose(cropped[i].maps, full[i].maps, { rtol: 1e-5, atol: 1e-7, label });
    assertAllClose(cropped[i].gradients!, full[i].gradients!, { rtol: 1e-5, atol: 1e-7, label });
    assertAllClose([cropped[i].value], [full[i].value], { rtol: 1e-6, atol: 1e-7, label });
    assert.deepEqual(cropped[i].peaks, full[i].peaks, label);
  });
  return crops;
}

Deno.test("crop evaluation equals the full map for every neuron, borders included (VGG-like)", async () => {
  await useBackend("cpu");
  const g = vggLike(3, 13);
  const x = tf.randomNormal([1, 13, 13, 3], 0, 1, "float32", 12);
  let crops = 0;
  crops += await cropEqualsFull(g, x, "s1", "r1", 1);
  crops += await cropEqualsFull(g, x, "r3", "s1", 2);
  crops += await cropEqualsFull(g, x, "s2", "s1", 0);
  crops += await cropEqualsFull(g, x, "s3", "r3", 3);
  assert.ok(crops > 100, `only ${crops} neurons were evaluated on crops`);
  x.dispose();
  g.dispose();
});

Deno.test("crop evaluation equals the full map through residual blocks, pad and concat (ResNet-like)", async () => {
  await useBackend("cpu");
  const g = resLike(4, 32);
  const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 13);
  let crops = 0;
  crops += await cropEqualsFull(g, x, "layer1.0.relu_1", "relu", 2);
  crops += await cropEqualsFull(g, x, "layer2.0.relu_1", "layer1.0.relu_1", 1);
  crops += await cropEqualsFull(g, x, "head.relu", "layer2.0.relu_1", 7);
  crops += await cropEqualsFull(g, x, "head.relu", "layer1.0.relu_1", 6);
  assert.ok(crops > 50, `only ${crops} neurons were evaluated on crops`);
  x.dispose();
  g.dispose();
});

Deno.test("receptiveField() is null where a neuron is not local in the layer", async () => {
  await useBackend("cpu");
  const g = resLike(4, 32);
  // Inside a block: the shortcut enters the sub-graph from outside the layer.
  assert.equal(receptiveField(g, "layer2.0.relu", "layer2.0.relu_1", [1, 1]), null);
  // Through global pooling.
  assert.equal(receptiveField(g, "relu", "avgpool", [0, 0]), null);
  // Not above the layer.
  assert.equal(receptiveField(g, "layer2.0.relu_1", "layer1.0.relu_1", [0, 0]), null);
  // Vectors have no receptive field.
  assert.equal(receptiveField(g, "relu", "fc", [0, 0]), null);
  // A non-local decision still decomposes (on the full map), and equals the core autodiff path.
  const x = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 13);
  const [d] = await decomposeMany(
    g,
    x,
    [{ layer: "layer2.0.relu_1", channel: 0, position: [2, 3] }],
    "layer2.0.relu",
  );
  assert.equal(d.channels, 6);
  await decomposeMany(g, x, [classLogit(0)], "relu");
  x.dispose();
  g.dispose();
});

Deno.test("crop evaluation keeps the zeros outside the receptive field in MA, MG and the peak (Eq. 5)", async () => {
  await useBackend("cpu");
  // F > 0 everywhere; channel 0 enters the neuron with negative weights only, so A_0 < 0 on the receptive
  // field and 0 elsewhere: MA_0 = MG_0 = 0 and the peak is the first position outside the field.
  const b = new GraphBuilder([1, 9, 9], 0);
  const low = b.add("low", "conv2d", [b.inputName], {
    strides: [1, 1],
    pads: [0, 0, 0, 0],
    dilations: [1, 1],
    group: 1,
  }, {
    weight: tf.tensor4d([1, 2], [1, 1, 1, 2]),
  });
  const wTop = new Float32Array(9 * 2);
  for (let i = 0; i < 9; i++) {
    wTop[i * 2] = -0.1; // channel 0 → out
    wTop[i * 2 + 1] = 1; // channel 1 → out
  }
  const top = b.add("top", "conv2d", [low], {
    strides: [1, 1],
    pads: [1, 1, 1, 1],
    dilations: [1, 1],
    group: 1,
  }, {
    weight: tf.tensor4d(wTop, [3, 3, 2, 1]),
  });
  const g = b.build(top);
  const x = tf.add(1, tf.abs(tf.randomNormal([1, 9, 9, 1], 0, 1, "float32", 3)));
  const t: GapNeuron = { layer: "top", channel: 0, position: [5, 6] };
  const [c] = await decomposeMany(g, x, [t], "low", { crop: true });
  const [f] = await decomposeMany(g, x, [t], "low", { crop: false });
  assert.ok(receptiveField(g, "low", "top", [5, 6])!.crop.height === 3);
  assert.ok(c.contributions.AA[0] < 0);
  assert.equal(c.contributions.MA[0], 0);
  assert.equal(c.contributions.MG[0], 0);
  assert.equal(f.contributions.MA[0], 0);
  assert.deepEqual(c.peaks[0], [0, 0]);
  assert.deepEqual(f.peaks[0], [0, 0]);
  assert.deepEqual(c.peaks[1], f.peaks[1]);
  x.dispose();
  g.dispose();
});

Deno.test("a crop the sub-graph cannot run on (TF 'same' pads beside a 1×1 stride-2 shortcut) falls back to the full map", async () => {
  await useBackend("cpu");
  // What the tfjs importer makes of a Keras residual block with padding "same" on an 8×8 map: the 3×3
  // stride-2 convolution gets pads [0, 0, 1, 1] (top, left, bottom, right) for its full-size input, the 1×1
  // stride-2 shortcut none. On an odd-sized crop the two branches differ in size (3 vs 4 on 7 rows).
  const b = new GraphBuilder([2, 8, 8], 3);
  const conv = (name: string, x: string, out: number, k: number, stride: number, pads: number[]) =>
    b.add(name, "conv2d", [x], {
      strides: [stride, stride],
      pads: pads as [number, number, number, number],
      dilations: [1, 1],
      group: 1,
    }, {
      weight: tf.randomNormal([k, k, b.shape(x)[0], out], 0, 0.5, "float32", out * 11 + k),
    });
  const s1 = b.op("s1", "relu", conv("c0", b.inputName, 4, 3, 1, [1, 1, 1, 1]));
  const main = conv("main", s1, 4, 3, 2, [0, 0, 1, 1]);
  const short = conv("short", s1, 4, 1, 2, [0, 0, 0, 0]);
  const top = b.op("top", "relu", b.add("add", "add", [main, short]));
  const g = b.build(top);
  assert.deepEqual(g.node("top").shape, [4, 4, 4]);
  // Neuron (1, 1) of `top` reads rows 2..4 of s1 through `main` and row 2 through `short`: a 3-row crop
  // from row 2 gives `main` 1 row ((3 + 1 − 3)/2 + 1) and `short` 2 rows ((3 − 1)/2 + 1): no crop.
  assert.equal(receptiveField(g, "s1", "top", [1, 1]), null);
  // Every neuron's decomposition runs (on a crop where one fits, else the full map) and equals the uncropped
  // one; before the check, neuron (1, 1) failed in the forward pass ("could not be broadcast").
  const x = tf.randomNormal([1, 8, 8, 2], 0, 1, "float32", 5);
  const crops = await cropEqualsFull(g, x, "top", "s1", 1);
  assert.ok(crops < 16, `${crops} of 16 neurons ran on crops`);
  x.dispose();
  g.dispose();
});
