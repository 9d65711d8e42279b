import assert from "node:assert/strict";
import { readNpy } from "../../io/npy.ts";
import { parseOnnx } from "./onnx_proto.ts";
import { runOrt, withExtraOutputs } from "./ort_runner.ts";

const DATA = new URL("../../../testdata/onnx/", import.meta.url);
const read = (f: string) => Deno.readFileSync(new URL(f, DATA));

interface NodesFile {
  model: string;
  input: string;
  output: string;
  nodes: {
    module: string;
    opType: string;
    shape: number[];
    absMax: number;
    sampleIndices: number[];
    sampleValues: number[];
    tensorNames: Record<string, string>;
  }[];
}

const MODELS = [
  "resnet_basic",
  "resnet_bottleneck",
  "vgg_bn",
  "mobilenetv2_025",
  "cbam_block",
  "se_block",
  "conv4_leaky",
];
const VARIANTS = ["fused_op11", "kept_op11", "fused_op17", "kept_op17"];
/** Parity tolerance: max abs error relative to max |reference|. */
const REL_TOL = 1e-4;

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function npyInput(model: string) {
  const x = readNpy(read(`${model}_input.npy`));
  assert.ok(x.data instanceof Float32Array);
  return { data: x.data, shape: x.shape };
}

for (const model of MODELS) {
  Deno.test(`runOrt reproduces the PyTorch output of ${model} (4 exports) and its intermediates`, async () => {
    const input = npyInput(model);
    const expected = readNpy(read(`${model}_output.npy`));
    const nodes: NodesFile = JSON.parse(new TextDecoder().decode(read(`${model}_nodes.json`)));
    const scale = maxAbs(expected.data as Float32Array);
    assert.ok(scale > 0);
    for (const variant of VARIANTS) {
      const file = `${model}_${variant}.onnx`;
      const bytes = read(file);
      // Intermediate tensors are fetched from the two opset-17 exports (the opset-11 ones use the
      // same names; fetching changes nothing else, and this keeps the test fast).
      const names = variant.endsWith("op17") ? nodes.nodes.map((n) => n.tensorNames[file]) : [];
      const outputName = parseOnnx(bytes).graph.outputs[0].name;
      const out = await runOrt(bytes, input, names.length ? [outputName, ...names] : undefined);
      const y = out.get(outputName)!;
      assert.deepEqual(y.shape, expected.shape, file);
      const err = maxAbsDiff(y.data, expected.data as Float32Array);
      assert.ok(err <= REL_TOL * scale, `${file}: max abs error ${err} > ${REL_TOL} × ${scale}`);
      for (const node of nodes.nodes) {
        const name = node.tensorNames[file];
        if (!names.includes(name)) continue;
        const t = out.get(name)!;
        assert.deepEqual(t.shape, node.shape, `${file} ${name}`);
        const got = node.sampleIndices.map((i) => t.data[i]);
        const e = maxAbsDiff(got, node.sampleValues);
        assert.ok(e <= REL_TOL * Math.max(node.absMax, 1e-6), `${file} ${name} (${node.module}): error ${e}`);
        assert.ok(
          Math.abs(maxAbs(t.data) - node.absMax) <= REL_TOL * node.absMax,
          `${file} ${name}: max |x|`,
        );
      }
    }
  });
}

Deno.test("withExtraOutputs appends only new outputs and rejects unknown tensors", () => {
  const bytes = read("conv4_leaky_fused_op17.onnx");
  assert.equal(withExtraOutputs(bytes, ["output"]), bytes);
  const name = "/features/features.0/features.0.2/LeakyRelu_output_0";
  const m = parseOnnx(withExtraOutputs(bytes, [name]));
  assert.deepEqual(m.graph.outputs.map((o) => o.name), ["output", name]);
  assert.equal(m.graph.nodes.length, parseOnnx(bytes).graph.nodes.length);
  assert.throws(() => withExtraOutputs(bytes, ["nope"]), {
    message: "runOrt: no tensor named 'nope' in the model",
  });
});
