import assert from "node:assert/strict";
import { backwardWalk, getRule, registeredOps, runForward, tf, type VjpRule } from "@cnnlens/core";
import { maxRelError } from "../../core/src/_testing/assert.ts";
import { EXCITATION, excitationOps, NEGATIVE_EXCITATION } from "./register.ts";
import { readCHW } from "../read_chw.ts";
import { image, residualNet } from "../_testing/nets.ts";
import {
  readParams,
  referenceForward,
  relativeExcitationMatrices,
  row,
} from "../_testing/excitation_reference.ts";

Deno.test("excitation rules are registered for the supported ops; Exc⁻ only where outputs mix terms", () => {
  assert.deepEqual(excitationOps(), [
    "add",
    "avgpool",
    "batchnorm",
    "conv2d",
    "flatten",
    "gemm",
    "globalavgpool",
    "identity",
    "leakyrelu",
    "maxpool",
    "pad",
    "relu",
    "reshape",
  ]);
  assert.deepEqual(registeredOps(NEGATIVE_EXCITATION), ["add", "avgpool", "conv2d", "gemm", "globalavgpool"]);
});

Deno.test("backwardWalk() with kind 'excitation' from a one-hot row computes r-Exc⁺", async () => {
  const g = residualNet();
  const { chw, x } = image([3, 8, 8], 21);
  const ref = referenceForward(g, await readParams(g), chw);
  const m = relativeExcitationMatrices(g, ref, "fc", g.input, null);
  const trace = runForward(g, x);
  const seed = tf.oneHot([2], 4).toFloat();
  const out = backwardWalk(g, trace, new Map([["fc", seed]]), { to: [g.input], kind: EXCITATION });
  const got = (await readCHW(out.get(g.input)!)).data;
  assert.ok(maxRelError(got, row(m.pos, 2, 192)) <= 1e-5);
  out.get(g.input)!.dispose();
  seed.dispose();
  trace.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("Exc⁺ + Exc⁻ of every mixing op is the VJP restricted to non-zero terms", async () => {
  const g = residualNet();
  const { x } = image([3, 8, 8], 21);
  const trace = runForward(g, x);
  // "dw" is a dilated depthwise conv (tfjs cannot differentiate it; the core's VJP transposes it).
  for (const name of ["conv1", "conv3", "dw", "apool", "gap", "add", "fc"]) {
    const n = g.node(name);
    const ins = n.inputs.map((i) => trace.get(i));
    const out = trace.get(name);
    const needed = n.inputs.map(() => true);
    const [sum, expected] = tf.tidy(() => {
      const dy = tf.randomNormal([2, ...out.shape.slice(1)], 0, 1, "float32", 3);
      const p = getRule<VjpRule>(EXCITATION, n.op, name)(n, ins, out, dy, needed);
      const q = getRule<VjpRule>(NEGATIVE_EXCITATION, n.op, name)(n, ins, out, dy, needed);
      // Every non-zero term is either positive or negative excitation: Exc⁺ + Exc⁻ = [x ≠ 0]·Wᵀ([y' ≠ 0]·r).
      const yPrime = n.params.bias ? tf.sub(out, n.params.bias) : out;
      const nz = (t: tf.Tensor) => tf.abs(tf.sign(t));
      const vjp = getRule<VjpRule>("vjp", n.op, name)(
        n,
        ins.map((t) => tf.concat([t, t])),
        out,
        tf.mul(dy, nz(yPrime)),
        needed,
      );
      return [
        tf.concat(p.map((t, i) => tf.add(t!, q[i]!).reshape([-1]))),
        tf.concat(vjp.map((t, i) => tf.mul(t!, nz(ins[i])).reshape([-1]))),
      ];
    });
    const err = maxRelError(await sum.data(), await expected.data());
    assert.ok(err < 1e-5, `${name}: ${err}`);
    tf.dispose([sum, expected]);
  }
  trace.dispose();
  x.dispose();
  g.dispose();
});
