import assert from "node:assert/strict";
import { backwardWalk, GraphBuilder, jvpWalk, kernelCache, runForward, tf } from "@cnnlens/core";
import { assertAllClose, forEachBackend, values } from "../../core/src/_testing/assert.ts";
import { convTransposeVjp, NAFLOW_VJP_KIND } from "./conv_transpose.ts";
import { withFlowCache } from "./flow_cache.ts";

const cases: [
  string,
  number[],
  { out: number; k: number; stride?: number; pad?: number; group?: number; dilation?: number },
][] = [
  ["3x3 stride 1", [4, 7, 7], { out: 5, k: 3 }],
  ["3x3 stride 2 (odd size)", [3, 7, 7], { out: 4, k: 3, stride: 2 }],
  ["7x7 stride 2 pad 3", [3, 10, 10], { out: 4, k: 7, stride: 2, pad: 3 }],
  ["1x1 stride 2", [4, 6, 6], { out: 6, k: 1, stride: 2, pad: 0 }],
  ["3x3 dilation 2", [2, 9, 9], { out: 3, k: 3, dilation: 2, pad: 2 }],
  ["grouped", [4, 6, 6], { out: 6, k: 3, group: 2 }],
  ["depthwise", [4, 6, 6], { out: 4, k: 3, group: 4, stride: 2 }],
  ["depthwise ×2", [3, 6, 6], { out: 6, k: 3, group: 3 }],
  ["pad larger than kernel span", [2, 5, 5], { out: 2, k: 1, pad: 2 }],
];

forEachBackend(
  "the naflow-vjp kind transposes convolutions: the adjoint of the forward convolution, equal to the core's VJP",
  async () => {
    for (const [name, shape, spec] of cases) {
      const b = new GraphBuilder(shape, 5);
      const g = b.build(b.conv("conv", b.inputName, spec));
      const x = tf.randomNormal([1, shape[1], shape[2], shape[0]], 0, 1, "float32", 1);
      const tr = runForward(g, x);
      const u = tf.randomNormal(tr.get("conv").shape, 0, 1, "float32", 2);
      const v = tf.randomNormal(x.shape, 0, 1, "float32", 3);
      const walk = (kind: string) =>
        backwardWalk(g, tr, new Map([["conv", u]]), { to: ["input"], kind }).get("input")!;
      const viaKind = await withFlowCache(async () => {
        const first = walk(NAFLOW_VJP_KIND);
        const again = walk(NAFLOW_VJP_KIND); // with the kernels of the scope (or the shared cache)
        assertAllClose(await values(again), await values(first), {
          rtol: 0,
          atol: 0,
          label: `${name} again`,
        });
        again.dispose();
        return first;
      });
      // Adjoint identity ⟨J v, u⟩ = ⟨v, Jᵀ u⟩, with J v by the forward convolution (jvpWalk).
      const jv = jvpWalk(g, tr, new Map([["input", v]]), { to: "conv" });
      const lhs = tf.sum(tf.mul(jv, u));
      const rhs = tf.sum(tf.mul(v, viaKind));
      assertAllClose(await values(rhs), await values(lhs), {
        rtol: 1e-4,
        atol: 1e-4,
        label: `${name} adjoint`,
      });
      // The core's own VJP (tfjs autodiff off wasm, the same transposed convolution on wasm).
      const core = walk("vjp");
      assertAllClose(await values(viaKind), await values(core), { rtol: 1e-4, atol: 1e-4, label: name });
      [x, u, v, viaKind, jv, lhs, rhs, core].forEach((t) => t.dispose());
      tr.dispose();
      g.dispose();
    }
  },
);

forEachBackend(
  "the naflow-vjp kind's kernels outlive neither the explanation nor the graph",
  async (backend) => {
    kernelCache.clear();
    const b = new GraphBuilder([3, 7, 7], 6);
    const g = b.build(b.conv("conv", b.inputName, { out: 4, k: 3, stride: 2 }));
    const x = tf.randomNormal([1, 7, 7, 3], 0, 1, "float32", 1);
    const tr = runForward(g, x);
    const dy = tf.randomNormal(tr.get("conv").shape, 0, 1, "float32", 2);
    const before = tf.memory().numTensors;
    let inside = 0;
    await withFlowCache(() => {
      const [dx] = convTransposeVjp(g.node("conv"), [x], tr.get("conv"), dy, [true]);
      dx!.dispose();
      inside = tf.memory().numTensors - before;
      return Promise.resolve();
    });
    assert.equal(inside, 4, "one kernel per phase of the stride-2 transpose, kept while the scope is open");
    if (backend === "wasm") {
      // On wasm they are the core's shared kernels, kept with the weights.
      assert.equal(kernelCache.size, 4);
      assert.equal(tf.memory().numTensors, before + 4);
    } else {
      assert.equal(tf.memory().numTensors, before);
    }
    [x, dy].forEach((t) => t.dispose());
    tr.dispose();
    g.dispose();
    assert.equal(kernelCache.size, 0);
  },
);
