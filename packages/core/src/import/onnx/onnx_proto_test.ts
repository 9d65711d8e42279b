import assert from "node:assert/strict";
import protobuf from "protobufjs";
import {
  decodeModelProto,
  float16BitsToNumber,
  type OnnxModel,
  onnxModelProtoType,
  parseOnnx,
} from "./onnx_proto.ts";
import { ONNX_SCHEMA_JSON } from "./onnx_schema.ts";

const DATA = new URL("../../../testdata/onnx/", import.meta.url);
const dataPath = (f: string) => new URL(f, DATA).pathname;

interface ManifestEntry {
  file: string;
  model: string;
  variant: string;
  irVersion: number;
  opset: number;
  producer: string;
  graphName: string;
  nodeCount: number;
  opHistogram: Record<string, number>;
  initializerCount: number;
  parameterCount: number;
  initializerDims: Record<string, number[]>;
  inputs: { name: string; shape: (number | string | null)[] }[];
  outputs: { name: string; shape: (number | string | null)[] }[];
  dataFile?: string;
  externalInitializers?: string[];
  sameAs?: string;
  initializerValues?: Record<string, (number | string)[]>;
  dataTypes?: Record<string, string>;
  nodeNames?: string[];
  nodeOpTypes?: string[];
}

const manifest: { files: Record<string, ManifestEntry> } = JSON.parse(
  Deno.readTextFileSync(dataPath("manifest.json")),
);

function parseFixture(file: string): OnnxModel {
  const entry = manifest.files[file];
  const externalDataDir = entry?.dataFile ? dataPath(entry.dataFile.replace(/[^/]*$/, "")) : undefined;
  return parseOnnx(Deno.readFileSync(dataPath(file)), { externalDataDir });
}

function assertOneLineParseError(fn: () => unknown, pattern?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SyntaxError, `expected SyntaxError, got ${e}`);
    assert.match(e.message, /^Cannot parse ONNX model: /);
    assert.ok(!e.message.includes("\n"), `message is not one line: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

Deno.test("onnx_schema.ts is the JSON descriptor of onnx.proto (regenerate with tools/gen_onnx_schema.ts)", () => {
  const proto = Deno.readTextFileSync(new URL("./onnx.proto", import.meta.url));
  const fromProto = protobuf.parse(proto, { keepCase: true }).root.toJSON();
  assert.deepEqual(JSON.parse(JSON.stringify(ONNX_SCHEMA_JSON)), JSON.parse(JSON.stringify(fromProto)));
  assert.match(proto, /SPDX-License-Identifier: Apache-2\.0/);
});

Deno.test("the manifest lists every committed .onnx fixture", () => {
  const onDisk: string[] = [];
  for (const e of Deno.readDirSync(DATA)) if (e.name.endsWith(".onnx")) onDisk.push(e.name);
  for (const e of Deno.readDirSync(new URL("external/", DATA))) {
    if (e.name.endsWith(".onnx")) onDisk.push(`external/${e.name}`);
  }
  assert.deepEqual(onDisk.sort(), Object.keys(manifest.files).sort());
  assert.ok(onDisk.length >= 30, `only ${onDisk.length} fixtures`);
});

for (const [file, entry] of Object.entries(manifest.files)) {
  Deno.test(`parseOnnx ${file} matches the python onnx manifest`, () => {
    const m = parseFixture(file);
    assert.equal(m.irVersion, entry.irVersion);
    assert.equal(m.opset, entry.opset);
    assert.equal(m.producer, entry.producer);
    assert.equal(m.graph.name, entry.graphName);
    assert.equal(m.graph.nodes.length, entry.nodeCount);

    const hist: Record<string, number> = {};
    for (const n of m.graph.nodes) hist[n.opType] = (hist[n.opType] ?? 0) + 1;
    assert.deepEqual(hist, entry.opHistogram);

    assert.equal(m.graph.initializers.size, entry.initializerCount);
    let params = 0;
    const dims: Record<string, number[]> = {};
    for (const [name, t] of m.graph.initializers) {
      assert.equal(t.name, name);
      assert.equal(t.data.length, t.dims.reduce((a, b) => a * b, 1), `${name}: data length vs dims`);
      params += t.data.length;
      dims[name] = t.dims;
    }
    assert.equal(params, entry.parameterCount);
    assert.deepEqual(dims, entry.initializerDims);

    assert.deepEqual(m.graph.inputs.map((i) => ({ name: i.name, shape: i.shape })), entry.inputs);
    assert.deepEqual(m.graph.outputs.map((o) => ({ name: o.name, shape: o.shape })), entry.outputs);

    // Structural sanity: unique node names, every input defined before use (graphs are topo-sorted).
    assert.equal(new Set(m.graph.nodes.map((n) => n.name)).size, m.graph.nodes.length);
    const defined = new Set<string>([
      "",
      ...m.graph.initializers.keys(),
      ...m.graph.inputs.map((i) => i.name),
    ]);
    for (const n of m.graph.nodes) {
      for (const i of n.inputs) assert.ok(defined.has(i), `${n.name}: input '${i}' used before definition`);
      for (const o of n.outputs) defined.add(o);
    }
    for (const o of m.graph.outputs) assert.ok(defined.has(o.name), `graph output ${o.name} not produced`);

    if (entry.variant === "fused") {
      for (const t of m.graph.initializers.values()) assert.equal(t.dataType, "float32");
    }
    if (entry.variant === "kept") {
      const bn = m.graph.nodes.find((n) => n.opType === "BatchNormalization")!;
      assert.equal(bn.inputs.length, 5);
      assert.equal(typeof bn.attrs.epsilon, "number");
      assert.ok(Math.abs((bn.attrs.epsilon as number) - 1e-5) < 1e-9);
    }
  });
}

Deno.test("parseOnnx decodes attributes of torch exports", () => {
  const m = parseFixture("resnet_basic_kept_op11.onnx");
  const conv = m.graph.nodes.find((n) => n.name === "/conv1/Conv")!;
  assert.deepEqual(conv.attrs, {
    dilations: [1, 1],
    group: 1,
    kernel_shape: [3, 3],
    pads: [1, 1, 1, 1],
    strides: [1, 1],
  });
  const pool = m.graph.nodes.find((n) => n.opType === "MaxPool")!;
  assert.deepEqual(pool.attrs.kernel_shape, [3, 3]);
  assert.deepEqual(pool.attrs.strides, [2, 2]);
  const gemm = m.graph.nodes.find((n) => n.opType === "Gemm")!;
  assert.equal(gemm.attrs.transB, 1);
  assert.equal(gemm.domain, "");

  // Constant nodes carry TENSOR attributes (Clip bounds of ReLU6 in MobileNetV2).
  const mb = parseFixture("mobilenetv2_025_fused_op17.onnx");
  const constants = mb.graph.nodes.filter((n) => n.opType === "Constant");
  const values = constants.map((n) => {
    const t = n.attrs.value;
    assert.ok(typeof t === "object" && !Array.isArray(t));
    assert.equal(t.dataType, "float32");
    assert.deepEqual(t.dims, []);
    return t.data[0];
  });
  assert.deepEqual([...new Set(values)].sort(), [0, 6]);

  const lr = parseFixture("conv4_leaky_fused_op17.onnx").graph.nodes.find((n) => n.opType === "LeakyRelu")!;
  assert.equal(lr.attrs.alpha, Math.fround(0.1));
});

Deno.test("parseOnnx decodes typed fields, float16, empty node names (handmade model)", () => {
  const entry = manifest.files["handmade_typed.onnx"];
  const m = parseFixture("handmade_typed.onnx");
  const expectedType: Record<string, string> = {
    FLOAT: "float32",
    FLOAT16: "float16",
    DOUBLE: "float64",
    INT64: "int64",
    INT32: "int32",
    UINT8: "uint8",
    BOOL: "bool",
  };
  for (const [name, values] of Object.entries(entry.initializerValues!)) {
    const t = m.graph.initializers.get(name)!;
    assert.equal(t.dataType, expectedType[entry.dataTypes![name]], name);
    if (t.data instanceof BigInt64Array) {
      assert.deepEqual([...t.data].map(String), values, name);
    } else {
      const want = t.data instanceof Float32Array ? values.map((v) => Math.fround(v as number)) : values;
      assert.deepEqual([...t.data], want, name);
    }
  }
  assert.ok(m.graph.initializers.get("w_f16_raw")!.data instanceof Float32Array);
  assert.deepEqual([...m.graph.initializers.get("w_f16_typed")!.data], [1.5, -2, 0.25]);
  assert.equal(m.graph.initializers.get("scalar_raw")!.dims.length, 0);

  // Empty names become `${opType}_${index}`; the others are kept.
  const names = entry.nodeNames!.map((n, i) => n || `${entry.nodeOpTypes![i]}_${i}`);
  assert.deepEqual(m.graph.nodes.map((n) => n.name), names);
  assert.equal(m.graph.nodes[0].name, "Cast_0");
  const byOp = (op: string) => m.graph.nodes.find((n) => n.opType === op)!;
  assert.equal(byOp("Cast").attrs.to, 1);
  const c = byOp("Constant").attrs.value;
  assert.ok(typeof c === "object" && !Array.isArray(c));
  assert.deepEqual(c.dims, [1, 3]);
  assert.deepEqual([...c.data], [1, 2, 3]);
  assert.deepEqual(byOp("Transpose").attrs.perm, [1, 0]);
  assert.deepEqual(byOp("ReduceSum").attrs, { axes: [-1, 0], keepdims: 0 });
  assert.equal(byOp("Pad").attrs.mode, "reflect");
  assert.equal(byOp("LeakyRelu").attrs.alpha, Math.fround(0.2));
  assert.deepEqual(m.graph.inputs, [{ name: "x", shape: ["batch", 2], elemType: "float32" }]);
  assert.deepEqual(m.graph.outputs, [
    { name: "y", shape: [], elemType: "float32" },
    { name: "p", shape: [1, null], elemType: "float32" },
  ]);
});

Deno.test("float16BitsToNumber handles normals, subnormals, zero, inf, nan", () => {
  assert.equal(float16BitsToNumber(0x3c00), 1);
  assert.equal(float16BitsToNumber(0xc000), -2);
  assert.equal(float16BitsToNumber(0x7bff), 65504);
  assert.equal(float16BitsToNumber(0x0001), 2 ** -24);
  assert.ok(Object.is(float16BitsToNumber(0x8000), -0));
  assert.equal(float16BitsToNumber(0x7c00), Infinity);
  assert.equal(float16BitsToNumber(0xfc00), -Infinity);
  assert.ok(Number.isNaN(float16BitsToNumber(0x7e00)));
});

Deno.test("external data loads relative to externalDataDir and equals the inline model", () => {
  const entry = manifest.files["external/conv4_leaky_ext.onnx"];
  const bytes = Deno.readFileSync(dataPath(entry.file));
  const ext = parseOnnx(bytes, { externalDataDir: dataPath("external") });
  const inline = parseFixture(entry.sameAs!);
  assert.equal(ext.graph.initializers.size, inline.graph.initializers.size);
  for (const [name, t] of inline.graph.initializers) {
    assert.deepEqual(ext.graph.initializers.get(name), t, name);
  }
  assert.ok(entry.externalInitializers!.length > 0);

  // A custom reader (e.g. for browsers) gets the joined path, and each file is read once.
  const reads: string[] = [];
  const viaReader = parseOnnx(bytes, {
    externalDataDir: "models/",
    readFile: (p) => {
      reads.push(p);
      return Deno.readFileSync(dataPath("external/conv4_leaky_ext.onnx.data"));
    },
  });
  assert.deepEqual(reads, ["models/conv4_leaky_ext.onnx.data"]);
  assert.deepEqual(viaReader.graph.initializers, inline.graph.initializers);
});

Deno.test("external data: a missing or short data file gives a one-line error", () => {
  const bytes = Deno.readFileSync(dataPath("external/conv4_leaky_ext.onnx"));
  const dir = Deno.makeTempDirSync();
  try {
    assert.throws(
      () => parseOnnx(bytes, { externalDataDir: dir }),
      {
        message:
          `Cannot load ONNX external data: 'conv4_leaky_ext.onnx.data' not found next to the model (expected at ${dir}/conv4_leaky_ext.onnx.data)`,
      },
    );
    Deno.writeFileSync(`${dir}/conv4_leaky_ext.onnx.data`, new Uint8Array(100));
    assert.throws(() => parseOnnx(bytes, { externalDataDir: dir }), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, /^Cannot load ONNX external data: 'conv4_leaky_ext\.onnx\.data' is too short/);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("truncated model bytes give a one-line SyntaxError", () => {
  const bytes = Deno.readFileSync(dataPath("conv4_leaky_kept_op17.onnx"));
  assertOneLineParseError(
    () => parseOnnx(bytes.subarray(0, bytes.length >> 1)),
    /^Cannot parse ONNX model: the file is truncated or not an ONNX protobuf \(byte \d+ of \d+: /,
  );
  // Every cut position fails cleanly (never a TypeError or a half-parsed model).
  for (let cut = 1; cut < bytes.length; cut += 211) {
    assertOneLineParseError(() => parseOnnx(bytes.subarray(0, cut)));
  }
  assertOneLineParseError(() => parseOnnx(bytes.subarray(0, bytes.length - 1)));
  assertOneLineParseError(() => parseOnnx(new Uint8Array(0)), /the file is empty/);
});

Deno.test("random, JSON and ZIP bytes give a one-line SyntaxError", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  for (let k = 0; k < 50; k++) {
    const bytes = Uint8Array.from({ length: 16 + k * 37 }, rand);
    assertOneLineParseError(() => parseOnnx(bytes));
  }
  const json = new TextEncoder().encode('{"format": "layers-model", "modelTopology": {}}');
  assertOneLineParseError(() => parseOnnx(json), /JSON/);
  const zip = Uint8Array.from([0x50, 0x4b, 0x03, 0x04, ...new Uint8Array(60)]);
  assertOneLineParseError(() => parseOnnx(zip), /PyTorch/);
});

Deno.test("a ModelProto without graph or opset_import is rejected", () => {
  const type = onnxModelProtoType();
  const noGraph = type.encode(type.fromObject({ ir_version: 8, opset_import: [{ domain: "", version: 17 }] }))
    .finish();
  assertOneLineParseError(() => parseOnnx(noGraph), /no graph/);
  const noOpset = type.encode(type.fromObject({ ir_version: 8, graph: { name: "g" } })).finish();
  assertOneLineParseError(() => parseOnnx(noOpset), /opset_import/);
  // decodeModelProto gives the raw message (snake_case) for tools that rewrite models.
  const raw = decodeModelProto(Deno.readFileSync(dataPath("vgg_bn_fused_op11.onnx")));
  assert.equal(raw.producer_name, "pytorch");
});
