import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { useBackend } from "../../backend/backend.ts";
import { runForward } from "../../exec/forward.ts";
import { loadNpy } from "../../io/npy.ts";
import { importOnnx, OnnxImportError } from "./onnx_to_graph.ts";
import { runOrt } from "./ort_runner.ts";
import { maxRelError, values } from "../../_testing/assert.ts";

const dir = new URL("../../../testdata/onnx/", import.meta.url).pathname;
const models = [
  "resnet_basic",
  "resnet_bottleneck",
  "vgg_bn",
  "mobilenetv2_025",
  "cbam_block",
  "se_block",
  "conv4_leaky",
];
const variants = ["fused_op11", "kept_op11", "fused_op17", "kept_op17"];

async function inputOf(model: string): Promise<{ nchw: Float32Array; shape: number[]; x: tf.Tensor }> {
  const arr = await loadNpy(`${dir}${model}_input.npy`);
  const nchw = arr.data as Float32Array;
  const x = tf.tidy(() =>
    tf.transpose(tf.tensor4d(nchw, arr.shape as [number, number, number, number]), [0, 2, 3, 1])
  );
  return { nchw, shape: arr.shape, x };
}

async function nchwValues(t: tf.Tensor): Promise<Float32Array> {
  const n = t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t;
  const v = await values(n);
  if (n !== t) n.dispose();
  return v;
}

for (const model of models) {
  Deno.test(`importOnnx(): ${model} (BN fused/kept, opset 11/17) equals PyTorch's output (max rel. error ≤ 1e-4)`, async () => {
    await useBackend("cpu");
    const expected = (await loadNpy(`${dir}${model}_output.npy`)).data as Float32Array;
    const { x } = await inputOf(model);
    for (const v of variants) {
      const g = importOnnx(await Deno.readFile(`${dir}${model}_${v}.onnx`));
      const tr = runForward(g, x, { keep: [] });
      const err = maxRelError(await nchwValues(tr.get(g.output)), expected);
      assert.ok(err <= 1e-4, `${model}_${v}: max rel. error ${err}`);
      tr.dispose();
      g.dispose();
    }
    x.dispose();
  });
}

Deno.test("importOnnx(): intermediate nodes equal onnxruntime-web's, addressed by node and tensor name", async () => {
  await useBackend("cpu");
  for (const model of models) {
    const info = JSON.parse(await Deno.readTextFile(`${dir}${model}_nodes.json`));
    const file = `${model}_kept_op17.onnx`;
    const bytes = await Deno.readFile(`${dir}${file}`);
    const names: string[] = info.nodes.map((n: { tensorNames: Record<string, string> }) =>
      n.tensorNames[file]
    );
    const { nchw, shape, x } = await inputOf(model);
    const ort = await runOrt(bytes, { data: nchw, shape }, names);
    const g = importOnnx(bytes);
    const tr = runForward(g, x);
    for (const name of names) {
      const node = g.node(name); // by output tensor name (alias)
      assert.equal(g.node(node.name), node); // and by node name
      const err = maxRelError(await nchwValues(tr.get(name)), ort.get(name)!.data);
      assert.ok(err <= 1e-4, `${model} ${name}: max rel. error ${err} vs onnxruntime-web`);
    }
    tr.dispose();
    g.dispose();
    x.dispose();
  }
});

Deno.test("importOnnx(): BN kept imports batchnorm nodes, BN fused has none; names follow the exporter", async () => {
  await useBackend("cpu");
  const kept = importOnnx(await Deno.readFile(`${dir}resnet_basic_kept_op17.onnx`));
  const fused = importOnnx(await Deno.readFile(`${dir}resnet_basic_fused_op17.onnx`));
  assert.ok(kept.byOp("batchnorm").length > 0);
  assert.equal(fused.byOp("batchnorm").length, 0);
  assert.ok(
    kept.has("/layer1/layer1.0/relu2/Relu_output_0") || kept.nodes.some((n) => n.name.startsWith("/layer1")),
  );
  kept.dispose();
  fused.dispose();
});

Deno.test("importOnnx(): bad inputs give one-line errors", async () => {
  await useBackend("cpu");
  const good = await Deno.readFile(`${dir}conv4_leaky_fused_op17.onnx`);
  assert.throws(
    () => importOnnx(good.slice(0, 100)),
    (e: Error) => /^Cannot parse ONNX model/.test(e.message),
  );
  assert.throws(
    () => importOnnx(new TextEncoder().encode("hello world, not a model")),
    /Cannot parse ONNX model/,
  );
  const typed = await Deno.readFile(`${dir}handmade_typed.onnx`);
  assert.throws(() => importOnnx(typed), (e: Error) => {
    assert.ok(e instanceof OnnxImportError);
    assert.equal(e.message.split("\n").length, 1);
    assert.match(e.message, /^Cannot import ONNX/);
    return true;
  });
});
