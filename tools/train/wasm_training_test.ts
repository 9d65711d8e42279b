import assert from "node:assert/strict";
import { tf, useBackend } from "@cnnlens/core";
import { enableWasmTraining } from "./_wasm_training.ts";

// tfjs-wasm's own MaxPoolGrad, kept before the patch replaces it in the kernel registry.
const wasmMaxPoolGrad = tf.getKernel("MaxPoolGrad", "wasm")!.kernelFunc;
enableWasmTraining();

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 1e-6;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/** Gradients of Σ conv2d(x, w) ⊙ dy with respect to x and w, on a backend. */
async function convGrads(
  backend: "cpu" | "wasm",
  s: number,
  pad: "same" | "valid",
  k: number,
): Promise<Float32Array[]> {
  await useBackend(backend);
  const x = tf.randomNormal([2, 9, 10, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([k, k, 3, 4], 0, 1, "float32", 2) as tf.Tensor4D;
  const shape = tf.tidy(() => tf.conv2d(x, w, s, pad).shape);
  const dy = tf.randomNormal(shape, 0, 1, "float32", 3);
  const before = tf.memory().numTensors;
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), dy))
  );
  const [gx, gw] = g([x, w]);
  const out = [await gx.data() as Float32Array, await gw.data() as Float32Array];
  tf.dispose([gx, gw]);
  assert.equal(tf.memory().numTensors, before, "the patched kernels leave no tensors behind");
  tf.dispose([x, w, dy]);
  return out;
}

Deno.test("wasm training kernels: Conv2DBackpropFilter/Input equal tfjs-cpu's for strides 1-2, same/valid, k 1-4", async () => {
  for (
    const [s, pad, k] of [[1, "same", 3], [2, "same", 3], [1, "valid", 3], [2, "valid", 1], [2, "same", 1], [
      2,
      "same",
      4,
    ], [2, "valid", 3]] as const
  ) {
    const cpu = await convGrads("cpu", s, pad, k);
    const wasm = await convGrads("wasm", s, pad, k);
    assert.ok(maxRel(wasm[0], cpu[0]) < 1e-5, `dx stride ${s} ${pad} k ${k}: ${maxRel(wasm[0], cpu[0])}`);
    assert.ok(maxRel(wasm[1], cpu[1]) < 1e-5, `dW stride ${s} ${pad} k ${k}: ${maxRel(wasm[1], cpu[1])}`);
  }
});

Deno.test("wasm's own Conv3DBackpropFilterV2 is wrong for stride 2 (why the patch does not build on it)", async () => {
  const run = async (backend: "cpu" | "wasm") => {
    await useBackend(backend);
    const x = tf.randomNormal([2, 1, 9, 10, 3], 0, 1, "float32", 1) as tf.Tensor5D;
    const w = tf.randomNormal([1, 1, 1, 3, 4], 0, 1, "float32", 2) as tf.Tensor5D;
    const dy = tf.randomNormal([2, 1, 5, 5, 4], 0, 1, "float32", 3);
    const gw = tf.grad((b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv3d(x, b as tf.Tensor5D, [1, 2, 2], "valid"), dy))
    )(w);
    const out = await gw.data() as Float32Array;
    tf.dispose([x, w, dy, gw]);
    return out;
  };
  const err = maxRel(await run("wasm"), await run("cpu"));
  assert.ok(err > 0.1, `fixed upstream (relative error ${err}): the training patch could use it now`);
});

Deno.test("broadcasting BatchNorm gradient equals autodiff of the formula written with elementary ops", async () => {
  await useBackend("wasm");
  const x = tf.randomNormal([3, 4, 5, 6], 0, 2, "float32", 4);
  const mean = tf.randomNormal([6], 0, 1, "float32", 5);
  const variance = tf.randomUniform([6], 0.5, 2, "float32", 6);
  const offset = tf.randomNormal([6], 0, 1, "float32", 7);
  const scale = tf.randomNormal([6], 1, 0.3, "float32", 8);
  const dy = tf.randomNormal([3, 4, 5, 6], 0, 1, "float32", 9);
  const eps = 1e-3;
  const fused = tf.grads((a, m, v, o, s) => tf.sum(tf.mul(tf.batchNorm(a, m, v, o, s, eps), dy)));
  const plain = tf.grads((a, m, v, o, s) =>
    tf.sum(tf.mul(tf.add(tf.mul(tf.mul(tf.sub(a, m), tf.rsqrt(tf.add(v, eps))), s), o), dy))
  );
  const before = tf.memory().numTensors;
  const gf = fused([x, mean, variance, offset, scale]);
  const gp = plain([x, mean, variance, offset, scale]);
  for (let i = 0; i < 5; i++) {
    const e = maxRel(await gf[i].data() as Float32Array, await gp[i].data() as Float32Array);
    assert.ok(e < 1e-5, `input ${i}: ${e}`);
  }
  tf.dispose([...gf, ...gp]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, mean, variance, offset, scale, dy]);
});

Deno.test("a layers model's gradients (fused conv with stride 2, BN in training mode, max-pool) agree on wasm and cpu", async () => {
  const grads = async (backend: "cpu" | "wasm") => {
    await useBackend(backend);
    const m = tf.sequential();
    m.add(
      tf.layers.conv2d({
        inputShape: [12, 12, 3],
        filters: 5,
        kernelSize: 3,
        strides: 2,
        padding: "same",
        kernelInitializer: tf.initializers.heNormal({ seed: 1 }),
      }),
    );
    m.add(tf.layers.batchNormalization());
    m.add(tf.layers.reLU());
    m.add(
      tf.layers.conv2d({
        filters: 4,
        kernelSize: 3,
        padding: "valid",
        kernelInitializer: tf.initializers.heNormal({ seed: 2 }),
      }),
    );
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
    const x = tf.randomNormal([4, 12, 12, 3], 0, 1, "float32", 10);
    const { grads: g, value } = tf.variableGrads(() =>
      tf.sum(tf.square(m.apply(x, { training: true }) as tf.Tensor))
    );
    const out: Float32Array[] = [];
    for (const v of m.trainableWeights) out.push(await g[v.originalName].data() as Float32Array);
    tf.dispose([x, value, ...Object.values(g)]);
    m.dispose();
    return out;
  };
  const cpu = await grads("cpu"), wasm = await grads("wasm");
  assert.equal(cpu.length, 8);
  // The first convolution's bias has a zero gradient in theory (BatchNorm follows): compare absolutely there.
  cpu.forEach((c, i) => {
    const err = i === 1 ? Math.max(...wasm[i].map((v, j) => Math.abs(v - c[j]))) : maxRel(wasm[i], c);
    assert.ok(err < 1e-4, `variable ${i}: ${err}`);
  });
});

/** Max-pool input gradient with plain loops: each output's gradient to the first maximum of its window. */
function refMaxPoolGrad(
  x: Float32Array,
  dy: Float32Array,
  [n, h, w, c]: number[],
  k: number,
  s: number,
  pad: "same" | "valid",
): Float32Array {
  const ho = pad === "same" ? Math.ceil(h / s) : Math.floor((h - k) / s) + 1;
  const wo = pad === "same" ? Math.ceil(w / s) : Math.floor((w - k) / s) + 1;
  const pt = pad === "same" ? Math.floor(Math.max((ho - 1) * s + k - h, 0) / 2) : 0;
  const pl = pad === "same" ? Math.floor(Math.max((wo - 1) * s + k - w, 0) / 2) : 0;
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < ho; i++) {
      for (let j = 0; j < wo; j++) {
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity, at = -1;
          for (let a = 0; a < k; a++) {
            for (let e = 0; e < k; e++) {
              const r = i * s + a - pt, q = j * s + e - pl;
              if (r < 0 || r >= h || q < 0 || q >= w) continue;
              const idx = ((b * h + r) * w + q) * c + ch;
              if (x[idx] > best) {
                best = x[idx];
                at = idx;
              }
            }
          }
          out[at] += dy[((b * ho + i) * wo + j) * c + ch];
        }
      }
    }
  }
  return out;
}

Deno.test("wasm MaxPoolGrad: tfjs-wasm's own is wrong for 2×2 pools, the training patch equals plain loops", async () => {
  await useBackend("wasm");
  // tfjs-wasm 4.22's kernel, called directly (the patch replaced it in the registry).
  const configs = [
    [8, 8, 3, 2, 2, "valid"],
    [7, 9, 2, 2, 2, "same"],
    [8, 8, 4, 3, 2, "same"],
    [9, 9, 2, 3, 2, "valid"],
    [6, 6, 5, 2, 1, "valid"],
    [7, 7, 3, 3, 3, "same"],
  ] as const;
  for (const [h, w, c, k, s, pad] of configs) {
    const x = tf.randomNormal([2, h, w, c], 0, 1, "float32", 11) as tf.Tensor4D;
    const dy0 = tf.maxPool(x, k, s, pad);
    const dy = tf.randomNormal(dy0.shape, 0, 1, "float32", 12) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const gx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, k, s, pad), dy)))(x);
    const got = await gx.data() as Float32Array;
    gx.dispose();
    assert.equal(tf.memory().numTensors, before);
    const ref = refMaxPoolGrad(
      await x.data() as Float32Array,
      await dy.data() as Float32Array,
      x.shape,
      k,
      s,
      pad,
    );
    assert.ok(maxRel(got, ref) < 1e-6, `${h}×${w}×${c} k${k} s${s} ${pad}: ${maxRel(got, ref)}`);
    if (k === 2) {
      const info = wasmMaxPoolGrad(
        {
          inputs: { dy, input: x, output: dy0 },
          backend: tf.backend(),
          attrs: { filterSize: k, strides: s, pad, dimRoundingMode: undefined },
        } as unknown as Parameters<typeof wasmMaxPoolGrad>[0],
      ) as tf.TensorInfo;
      const theirs = tf.engine().makeTensorFromTensorInfo(info);
      const err = maxRel(await theirs.data() as Float32Array, ref);
      theirs.dispose();
      assert.ok(
        err > 0.1,
        `tfjs-wasm's MaxPoolGrad is right for ${h}×${w}×${c} k${k} s${s} ${pad} now (${err})`,
      );
    }
    tf.dispose([x, dy0, dy]);
  }
});
