// How initializer values travel from the model bytes to the tf tensors: views where the raw data is aligned,
// exactly one copy where not, no float64 round trip, and values identical to a plain decode in every case.
import assert from "node:assert/strict";
import { tf } from "../../tf.ts";
import { useBackend } from "../../backend/backend.ts";
import { runForward } from "../../exec/forward.ts";
import { decodeModelProto, onnxModelProtoType, parseOnnx, parseOnnxLazy } from "./onnx_proto.ts";
import { importOnnx, onnxToGraph } from "./onnx_to_graph.ts";

const FLOAT = 1, INT64 = 7, INT32 = 6, UINT8 = 2, FLOAT16 = 10, DOUBLE = 11;

interface Init {
  name: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: number[];
}
type Node = { input: string[]; output: string[]; name: string; op_type: string; attribute?: unknown[] };

function encodeModel(nodes: Node[], inits: Init[], input: number[], output: number[]): Uint8Array {
  const vi = (name: string, dims: number[]) => ({
    name,
    type: { tensor_type: { elem_type: FLOAT, shape: { dim: dims.map((d) => ({ dim_value: d })) } } },
  });
  const type = onnxModelProtoType();
  return type.encode(type.fromObject({
    ir_version: 8,
    opset_import: [{ domain: "", version: 17 }],
    graph: {
      name: "g",
      node: nodes,
      initializer: inits,
      input: [vi("x", input)],
      output: [vi(nodes[nodes.length - 1].output[0], output)],
    },
  })).finish();
}

const raw = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();
/** Values with full float64 mantissas (so float32 rounding shows), deterministic. */
const f64Values = (n: number, k = 1) => Array.from({ length: n }, (_, i) => Math.sin(k * 7.3 + i * 1.9) / 3);
/** The same model bytes at byte offset `shift` of a larger buffer (moves every raw_data's alignment). */
function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const buf = new Uint8Array(bytes.length + 16);
  buf.set(bytes, shift);
  return buf.subarray(shift, shift + bytes.length);
}

// A parse-only model: one initializer of each raw-storable type, plus float16 raw.
const parseInits = {
  f32: Float32Array.from(f64Values(7, 1)),
  f64: Float64Array.from(f64Values(5, 2)),
  i64: BigInt64Array.from([1n, -2n, 2n ** 40n, -(2n ** 62n)]),
  i32: Int32Array.from([7, -8, 2 ** 30, -(2 ** 31)]),
  u8: Uint8Array.from([0, 1, 200, 255, 3]),
  f16: Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff]), // 1, -2, 0.333251953125, 2^-24, 65504
};
const f16Values = [1, -2, 0.333251953125, 2 ** -24, 65504];
const parseModelBytes = encodeModel(
  [{ input: ["x"], output: ["y"], name: "id", op_type: "Identity" }],
  [
    { name: "f32", dims: [7], data_type: FLOAT, raw_data: raw(parseInits.f32) },
    { name: "f64", dims: [5], data_type: DOUBLE, raw_data: raw(parseInits.f64) },
    { name: "i64", dims: [4], data_type: INT64, raw_data: raw(parseInits.i64) },
    { name: "i32", dims: [4], data_type: INT32, raw_data: raw(parseInits.i32) },
    { name: "u8", dims: [5], data_type: UINT8, raw_data: raw(parseInits.u8) },
    { name: "f16", dims: [5], data_type: FLOAT16, raw_data: raw(parseInits.f16) },
  ],
  [1],
  [1],
);
const elemSize: Record<string, number> = { f32: 4, f64: 8, i64: 8, i32: 4, u8: 1, f16: 2 };

Deno.test("parseOnnx: raw_data becomes a view on the input buffer when aligned, one exact copy when not", () => {
  const seen = { view: new Set<string>(), copy: new Set<string>() };
  for (let shift = 0; shift < 8; shift++) {
    const bytes = shifted(parseModelBytes, shift);
    const offsets = new Map<string, number>();
    for (const t of decodeModelProto(bytes).graph!.initializer!) {
      assert.equal(t.raw_data!.buffer, bytes.buffer); // the decoder itself does not copy
      offsets.set(t.name!, t.raw_data!.byteOffset);
    }
    const m = parseOnnx(bytes);
    for (const [name, t] of m.graph.initializers) {
      const want = name === "f16" ? f16Values : [...parseInits[name as keyof typeof parseInits]];
      assert.deepEqual([...t.data], want, `${name} @${shift}`);
      const aligned = name !== "f16" && offsets.get(name)! % elemSize[name] === 0;
      if (aligned) {
        assert.equal(t.data.buffer, bytes.buffer, `${name} @${shift} should be a view`);
        assert.equal(t.data.byteOffset, offsets.get(name));
        seen.view.add(name);
      } else {
        assert.notEqual(t.data.buffer, bytes.buffer, `${name} @${shift} should be a copy`);
        assert.equal(t.data.byteOffset, 0);
        assert.equal(t.data.buffer.byteLength, t.data.byteLength, `${name} @${shift}: copy is exactly sized`);
        seen.copy.add(name);
      }
    }
    assert.equal(m.graph.initializers.get("f16")!.dataType, "float16");
    assert.ok(m.graph.initializers.get("f16")!.data instanceof Float32Array);
  }
  // Over 8 shifts every multi-byte type was seen both ways; uint8 is always a view, float16 always converted.
  assert.deepEqual([...seen.view].sort(), ["f32", "f64", "i32", "i64", "u8"]);
  assert.deepEqual([...seen.copy].sort(), ["f16", "f32", "f64", "i32", "i64"]);
});

Deno.test("parseOnnxLazy: shared views when aligned, a fresh copy per read or one into the scratch when not", () => {
  for (let shift = 0; shift < 4; shift++) {
    const bytes = shifted(parseModelBytes, shift);
    const lazy = parseOnnxLazy(bytes).graph.initializers;
    const eager = parseOnnx(bytes).graph.initializers;
    const t = lazy.get("f32")!;
    const [a, b] = [t.read(), t.read()];
    assert.deepEqual([...a], [...parseInits.f32]);
    assert.deepEqual([...a], [...eager.get("f32")!.data]);
    if (t.shared) {
      // Aligned: both reads are views on the caller's bytes, nothing copied.
      assert.equal(a.buffer, bytes.buffer);
      assert.equal(b.buffer, bytes.buffer);
    } else {
      // Unaligned: each read is its own exactly-sized copy (nothing cached) ...
      assert.notEqual(a.buffer, b.buffer);
      assert.equal(a.buffer.byteLength, 7 * 4);
      // ... or goes into the caller's scratch when it fits (and a fresh array when it does not).
      const scratch = new ArrayBuffer(64);
      const c = t.read(scratch);
      assert.equal(c.buffer, scratch);
      assert.deepEqual([...c], [...parseInits.f32]);
      assert.notEqual(t.read(new ArrayBuffer(8)).buffer.byteLength, 8);
    }
    // float16 is converted, so never shared; a scratch is not used for it.
    const h = lazy.get("f16")!;
    assert.equal(h.shared, false);
    assert.deepEqual([...h.read(new ArrayBuffer(64))], f16Values);
    // Checks still happen at parse time: a raw_data of the wrong size fails before any read.
    assert.equal(lazy.get("f64")!.dims[0], 5);
  }
  const bad = encodeModel(
    [{ input: ["x"], output: ["y"], name: "id", op_type: "Identity" }],
    [{ name: "w", dims: [3], data_type: FLOAT, raw_data: new Uint8Array(8) }],
    [1],
    [1],
  );
  assert.throws(() => parseOnnxLazy(bad), /Cannot load ONNX tensor 'w': raw_data has 8 bytes, expected 12/);
});

// An importable model whose weights cover every path: float32 raw (aligned or not, by shift), float16 raw,
// float64 raw, int64 typed, float32 typed; Conv (transposed), BN and biases (kept as is), a 4-D constant
// operand (transposed), Gemm without transB (kept as is), then Gemm with transB and alpha/beta.
const W = {
  conv: Float32Array.from(f64Values(3 * 2 * 3 * 3, 3)), // [3, 2, 3, 3]
  convBias: Uint16Array.from([0x3800, 0xbd00, 0x4000]), // float16: 0.5, -1.25, 2
  bnScale: f64Values(3, 4), // float64
  bnBias: Float32Array.from(f64Values(3, 5)),
  bnMean: [1, -2, 3], // int64 typed
  bnVar: [0.5, 1.5, 2.25], // float32 typed (float_data)
  addC: Float32Array.from(f64Values(3, 6)), // [1, 3, 1, 1]
  fc1: Float32Array.from(f64Values(3 * 5, 9)), // [3, 5], no transB (kept as is)
  fc2: f64Values(4 * 5, 7), // float64 [4, 5], transB (read via the scratch after fc1: must not clobber it)
  fc2Bias: Float32Array.from(f64Values(4, 8)),
};
// Not powers of two, so a float32 rounding before the scaling would show. As float attributes they arrive
// float32-rounded.
const [ALPHA, BETA] = [Math.fround(0.3), Math.fround(1.7)];
const importBytes = encodeModel(
  [
    {
      input: ["x", "conv.w", "conv.b"],
      output: ["c"],
      name: "conv",
      op_type: "Conv",
      attribute: [
        { name: "kernel_shape", type: 7, ints: [3, 3] },
        { name: "pads", type: 7, ints: [1, 1, 1, 1] },
      ],
    },
    {
      input: ["c", "bn.s", "bn.b", "bn.m", "bn.v"],
      output: ["b"],
      name: "bn",
      op_type: "BatchNormalization",
    },
    { input: ["b", "add.c"], output: ["a"], name: "add", op_type: "Add" },
    { input: ["a"], output: ["r"], name: "relu", op_type: "Relu" },
    { input: ["r"], output: ["p"], name: "gap", op_type: "GlobalAveragePool" },
    { input: ["p"], output: ["f"], name: "flat", op_type: "Flatten" },
    { input: ["f", "fc1.w"], output: ["g1"], name: "fc1", op_type: "Gemm" },
    {
      input: ["g1", "fc2.w", "fc2.b"],
      output: ["y"],
      name: "fc2",
      op_type: "Gemm",
      attribute: [
        { name: "transB", type: 2, i: 1 },
        { name: "alpha", type: 1, f: ALPHA },
        { name: "beta", type: 1, f: BETA },
      ],
    },
  ],
  [
    { name: "conv.w", dims: [3, 2, 3, 3], data_type: FLOAT, raw_data: raw(W.conv) },
    { name: "conv.b", dims: [3], data_type: FLOAT16, raw_data: raw(W.convBias) },
    { name: "bn.s", dims: [3], data_type: DOUBLE, raw_data: raw(Float64Array.from(W.bnScale)) },
    { name: "bn.b", dims: [3], data_type: FLOAT, raw_data: raw(W.bnBias) },
    { name: "bn.m", dims: [3], data_type: INT64, int64_data: W.bnMean },
    { name: "bn.v", dims: [3], data_type: FLOAT, float_data: W.bnVar },
    { name: "add.c", dims: [1, 3, 1, 1], data_type: FLOAT, raw_data: raw(W.addC) },
    { name: "fc1.w", dims: [3, 5], data_type: FLOAT, raw_data: raw(W.fc1) },
    { name: "fc2.w", dims: [4, 5], data_type: DOUBLE, raw_data: raw(Float64Array.from(W.fc2)) },
    { name: "fc2.b", dims: [4], data_type: FLOAT, raw_data: raw(W.fc2Bias) },
  ],
  [1, 2, 4, 4],
  [1, 4],
);

/** What each parameter must hold (float32-rounded as a plain float64 decode + Float32Array.from gives). */
function expectedParams(): Record<string, number[]> {
  const f = (a: ArrayLike<number>) => Array.from(a, Math.fround);
  const convHwio: number[] = [];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      for (let c = 0; c < 2; c++) {
        for (let o = 0; o < 3; o++) convHwio.push(W.conv[((o * 2 + c) * 3 + i) * 3 + j]);
      }
    }
  }
  const fc2T: number[] = []; // [5, 4] = transpose of [4, 5], times alpha (in float64, then rounded)
  for (let i = 0; i < 5; i++) for (let o = 0; o < 4; o++) fc2T.push(Math.fround(W.fc2[o * 5 + i] * ALPHA));
  return {
    "conv.weight": convHwio,
    "conv.bias": [0.5, -1.25, 2],
    "bn.scale": f(W.bnScale),
    "bn.shift": [...W.bnBias],
    "bn.mean": W.bnMean,
    "bn.variance": f(W.bnVar),
    "add/add.c.value": [...W.addC],
    "fc1.weight": [...W.fc1],
    "fc2.weight": fc2T,
    "fc2.bias": Array.from(W.fc2Bias, (v) => Math.fround(v * BETA)),
  };
}

Deno.test("importOnnx: weights equal a plain decode for every storage and alignment, and own their storage (cpu, wasm)", async () => {
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    await importedWeightsOwnTheirStorage(backend);
  }
});

async function importedWeightsOwnTheirStorage(backend: string) {
  const want = expectedParams();
  const x = tf.tidy(() => tf.reshape(tf.range(0, 32, 1, "float32").div(7), [1, 4, 4, 2]));
  let reference: Float32Array | undefined;
  for (let shift = 0; shift < 8; shift++) {
    const bytes = shifted(importBytes, shift);
    for (
      const [how, g] of [["importOnnx", importOnnx(bytes)], [
        "onnxToGraph",
        onnxToGraph(parseOnnx(bytes)),
      ]] as const
    ) {
      // The tensors keep no view on the model bytes (and no shared scratch): wiping the bytes changes nothing.
      const saved = bytes.slice();
      bytes.fill(0);
      const got: Record<string, number[]> = {};
      for (const n of g.nodes) {
        for (const [k, t] of Object.entries(n.params)) got[`${n.name}.${k}`] = [...(await t.data())];
      }
      assert.deepEqual(got, want, `${backend} ${how} @${shift}`);
      const tr = runForward(g, x, { keep: [] });
      const y = tr.get(g.output);
      assert.deepEqual(y.shape, [1, 4]);
      const out = (await y.data()) as Float32Array;
      tr.dispose();
      assert.ok(out.every(Number.isFinite));
      reference ??= out;
      assert.deepEqual([...out], [...reference], `${backend} ${how} @${shift}: same output`);
      bytes.set(saved);
      g.dispose();
    }
  }
  x.dispose();
}

Deno.test("importOnnx: float32 weights are never widened to float64 (only folded shape constants are)", async () => {
  await useBackend("cpu");
  const bytes = Deno.readFileSync(
    new URL("../../../testdata/onnx/resnet_bottleneck_kept_op17.onnx", import.meta.url),
  );
  // Count the float64 elements allocated during the import (typed-array subclasses count `from`/`of` too).
  const Original = globalThis.Float64Array;
  let elements = 0;
  class Counting extends Original {
    // deno-lint-ignore no-explicit-any
    constructor(...args: any[]) {
      super(...(args as []));
      elements += this.length;
    }
  }
  globalThis.Float64Array = Counting as unknown as Float64ArrayConstructor;
  let g;
  try {
    g = importOnnx(bytes);
  } finally {
    globalThis.Float64Array = Original;
  }
  const params = g.parameterCount();
  g.dispose();
  assert.ok(params > 10000, `${params} parameters`);
  assert.ok(elements <= 16, `${elements} float64 elements allocated for ${params} float32 parameters`);
});
