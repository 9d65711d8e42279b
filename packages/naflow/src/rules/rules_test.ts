import assert from "node:assert/strict";
import { coreOps, findRule, GraphBuilder, registeredOps, runForward, tf } from "@cnnlens/core";
import { assertAllClose, forEachBackend, values } from "../../../core/src/_testing/assert.ts";
import { rng } from "../../../core/src/_testing/reference.ts";
import { INVERSE_KIND, type InverseResult } from "../inverse.ts";
import { batchNormInverse } from "./batchnorm.ts";
import { leakyReluInverse, reluInverse } from "./relu.ts";
import { maxPoolInverse } from "./maxpool.ts";
import { concatSplit, productSplit, ratioInverse, sumSplit } from "./ratio.ts";
import "./register.ts";

const noCtx = {} as never;
const first = async (r: InverseResult | Promise<InverseResult>) => (await r).inputs;

Deno.test("every core op but input/const has an inverse rule, registered in the core registry", () => {
  const ops = coreOps.filter((op) => op !== "input" && op !== "const");
  assert.deepEqual(registeredOps(INVERSE_KIND), [...ops].sort());
  assert.equal(findRule(INVERSE_KIND, "relu"), reluInverse);
});

forEachBackend("batchNormInverse() is Eq. 11 with the real scale/shift, and 0 where scale = 0", async () => {
  const b = new GraphBuilder([3, 2, 2], 8);
  const g = b.build(b.bn("bn", b.inputName, true));
  const node = g.node("bn");
  const old = node.params.scale;
  node.params.scale = tf.tensor1d([1.5, 0, -0.5]);
  old.dispose();
  const [scale, shift, mean, variance] = await Promise.all(
    ["scale", "shift", "mean", "variance"].map((k) => values(node.params[k])),
  );
  const y = tf.randomNormal([1, 2, 2, 3], 0, 1, "float32", 4);
  const [x] = await first(batchNormInverse(node, [y], y, y, [true], noCtx));
  const yv = await values(y);
  const expected = Array.from(yv, (v, i) => {
    const c = i % 3;
    return scale[c] === 0 ? 0 : (v - shift[c]) * Math.sqrt(variance[c] + 1e-5) / scale[c] + mean[c];
  });
  assertAllClose(await values(x!), expected, { rtol: 1e-5, atol: 1e-5 });
  // Round trip: BN(x') reproduces y wherever the channel is used.
  const tr = runForward(g, x!);
  const back = await values(tr.get("bn"));
  assertAllClose(back.filter((_, i) => i % 3 !== 1), Array.from(yv).filter((_, i) => i % 3 !== 1), {
    rtol: 1e-4,
    atol: 1e-4,
  });
  [y, x!].forEach((t) => t.dispose());
  tr.dispose();
  g.dispose();
});

forEachBackend("reluInverse() abandons (exactly 0) every position whose forward input was ≤ 0", async () => {
  const x = tf.tensor4d([-2, 0, 1e-7, 3, -1e-7, 5], [1, 1, 6, 1]);
  const target = tf.tensor4d([7, 7, 7, -7, 7, 0.5], [1, 1, 6, 1]);
  const node = { name: "r", op: "relu" as const, inputs: ["x"], attrs: {}, params: {}, shape: [1, 1, 6] };
  const [back] = await first(reluInverse(node, [x], x, target, [true], noCtx));
  assert.deepEqual(Array.from(await values(back!)), [0, 0, 7, -7, 0, 0.5]);
  [x, target, back!].forEach((t) => t.dispose());
});

forEachBackend("leakyReluInverse() is Eq. 13: y where y ≥ 0, y/α where y < 0", async () => {
  const y = tf.tensor4d([-0.3, 0, 2, -1], [1, 1, 4, 1]);
  const node = {
    name: "l",
    op: "leakyrelu" as const,
    inputs: ["x"],
    attrs: { alpha: 0.2 },
    params: {},
    shape: [1, 1, 4],
  };
  const [back] = await first(leakyReluInverse(node, [y], y, y, [true], noCtx));
  assertAllClose(await values(back!), [-1.5, 0, 2, -5], { rtol: 1e-6 });
  [y, back!].forEach((t) => t.dispose());
});

forEachBackend(
  "maxPoolInverse() routes to the argmax, zeros elsewhere, and averages shared inputs",
  async () => {
    // 3×3 windows, stride 2, padding 1 on 5×5: neighbouring windows overlap, and one input can win several.
    const b = new GraphBuilder([2, 5, 5], 1);
    const g = b.build(b.maxpool("pool", b.inputName, 3, 2, 1));
    const r = rng(11);
    const xv = Float32Array.from({ length: 50 }, () => Math.round(r() * 8)); // ties included
    const x = tf.tensor4d(xv, [1, 5, 5, 2]);
    const tr = runForward(g, x);
    const target = tf.randomNormal([1, 3, 3, 2], 0, 1, "float32", 5);
    const [back] = await first(maxPoolInverse(g.node("pool"), [x], tr.get("pool"), target, [true], noCtx));
    // Plain-loop reference: first maximum in row-major window order wins; average what lands on an input.
    const t = await values(target);
    const sum = new Float64Array(50), cnt = new Float64Array(50);
    for (let c = 0; c < 2; c++) {
      for (let oy = 0; oy < 3; oy++) {
        for (let ox = 0; ox < 3; ox++) {
          let best = -Infinity, arg = -1;
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              const iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
              if (iy < 0 || iy >= 5 || ix < 0 || ix >= 5) continue;
              const i = (iy * 5 + ix) * 2 + c;
              if (xv[i] > best) [best, arg] = [xv[i], i];
            }
          }
          sum[arg] += t[(oy * 3 + ox) * 2 + c];
          cnt[arg]++;
        }
      }
    }
    const expected = Array.from(sum, (s, i) => cnt[i] ? s / cnt[i] : 0);
    assert.ok(cnt.some((n) => n > 1), "the fixture must have an input shared by two windows");
    const got = await values(back!);
    assertAllClose(got, expected, { rtol: 1e-5, atol: 1e-6 });
    for (let i = 0; i < 50; i++) {
      if (!cnt[i]) {
        assert.equal(got[i], 0, `abandoned input ${i} must be exactly 0`);
      }
    }
    [x, target, back!].forEach((t) => t.dispose());
    tr.dispose();
    g.dispose();
  },
);

forEachBackend("sumSplit() splits y' in proportion to the summands and holds constants fixed", async () => {
  const u = tf.tensor4d([1, 2, -3, 0, 4, 1], [1, 1, 3, 2]);
  const v = tf.tensor4d([3, -1, 1, 0, 4, 1], [1, 1, 3, 2]);
  const y = tf.add(u, v);
  const target = tf.tensor4d([8, 0, -4, 5, 2, 0], [1, 1, 3, 2]);
  const node = {
    name: "add",
    op: "add" as const,
    inputs: ["u", "v"],
    attrs: {},
    params: {},
    shape: [2, 1, 3],
  };
  const [a, bb] = await first(sumSplit(node, [u, v], y, target, [true, true], noCtx));
  const [uv, vv, yv, tv] = await Promise.all([u, v, y, target].map(values));
  // In proportion to the forward values; where y = 0 (index 3) y' is shared equally.
  const share = (w: Float32Array) => Array.from(w, (x, i) => yv[i] ? x * tv[i] / yv[i] : tv[i] / 2);
  const [av, bv] = [await values(a!), await values(bb!)];
  assertAllClose(av, share(uv), { rtol: 1e-6 });
  assertAllClose(bv, share(vv), { rtol: 1e-6 });
  assertAllClose(av.map((x, i) => x + bv[i]), tv, { rtol: 1e-6, label: "the shares add up to y'" });
  // One varying summand: the exact inverse y' − c.
  const [only] = await first(sumSplit(node, [u, v], y, target, [true, false], noCtx));
  assertAllClose(await values(only!), Array.from(tv, (t, i) => t - vv[i]), { rtol: 1e-6 });
  const sub = { ...node, op: "sub" as const };
  const ys = tf.sub(u, v);
  const [, minus] = await first(sumSplit(sub, [u, v], ys, target, [false, true], noCtx));
  assertAllClose(await values(minus!), Array.from(tv, (t, i) => uv[i] - t), { rtol: 1e-6 });
  [u, v, y, ys, target, a!, bb!, only!, minus!].forEach((t) => t.dispose());
});

forEachBackend(
  "productSplit() gives the gated map y'/s and the gate its least-squares survival ratio",
  async () => {
    const x = tf.randomNormal([1, 2, 3, 4], 0, 1, "float32", 1);
    const s = tf.tensor4d([0.2, 0.5, 0.9, 0.7], [1, 1, 1, 4]); // SE-style channel gate
    const y = tf.mul(x, s);
    const keep = tf.tensor4d(Array.from({ length: 24 }, (_, i) => (i % 5 ? 1 : 0)), [1, 2, 3, 4]);
    const target = tf.mul(y, keep);
    const node = {
      name: "mul",
      op: "mul" as const,
      inputs: ["x", "s"],
      attrs: {},
      params: {},
      shape: [4, 2, 3],
    };
    const [xb, sb] = await first(productSplit(node, [x, s], y, target, [true, true], noCtx));
    const [xv, yv, tv] = await Promise.all([x, y, target].map(values));
    assertAllClose(await values(xb!), Array.from(xv, (v, i) => v * (i % 5 ? 1 : 0)), {
      rtol: 1e-5,
      atol: 1e-6,
    });
    const sv = [0.2, 0.5, 0.9, 0.7].map((g, c) => {
      let num = 0, den = 0;
      for (let i = c; i < 24; i += 4) {
        num += yv[i] * tv[i];
        den += yv[i] * yv[i];
      }
      return g * num / den;
    });
    assertAllClose(await values(sb!), sv, { rtol: 1e-5 });
    [x, s, y, keep, target, xb!, sb!].forEach((t) => t.dispose());
  },
);

forEachBackend("concatSplit() and ratioInverse()", async () => {
  const a = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
  const b = tf.tensor4d([5, 6, 7, 8, 9, 10, 11, 12], [1, 2, 2, 2]);
  const y = tf.concat([a, b], 3);
  const node = {
    name: "cat",
    op: "concat" as const,
    inputs: ["a", "b"],
    attrs: { axis: 1 },
    params: {},
    shape: [3, 2, 2],
  };
  const [ab, bb] = await first(concatSplit(node, [a, b], y, y, [true, true], noCtx));
  assert.deepEqual(Array.from(await values(ab!)), [1, 2, 3, 4]);
  assert.deepEqual(Array.from(await values(bb!)), [5, 6, 7, 8, 9, 10, 11, 12]);
  const sig = { name: "s", op: "sigmoid" as const, inputs: ["x"], attrs: {}, params: {}, shape: [1, 2, 2] };
  const x = tf.tensor4d([-1, 0.5, 2, 0], [1, 2, 2, 1]);
  const s = tf.sigmoid(x);
  const half = tf.mul(s, tf.tensor4d([1, 0, 0.5, 1], [1, 2, 2, 1]));
  const [xb] = await first(ratioInverse(sig, [x], s, half, [true], noCtx));
  assertAllClose(await values(xb!), [-1, 0, 1, 0], { rtol: 1e-6 });
  [a, b, y, ab!, bb!, x, s, half, xb!].forEach((t) => t.dispose());
});
