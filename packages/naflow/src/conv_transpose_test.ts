import { backwardWalk, GraphBuilder, jvpWalk, runForward, tf } from "@cnnlens/core";
import { assertAllClose, forEachBackend, values } from "../../core/src/_testing/assert.ts";
import { convTranspose, NAFLOW_VJP_KIND } from "./conv_transpose.ts";

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
  "convTranspose() is the adjoint of the convolution and equals the core's VJP",
  async (backend) => {
    for (const [name, shape, spec] of backend === "webgpu" ? cases.slice(0, 2) : cases) {
      const b = new GraphBuilder(shape, 5);
      const g = b.build(b.conv("conv", b.inputName, spec));
      const x = tf.randomNormal([1, shape[1], shape[2], shape[0]], 0, 1, "float32", 1);
      const tr = runForward(g, x);
      const u = tf.randomNormal(tr.get("conv").shape, 0, 1, "float32", 2);
      const v = tf.randomNormal(x.shape, 0, 1, "float32", 3);
      const fast = convTranspose(g.node("conv"), u, x.shape);
      // Adjoint identity ⟨J v, u⟩ = ⟨v, Jᵀ u⟩, with J v by the forward convolution (jvpWalk).
      const jv = jvpWalk(g, tr, new Map([["input", v]]), { to: "conv" });
      const lhs = tf.sum(tf.mul(jv, u));
      const rhs = tf.sum(tf.mul(v, fast));
      assertAllClose(await values(rhs), await values(lhs), {
        rtol: 1e-4,
        atol: 1e-4,
        label: `${name} adjoint`,
      });
      const viaKind = backwardWalk(g, tr, new Map([["conv", u]]), { to: ["input"], kind: NAFLOW_VJP_KIND })
        .get("input")!;
      assertAllClose(await values(viaKind), await values(fast), {
        rtol: 1e-6,
        atol: 1e-6,
        label: `${name} (kind)`,
      });
      const depthwise = spec.group === shape[0];
      if ((spec.dilation ?? 1) === 1 && !(depthwise && backend === "wasm")) {
        // tfjs cannot differentiate dilated convolutions, and tfjs-wasm has no depthwise backprop kernel;
        // elsewhere compare with the core's autodiff VJP.
        const slow = backwardWalk(g, tr, new Map([["conv", u]]), { to: ["input"] }).get("input")!;
        assertAllClose(await values(fast), await values(slow), { rtol: 1e-4, atol: 1e-4, label: name });
        slow.dispose();
      }
      [x, u, v, fast, jv, lhs, rhs, viaKind].forEach((t) => t.dispose());
      tr.dispose();
      g.dispose();
    }
  },
);
