import assert from "node:assert/strict";
import { loadNpy, type NdArray, type NdArrayData, readNpy, saveNpy, writeNpy } from "./npy.ts";

const FIXTURES = new URL("../../testdata/io/", import.meta.url);

function list(data: NdArrayData): (number | bigint)[] {
  return Array.from(data as ArrayLike<number | bigint>);
}

function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, FIXTURES));
}

/** Builds a .npy file by hand from a header text (padded like NumPy) and raw data bytes. */
function handMade(header: string, data: Uint8Array = new Uint8Array(), major = 1): Uint8Array {
  const preamble = major === 1 ? 10 : 12;
  let text = header;
  while ((preamble + text.length + 1) % 64 !== 0) text += " ";
  text += "\n";
  const out = new Uint8Array(preamble + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[preamble + i] = text.charCodeAt(i);
  out.set(data, preamble + text.length);
  return out;
}

Deno.test("readNpy reads a NumPy float32 2x3x4 array", () => {
  const arr = readNpy(fixture("f32_2x3x4.npy"));
  assert.equal(arr.dtype, "float32");
  assert.deepEqual(arr.shape, [2, 3, 4]);
  assert.ok(arr.data instanceof Float32Array);
  assert.deepEqual(list(arr.data), Array.from({ length: 24 }, (_, i) => i * 0.5 - 1));
});

Deno.test("readNpy reads float64, uint8, int32 and int64 arrays", () => {
  const f64 = readNpy(fixture("f64_2x3.npy"));
  assert.equal(f64.dtype, "float64");
  assert.deepEqual(f64.shape, [2, 3]);
  assert.ok(f64.data instanceof Float64Array);
  assert.deepEqual(list(f64.data), Array.from({ length: 6 }, (_, i) => i / 3 - 1));

  const u8 = readNpy(fixture("u8_2x5.npy"));
  assert.equal(u8.dtype, "uint8");
  assert.deepEqual(u8.shape, [2, 5]);
  assert.deepEqual(Array.from(u8.data as Uint8Array), Array.from({ length: 10 }, (_, i) => i * 25));

  const i32 = readNpy(fixture("i32_4.npy"));
  assert.equal(i32.dtype, "int32");
  assert.deepEqual(Array.from(i32.data as Int32Array), [-(2 ** 31), -1, 0, 2 ** 31 - 1]);

  const i64 = readNpy(fixture("i64_5.npy"));
  assert.equal(i64.dtype, "int64");
  assert.deepEqual(i64.shape, [5]);
  assert.ok(i64.data instanceof BigInt64Array);
  assert.deepEqual(list(i64.data), [-(2n ** 62n), -3n, 0n, 7n, 2n ** 40n + 1n]);
});

Deno.test("readNpy reads format 2.0 and 3.0 headers", () => {
  for (const name of ["f32_3x2_v2.npy", "f32_3x2_v3.npy"]) {
    const bytes = fixture(name);
    assert.equal(bytes[6], name.includes("v2") ? 2 : 3);
    const arr = readNpy(bytes);
    assert.deepEqual(arr.shape, [3, 2]);
    assert.deepEqual(Array.from(arr.data as Float32Array), [0, 0.25, 0.5, 0.75, 1, 1.25]);
  }
});

Deno.test("readNpy reads a scalar and an empty array", () => {
  const scalar = readNpy(fixture("f64_scalar.npy"));
  assert.deepEqual(scalar.shape, []);
  assert.deepEqual(Array.from(scalar.data as Float64Array), [3.25]);
  const empty = readNpy(fixture("f32_0x3.npy"));
  assert.deepEqual(empty.shape, [0, 3]);
  assert.equal(empty.data.length, 0);
});

Deno.test("readNpy rejects Fortran order and big-endian data with clear errors", () => {
  assert.throws(
    () => readNpy(fixture("f32_2x3_fortran.npy"), "f.npy"),
    (e: Error) => e instanceof TypeError && /^Cannot read \.npy 'f\.npy': fortran_order=True/.test(e.message),
  );
  assert.throws(
    () => readNpy(fixture("f4_big_endian.npy")),
    (e: Error) => e instanceof TypeError && e.message.includes("big-endian dtype '>f4' is not supported"),
  );
});

Deno.test("writeNpy output is byte-identical to numpy.save", () => {
  const f32 = { data: Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 1), shape: [2, 3, 4] };
  assert.deepEqual(writeNpy({ ...f32, dtype: "float32" }), fixture("f32_2x3x4.npy"));
  // Every C-ordered fixture that numpy.save wrote must be reproduced exactly after a read.
  for (
    const name of ["f64_2x3.npy", "u8_2x5.npy", "i32_4.npy", "i64_5.npy", "f64_scalar.npy", "f32_0x3.npy"]
  ) {
    const bytes = fixture(name);
    assert.deepEqual(writeNpy(readNpy(bytes)), bytes, name);
  }
});

Deno.test("writeNpy then readNpy round-trips every dtype, including subarray views", () => {
  const backing = new Float64Array([9, 1.5, -2.25, 1e300, 9]);
  const cases: NdArray[] = [
    { data: new Float32Array([1.5, -0, Infinity, NaN]), shape: [2, 2], dtype: "float32" },
    { data: backing.subarray(1, 4), shape: [3], dtype: "float64" },
    { data: new Uint8Array([0, 255, 7]), shape: [1, 3, 1], dtype: "uint8" },
    { data: new Int32Array([-5, 6]), shape: [2], dtype: "int32" },
    { data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]), shape: [2], dtype: "int64" },
    { data: new Float32Array([7]), shape: [], dtype: "float32" },
  ];
  for (const arr of cases) {
    const bytes = writeNpy(arr);
    assert.equal((bytes[8] | (bytes[9] << 8)) % 64, 54, "header + preamble is a multiple of 64");
    assert.equal(bytes[10 + (bytes[8] | (bytes[9] << 8)) - 1], 0x0a, "header ends in a newline");
    const back = readNpy(bytes);
    assert.equal(back.dtype, arr.dtype);
    assert.deepEqual(back.shape, arr.shape);
    assert.deepEqual(list(back.data), list(arr.data));
  }
});

Deno.test("saveNpy writes atomically and loadNpy reads it back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/map.npy`;
    const arr: NdArray = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3], dtype: "float32" };
    await saveNpy(path, arr);
    await saveNpy(path, { ...arr, data: new Float32Array([6, 5, 4, 3, 2, 1]) });
    const back = await loadNpy(path);
    assert.deepEqual(list(back.data), [6, 5, 4, 3, 2, 1]);
    const names = Array.from(Deno.readDirSync(dir), (e) => e.name);
    assert.deepEqual(names, ["map.npy"], "no temporary files are left behind");
    await assert.rejects(
      () => saveNpy(path, { ...arr, shape: [4] }),
      (e: Error) => e instanceof RangeError,
    );
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name), ["map.npy"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readNpy rejects malformed files with one-line messages", () => {
  const data = new Uint8Array(8);
  const good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const cases: [Uint8Array, ErrorConstructor, string][] = [
    [new Uint8Array(), RangeError, "Cannot read .npy: file is 0 bytes, too short for the .npy magic string"],
    [
      new TextEncoder().encode("PK\x03\x04 zip archive"),
      SyntaxError,
      "Cannot read .npy: not a .npy file (starts with 0x504b0304207a)",
    ],
    [
      handMade(good, data).slice(0, 9),
      RangeError,
      "Cannot read .npy: file is 9 bytes, too short for the .npy preamble",
    ],
    [
      (() => {
        const b = handMade(good, data);
        b[6] = 9;
        return b;
      })(),
      SyntaxError,
      "Cannot read .npy: unsupported format version 9.0 (expected 1.0, 2.0 or 3.0)",
    ],
    [
      handMade(good, data).slice(0, 40),
      RangeError,
      "Cannot read .npy: header declares 118 bytes of header but only 30 remain",
    ],
    [
      handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (10, 10), }", new Uint8Array(100)),
      RangeError,
      "Cannot read .npy: header declares 400 bytes of data but only 100 remain",
    ],
    [
      handMade("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", data),
      TypeError,
      "unsupported dtype",
    ],
    [
      handMade("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", data),
      TypeError,
      "structured",
    ],
    [
      handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", data),
      RangeError,
      "shape entry -1",
    ],
    [
      handMade("{'descr': '<f4', 'shape': (2,), }", data),
      SyntaxError,
      "'fortran_order' must be True or False",
    ],
    [
      handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data),
      SyntaxError,
      "key 'x'",
    ],
    [
      handMade("{'descr': '<f4', 'fortran_order': False, 'shape': (2,", data),
      SyntaxError,
      "malformed header",
    ],
    [
      handMade("{'descr': '<f4' 'fortran_order': False}", data),
      SyntaxError,
      "expected ',' or '}' at character 16",
    ],
    [handMade("['descr', '<f4']", data), SyntaxError, "header is not a dictionary"],
  ];
  for (const [bytes, type, message] of cases) {
    assert.throws(() => readNpy(bytes), (e: Error) => {
      assert.ok(e instanceof type, `${e.constructor.name}: ${e.message} should be a ${type.name}`);
      assert.ok(
        e.message.includes(message),
        `${JSON.stringify(e.message)} should include ${JSON.stringify(message)}`,
      );
      assert.ok(!e.message.includes("\n"), "message is one line");
      return true;
    });
  }
});

Deno.test("readNpy accepts hand-made v2 headers, Python 2 long shapes and double quotes", () => {
  const data = new Uint8Array(new Float32Array([1, 2]).buffer);
  const v2 = readNpy(handMade(`{"descr": "<f4", "fortran_order": False, "shape": (2L,)}`, data, 2));
  assert.deepEqual(v2.shape, [2]);
  assert.deepEqual(Array.from(v2.data as Float32Array), [1, 2]);
});

Deno.test("writeNpy rejects inconsistent arrays", () => {
  assert.throws(
    () => writeNpy({ data: new Float64Array(2), shape: [2], dtype: "float32" }),
    {
      name: "TypeError",
      message: "Cannot write .npy: dtype 'float32' needs a Float32Array, got Float64Array",
    },
  );
  assert.throws(
    () => writeNpy({ data: new Float32Array(5), shape: [2, 3], dtype: "float32" }),
    { name: "RangeError", message: "Cannot write .npy: shape (2, 3) holds 6 elements but data has 5" },
  );
  assert.throws(
    () => writeNpy({ data: new Float32Array(1), shape: [1.5], dtype: "float32" }),
    { name: "RangeError" },
  );
  assert.throws(
    () => writeNpy({ data: new Int16Array(1), shape: [1], dtype: "int16" } as unknown as NdArray),
    { name: "TypeError", message: 'Cannot write .npy: unsupported dtype "int16"' },
  );
});
