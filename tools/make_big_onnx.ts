// Writes a ResNet-50-shaped ONNX model with random float32 weights (raw_data) to tools/.big/resnet50.onnx,
// for the core's importOnnx memory/time bench when PyTorch is not at hand (tools/export_onnx_fixtures.py --big
// writes the real torch export to the same path). The layout follows that export: NCHW, opset 17, torch-style
// tensor and node names, Conv(+BatchNormalization)/Relu/MaxPool/Add/GlobalAveragePool/Flatten/Gemm(transB=1).
//
//   npx deno run -A tools/make_big_onnx.ts                  # BN kept as BatchNormalization nodes, 224×224
//   npx deno run -A tools/make_big_onnx.ts --fused          # BN folded into Conv biases (as torch's EVAL export)
//   npx deno run -A tools/make_big_onnx.ts --size 112 --out tools/.big/resnet50_112.onnx --seed 7
//
// Weights are He-uniform (seeded, deterministic); BN statistics are random but keep activations finite.
import { onnxModelProtoType } from "../packages/core/src/import/onnx/onnx_proto.ts";
import { rng } from "../packages/core/src/_testing/reference.ts";

/** Options of {@linkcode makeResnet50Onnx}. */
export interface MakeOptions {
  /** Input height = width (default 224). */
  size?: number;
  /** Fold BN into the convolutions (Conv with bias, no BatchNormalization nodes). Default false. */
  fused?: boolean;
  /** PRNG seed (default 1). */
  seed?: number;
  /** Output classes (default 1000). */
  classes?: number;
}

const FLOAT = 1;
const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

type Attr = { name: string; type: number; f?: number; i?: number; ints?: number[] };
type Node = { input: string[]; output: string[]; name: string; op_type: string; attribute: Attr[] };
type Init = { name: string; dims: number[]; data_type: number; raw_data: Uint8Array };

const ints = (name: string, v: number[]): Attr => ({ name, type: ATTR_INTS, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: ATTR_INT, i: v });
const float = (name: string, v: number): Attr => ({ name, type: ATTR_FLOAT, f: v });

/**
 * Builds the model bytes.
 * @param options Size, BN folding, seed, classes.
 * @returns The encoded `onnx.ModelProto` and its float32 parameter count.
 */
export function makeResnet50Onnx(options: MakeOptions = {}): { bytes: Uint8Array; params: number } {
  const size = options.size ?? 224;
  const fused = options.fused ?? false;
  const classes = options.classes ?? 1000;
  const rand = rng(options.seed ?? 1);
  const nodes: Node[] = [];
  const inits: Init[] = [];
  let params = 0;

  const init = (name: string, dims: number[], fill: (i: number) => number): string => {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = fill(i);
    inits.push({ name, dims, data_type: FLOAT, raw_data: new Uint8Array(data.buffer) });
    params += n;
    return name;
  };
  const uniform = (a: number) => () => (2 * rand() - 1) * a;

  /** Conv (+ BN unless fused) of `x`; `scope` is the torch module path ("layer1.0"), `conv`/`bn` its children. */
  const convBn = (
    x: string,
    scope: string,
    conv: string,
    bn: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
    gamma: number,
  ): string => {
    const path = scope ? `/${scope.split(".")[0]}/${scope}` : "";
    const p = scope ? `${scope}.` : "";
    // Folded BN scales the weights: the same `gamma` keeps the fused model's activations in range too.
    const a = Math.sqrt(6 / (cin * k * k)) * (fused ? gamma : 1);
    const w = init(`${p}${conv}.weight`, [cout, cin, k, k], uniform(a));
    const pad = (k - 1) >> 1;
    const convOut = `${path}/${conv}/Conv_output_0`;
    const inputs = [x, w];
    if (fused) inputs.push(init(`${p}${conv}.bias`, [cout], uniform(0.05)));
    nodes.push({
      input: inputs,
      output: [convOut],
      name: `${path}/${conv}/Conv`,
      op_type: "Conv",
      attribute: [
        ints("dilations", [1, 1]),
        int("group", 1),
        ints("kernel_shape", [k, k]),
        ints("pads", [pad, pad, pad, pad]),
        ints("strides", [stride, stride]),
      ],
    });
    if (fused) return convOut;
    const bnOut = `${path}/${bn}/BatchNormalization_output_0`;
    nodes.push({
      input: [
        convOut,
        init(`${p}${bn}.weight`, [cout], () => gamma * (0.5 + rand())),
        init(`${p}${bn}.bias`, [cout], uniform(0.1)),
        init(`${p}${bn}.running_mean`, [cout], uniform(0.1)),
        init(`${p}${bn}.running_var`, [cout], () => 0.5 + rand()),
      ],
      output: [bnOut],
      name: `${path}/${bn}/BatchNormalization`,
      op_type: "BatchNormalization",
      attribute: [float("epsilon", 1e-5), float("momentum", 0.9), int("training_mode", 0)],
    });
    return bnOut;
  };
  const relu = (x: string, path: string): string => {
    const out = `${path}/Relu_output_0`;
    nodes.push({ input: [x], output: [out], name: `${path}/Relu`, op_type: "Relu", attribute: [] });
    return out;
  };

  // Stem.
  let x = convBn("input", "", "conv1", "bn1", 3, 64, 7, 2, 1);
  x = relu(x, "/relu");
  nodes.push({
    input: [x],
    output: ["/maxpool/MaxPool_output_0"],
    name: "/maxpool/MaxPool",
    op_type: "MaxPool",
    attribute: [
      int("ceil_mode", 0),
      ints("kernel_shape", [3, 3]),
      ints("pads", [1, 1, 1, 1]),
      ints("strides", [2, 2]),
    ],
  });
  x = "/maxpool/MaxPool_output_0";

  // Bottleneck stages [3, 4, 6, 3], widths 64..512, expansion 4, stride on the 3×3 conv (torchvision v1.5).
  let cin = 64;
  const stages: [number, number][] = [[3, 64], [4, 128], [6, 256], [3, 512]];
  stages.forEach(([blocks, width], s) => {
    for (let b = 0; b < blocks; b++) {
      const scope = `layer${s + 1}.${b}`;
      const path = `/layer${s + 1}/${scope}`;
      const stride = b === 0 && s > 0 ? 2 : 1;
      const cout = width * 4;
      let y = relu(convBn(x, scope, "conv1", "bn1", cin, width, 1, 1, 1), `${path}/relu1`);
      y = relu(convBn(y, scope, "conv2", "bn2", width, width, 3, stride, 1), `${path}/relu2`);
      // A small last-BN scale keeps the residual stream's scale bounded over 16 blocks.
      y = convBn(y, scope, "conv3", "bn3", width, cout, 1, 1, 0.2);
      const skip = b === 0 ? convBn(x, scope, "downsample.0", "downsample.1", cin, cout, 1, stride, 1) : x;
      const sum = `${path}/Add_output_0`;
      nodes.push({ input: [y, skip], output: [sum], name: `${path}/Add`, op_type: "Add", attribute: [] });
      x = relu(sum, `${path}/relu3`);
      cin = cout;
    }
  });

  // Head.
  nodes.push({
    input: [x],
    output: ["/avgpool/GlobalAveragePool_output_0"],
    name: "/avgpool/GlobalAveragePool",
    op_type: "GlobalAveragePool",
    attribute: [],
  });
  nodes.push({
    input: ["/avgpool/GlobalAveragePool_output_0"],
    output: ["/Flatten_output_0"],
    name: "/Flatten",
    op_type: "Flatten",
    attribute: [int("axis", 1)],
  });
  nodes.push({
    input: [
      "/Flatten_output_0",
      init("fc.weight", [classes, cin], uniform(Math.sqrt(6 / cin))),
      init("fc.bias", [classes], uniform(0.05)),
    ],
    output: ["output"],
    name: "/fc/Gemm",
    op_type: "Gemm",
    attribute: [float("alpha", 1), float("beta", 1), int("transB", 1)],
  });

  const valueInfo = (name: string, dims: number[]) => ({
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
  });
  const model = {
    ir_version: 8,
    producer_name: "cnnlens-make_big_onnx",
    producer_version: "1",
    opset_import: [{ domain: "", version: 17 }],
    graph: {
      name: "main_graph",
      node: nodes,
      initializer: inits,
      input: [valueInfo("input", [1, 3, size, size])],
      output: [valueInfo("output", [1, classes])],
    },
  };
  const type = onnxModelProtoType();
  return { bytes: type.encode(type.fromObject(model)).finish(), params };
}

if (import.meta.main) {
  const args = Deno.args;
  const opt = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = opt("--out") ?? new URL(".big/resnet50.onnx", import.meta.url).pathname;
  const { bytes, params } = makeResnet50Onnx({
    size: Number(opt("--size") ?? 224),
    fused: args.includes("--fused"),
    seed: Number(opt("--seed") ?? 1),
  });
  Deno.mkdirSync(out.replace(/[^/]*$/, "") || ".", { recursive: true });
  Deno.writeFileSync(out, bytes);
  console.log(
    `${out}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB, ${(params / 1e6).toFixed(2)} M float32 parameters`,
  );
}
