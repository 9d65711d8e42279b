import assert from "node:assert/strict";
import {
  classLogit,
  classProbability,
  type Graph,
  GraphBuilder,
  MissingRuleError,
  neuron,
  runForward,
  tf,
  tinyNet,
} from "@cnnlens/core";
import { maxRelError } from "../core/src/_testing/assert.ts";
import { relativeExcitation } from "./relative_excitation.ts";
import { readCHW } from "./read_chw.ts";
import { registerExcitationRules } from "./rules/register.ts";
import { image, onBackends, plainNet, residualNet } from "./_testing/nets.ts";
import {
  readParams,
  referenceForward,
  relativeExcitationMatrices,
  row,
} from "./_testing/excitation_reference.ts";

registerExcitationRules("four-way", ["excitation4", "excitation4-"]);

const TOL = 1e-5;

/** Compare propagated r-Exc± of every unit of `node` against the explicit matrix products. */
async function compareAllUnits(
  graph: Graph,
  seed: number,
  node: string,
  units: { decision: ReturnType<typeof classLogit>; index: number }[],
  negative: string | null,
  options: { to?: string; kinds?: [string, string] } = {},
): Promise<{ values: number[] }> {
  const { chw, x } = image(graph.node(graph.input).shape, seed);
  const ref = referenceForward(graph, await readParams(graph), chw);
  const target = options.to ?? graph.input;
  const m = relativeExcitationMatrices(graph, ref, node, target, negative);
  const cols = ref.get(target)!.out.length;
  const values: number[] = [];
  let negSeen = 0;
  for (const { decision, index } of units) {
    const r = relativeExcitation(graph, x, decision, options);
    assert.equal(r.negativeLayer, negative);
    const pos = (await readCHW(r.pos)).data;
    const neg = (await readCHW(r.neg)).data;
    const ePos = row(m.pos, index, cols);
    const eNeg = row(m.neg, index, cols);
    assert.ok(ePos.some((v) => v !== 0), `r-Exc⁺ of unit ${index} is not trivially zero`);
    if (eNeg.some((v) => v !== 0)) negSeen++;
    const ep = maxRelError(pos, ePos);
    const en = maxRelError(neg, eNeg);
    assert.ok(ep <= TOL, `r-Exc⁺ of ${decision.label}: relative error ${ep}`);
    assert.ok(en <= TOL, `r-Exc⁻ of ${decision.label}: relative error ${en}`);
    values.push(ref.get(node)!.out[index]);
    r.dispose();
  }
  if (negative) assert.ok(negSeen > 0, "some r-Exc⁻ row is not trivially zero");
  x.dispose();
  return { values };
}

onBackends(
  "relativeExcitation() equals the product of explicit excitation matrices on conv-ReLU-pool-conv-ReLU-pool-linear",
  ["cpu", "wasm", "webgpu"],
  async (b) => {
    const g = plainNet();
    const classes = b === "webgpu" ? [0, 3] : [0, 1, 2, 3, 4];
    const { values } = await compareAllUnits(
      g,
      11,
      "fc",
      classes.map((c) => ({ decision: classLogit(c), index: c })),
      "fc",
    );
    if (b !== "webgpu") {
      assert.ok(
        values.some((v) => v < 0) && values.some((v) => v > 0),
        "both signs of decided outputs covered",
      );
    }
    g.dispose();
  },
);

onBackends(
  "relativeExcitation() equals the explicit matrices with BN, a residual add, LeakyReLU, avg pool, strided grouped and dilated depthwise convs",
  ["cpu", "wasm"],
  async () => {
    const g = residualNet();
    const { values } = await compareAllUnits(
      g,
      21,
      "fc",
      [0, 1, 2, 3].map((c) => ({ decision: classLogit(c), index: c })),
      "fc",
    );
    assert.ok(
      values.some((v) => v < 0) && values.some((v) => v > 0),
      "both signs of decided outputs covered",
    );
    g.dispose();
  },
);

onBackends(
  "relativeExcitation() four-way split gives the same explicit matrices",
  ["cpu", "wasm"],
  async () => {
    const g = residualNet();
    await compareAllUnits(g, 21, "fc", [1, 2].map((c) => ({ decision: classLogit(c), index: c })), "fc", {
      kinds: ["excitation4", "excitation4-"],
    });
    g.dispose();
  },
);

onBackends(
  "relativeExcitation() of intermediate neurons: Exc⁻ at the residual add, at GAP, and onto a feature map",
  ["cpu", "wasm"],
  async () => {
    const g = residualNet();
    const [c, h, w] = g.node("relu2").shape;
    // Neurons of relu2 = ReLU(add(lrelu, relu1)): r-Exc⁻ branches at the add (ReLU has no negative
    // excitation). Per channel, take the active neuron whose residual branch opposes it the most.
    const ref = referenceForward(g, await readParams(g), image([3, 8, 8], 21).chw);
    const act = ref.get("relu2")!.out;
    const branch = ref.get("lrelu")!.out;
    const units = Array.from({ length: c }, (_, k) => {
      let best = -1;
      for (let i = k * h * w; i < (k + 1) * h * w; i++) {
        if (act[i] > 0 && (best < 0 || branch[i] < branch[best])) best = i;
      }
      const y = Math.floor((best % (h * w)) / w);
      return { decision: neuron("relu2", k, y, best % w), index: best };
    });
    const { values } = await compareAllUnits(g, 21, "relu2", units, "add");
    assert.ok(values.every((v) => v > 0), "the chosen neurons are active");
    // A unit of the reshaped GAP: the chain reshape ← gap; r-Exc⁻ at GAP.
    await compareAllUnits(g, 21, "reshape", [{ decision: neuron("reshape", 2), index: 2 }], "gap");
    // The logit onto relu1 (a feature map inside the network) instead of the input.
    await compareAllUnits(g, 21, "fc", [{ decision: classLogit(2), index: 2 }], "fc", { to: "relu1" });
    g.dispose();
  },
);

onBackends("relativeExcitation() covers conv stride, padding, groups, depthwise and dilation", [
  "cpu",
  "wasm",
], async () => {
  const configs = [
    { out: 5, k: 3, stride: 2, pad: 1 },
    { out: 3, k: 5, stride: 3, pad: 2 },
    { out: 4, k: 1, stride: 2, pad: 0, bias: false },
    { out: 6, k: 3, stride: 1, pad: 1, group: 2 },
    { out: 4, k: 3, stride: 2, pad: 1, group: 4 },
    { out: 8, k: 3, stride: 2, pad: 0, group: 4 },
    { out: 6, k: 3, stride: 1, pad: 1, group: 2, dilation: 3 },
    { out: 4, k: 3, stride: 1, pad: 2, dilation: 2 },
    { out: 6, k: 2, stride: 1, pad: 1, group: 2, dilation: 3 },
  ];
  for (const [i, c] of configs.entries()) {
    const b = new GraphBuilder([4, 7, 7], 40 + i);
    const x = b.conv("conv", b.inputName, c);
    const g = b.build(b.linear("fc", b.op("flatten", "flatten", b.op("relu", "relu", x)), 3));
    for (const kinds of [undefined, ["excitation4", "excitation4-"] as [string, string]]) {
      await compareAllUnits(
        g,
        60 + i,
        "fc",
        [0, 1, 2].map((k) => ({ decision: classLogit(k), index: k })),
        "fc",
        {
          kinds,
        },
      );
    }
    g.dispose();
  }
});

onBackends(
  "relativeExcitation() covers padded max-pool and average pool counting padding",
  ["cpu", "wasm"],
  async () => {
    const b = new GraphBuilder([3, 9, 9], 77);
    let x = b.conv("conv", b.inputName, { out: 4, k: 3 });
    x = b.op("lrelu", "leakyrelu", x, { alpha: 0.2 });
    x = b.maxpool("mpool", x, 3, 2, 1);
    x = b.add("apool", "avgpool", [x], {
      kernel: [2, 2],
      strides: [1, 1],
      pads: [1, 1, 1, 1],
      countIncludePad: true,
    });
    const g = b.build(b.linear("fc", b.op("flatten", "flatten", x), 3));
    await compareAllUnits(g, 78, "fc", [0, 1, 2].map((k) => ({ decision: classLogit(k), index: k })), "fc");
    g.dispose();
  },
);

onBackends(
  "relativeExcitation() sign conventions for a negative decided output",
  ["cpu", "wasm"],
  async () => {
    // One linear layer: r-Exc⁺ of a negative logit keeps the weights whose terms are negative.
    const b = new GraphBuilder([6], 9);
    const g = b.build(b.linear("fc", b.inputName, 2));
    const xs = [0.5, -1, 2, 0, -0.25, 1];
    const x = tf.tensor2d([xs]);
    const w = Array.from(await g.node("fc").params.weight.data());
    const bias = Array.from(await g.node("fc").params.bias.data());
    for (const c of [0, 1]) {
      const yPrime = xs.reduce((s, v, j) => s + w[j * 2 + c] * v, 0);
      const r = relativeExcitation(g, x, classLogit(c));
      const pos = await r.pos.data();
      const neg = await r.neg.data();
      xs.forEach((v, j) => {
        const term = w[j * 2 + c] * v;
        assert.ok(pos[j] === (term * yPrime > 0 ? w[j * 2 + c] : 0), `Exc⁺[${j}]`);
        assert.ok(neg[j] === (term * yPrime < 0 ? w[j * 2 + c] : 0), `Exc⁻[${j}]`);
      });
      // The bias is excluded: with a bias that flips the output's sign, the split still follows y'.
      assert.ok(Number.isFinite(bias[c]));
      r.dispose();
    }
    x.dispose();
    g.dispose();

    // A bias-free ReLU network: Σ r-Exc⁺∘x has the sign of the decided output, Σ r-Exc⁻∘x the opposite.
    const net = plainNet(4, false, 6);
    const { chw, x: img } = image([3, 8, 8], 12);
    const trace = runForward(net, img);
    const logits = await trace.get("fc").data();
    trace.dispose();
    let negSeen = 0;
    for (let c = 0; c < 6; c++) {
      const r = relativeExcitation(net, img, classLogit(c));
      const pos = (await readCHW(r.pos)).data;
      const neg = (await readCHW(r.neg)).data;
      const sp = pos.reduce((s, v, i) => s + v * chw[i], 0);
      const sn = neg.reduce((s, v, i) => s + v * chw[i], 0);
      assert.equal(Math.sign(sp), Math.sign(logits[c]), `class ${c}: Σ r-Exc⁺∘x has the output's sign`);
      assert.ok(sn * logits[c] <= 0, `class ${c}: Σ r-Exc⁻∘x opposes the output`);
      if (logits[c] < 0) negSeen++;
      r.dispose();
    }
    assert.ok(negSeen > 0 && negSeen < 6, "negative and positive logits both covered");
    img.dispose();
    net.dispose();
  },
);

onBackends(
  "relativeExcitation() gives zero excitation to zero inputs",
  ["cpu", "wasm", "webgpu"],
  async () => {
    const g = residualNet();
    const zero = tf.zeros([1, 8, 8, 3]);
    const r = relativeExcitation(g, zero, classLogit(1));
    assert.ok((await r.pos.data()).every((v) => v === 0));
    assert.ok((await r.neg.data()).every((v) => v === 0));
    r.dispose();
    zero.dispose();
    // Zeroing one pixel (all channels) and the blue channel of another zeroes exactly those entries.
    const { x } = image([3, 8, 8], 21);
    const mask = tf.buffer([1, 8, 8, 3]);
    for (let i = 0; i < 8 * 8 * 3; i++) mask.values[i] = 1;
    for (const c of [0, 1, 2]) mask.set(0, 0, 3, 5, c);
    mask.set(0, 0, 6, 2, 2);
    const xz = tf.mul(x, mask.toTensor());
    const rz = relativeExcitation(g, xz, classLogit(1));
    const pos = (await readCHW(rz.pos)).data;
    const neg = (await readCHW(rz.neg)).data;
    for (const i of [0 * 64 + 3 * 8 + 5, 1 * 64 + 3 * 8 + 5, 2 * 64 + 3 * 8 + 5, 2 * 64 + 6 * 8 + 2]) {
      assert.ok(pos[i] === 0 && neg[i] === 0, `entry ${i} is zero`);
    }
    assert.notEqual(pos[0 * 64 + 6 * 8 + 2], 0, "the red channel of the second pixel still counts");
    rz.dispose();
    x.dispose();
    xz.dispose();
    g.dispose();
  },
);

onBackends(
  "relativeExcitation() of a probability is the softmax-Jacobian combination of logit rows",
  ["cpu"],
  async () => {
    const g = plainNet();
    const { chw, x } = image([3, 8, 8], 11);
    const ref = referenceForward(g, await readParams(g), chw);
    const m = relativeExcitationMatrices(g, ref, "fc", g.input, "fc");
    const z = ref.get("fc")!.out;
    const e = z.map((v) => Math.exp(v - Math.max(...z)));
    const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
    const c = 2;
    const s = p.map((pi, i) => p[c] * ((i === c ? 1 : 0) - pi)); // ∂p_c/∂z_i
    const expected = new Float64Array(192);
    s.forEach((si, i) => row(m.pos, i, 192).forEach((v, j) => expected[j] += si * v));
    const r = relativeExcitation(g, x, classProbability(c));
    const err = maxRelError((await readCHW(r.pos)).data, expected);
    assert.ok(err <= TOL, `relative error ${err}`);
    r.dispose();
    x.dispose();
    g.dispose();
  },
);

Deno.test("relativeExcitation() names the op and node it has no excitation rule for", () => {
  const b = new GraphBuilder([2], 1);
  const g = b.build(b.linear("fc", b.op("sig", "sigmoid", b.inputName), 2));
  const x = tf.ones([1, 2]);
  assert.throws(
    () => relativeExcitation(g, x, classLogit(0)),
    (e: unknown) =>
      e instanceof MissingRuleError &&
      e.message.startsWith("No excitation rule for op 'sigmoid' at node 'sig'"),
  );
  x.dispose();
  g.dispose();
});

Deno.test("relativeExcitation() rejects batches and targets that do not feed the decision", () => {
  const g = tinyNet();
  const x2 = tf.ones([2, 8, 8, 3]);
  assert.throws(() => relativeExcitation(g, x2, classLogit(0)), /one input at a time: got a batch of 2/);
  const x = tf.ones([1, 8, 8, 3]);
  assert.throws(() => relativeExcitation(g, x, neuron("conv1", 0, 1, 1), { to: "conv2" }), /does not feed/);
  tf.dispose([x, x2]);
  g.dispose();
});

Deno.test("relativeExcitation() without a mixing layer below the decision has zero r-Exc⁻", async () => {
  // Decision at relu1 mapped onto conv1: only ReLU in between.
  const g = tinyNet();
  const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 2);
  const r = relativeExcitation(g, x, neuron("relu1", 1, 2, 2), { to: "conv1" });
  assert.equal(r.negativeLayer, null);
  assert.ok((await r.neg.data()).every((v) => v === 0));
  r.dispose();
  x.dispose();
  g.dispose();
});

Deno.test("relativeExcitation() leaves tf.memory() flat over repeated calls", () => {
  const g = residualNet();
  const { x } = image([3, 8, 8], 21);
  const r0 = relativeExcitation(g, x, classLogit(0));
  r0.dispose();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) relativeExcitation(g, x, classLogit(i % 4)).dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  g.dispose();
});
