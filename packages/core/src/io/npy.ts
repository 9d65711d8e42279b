/**
 * Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) as typed arrays.
 *
 * Supported element types are the little-endian `'<f4'`, `'<f8'`, `'|u1'`, `'<i4'` and `'<i8'`, in C
 * (row-major) order. Arrays saved with `fortran_order: True`, big-endian data, structured dtypes and
 * object arrays are rejected with a one-line error naming the offending header value.
 * @module
 */
import { writeFileAtomic } from "./atomic_write.ts";

/** Element types that {@link readNpy} and {@link writeNpy} understand. */
export type NpyDtype = "float32" | "float64" | "uint8" | "int32" | "int64";

/** Typed-array storage of an {@link NdArray}; the constructor always matches the array's `dtype`. */
export type NdArrayData = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;

/**
 * A dense, C-ordered n-dimensional array: `data[i]` holds the element whose row-major flat index is
 * `i`. A scalar has `shape: []` and one element.
 */
export interface NdArray {
  /** Elements in row-major order; `Float32Array` for `"float32"`, `BigInt64Array` for `"int64"`, etc. */
  data: NdArrayData;
  /** Axis lengths; `[]` for a scalar. */
  shape: number[];
  /** Element type, matching the constructor of `data`. */
  dtype: NpyDtype;
}

interface DtypeInfo {
  descr: string;
  itemSize: number;
  make: (buffer: ArrayBuffer, length: number) => NdArrayData;
  ctor: { name: string; prototype: unknown };
}

const DTYPES: Record<NpyDtype, DtypeInfo> = {
  float32: { descr: "<f4", itemSize: 4, make: (b, n) => new Float32Array(b, 0, n), ctor: Float32Array },
  float64: { descr: "<f8", itemSize: 8, make: (b, n) => new Float64Array(b, 0, n), ctor: Float64Array },
  uint8: { descr: "|u1", itemSize: 1, make: (b, n) => new Uint8Array(b, 0, n), ctor: Uint8Array },
  int32: { descr: "<i4", itemSize: 4, make: (b, n) => new Int32Array(b, 0, n), ctor: Int32Array },
  int64: { descr: "<i8", itemSize: 8, make: (b, n) => new BigInt64Array(b, 0, n), ctor: BigInt64Array },
};

/** Accepted header `descr` strings. One-byte types carry no byte order, so every prefix is fine. */
const DESCR_TO_DTYPE: Record<string, NpyDtype> = {
  "<f4": "float32",
  "<f8": "float64",
  "|u1": "uint8",
  "<u1": "uint8",
  ">u1": "uint8",
  "=u1": "uint8",
  "<i4": "int32",
  "<i8": "int64",
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;
/** NumPy leaves room for the first axis to grow to this many digits without rewriting the header. */
const GROWTH_AXIS_MAX_DIGITS = 21;
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Parses the bytes of a `.npy` file.
 *
 * Trailing bytes after the declared data are ignored, as `numpy.load` does. The returned array owns a
 * fresh, aligned buffer (it never aliases `bytes`).
 *
 * @param bytes The complete file contents.
 * @param pathForMessages Optional file name to quote in error messages.
 * @returns The decoded array.
 * @throws {SyntaxError} If the magic string or header dictionary is malformed.
 * @throws {RangeError} If the header or data is truncated, or a shape entry is invalid.
 * @throws {TypeError} If the dtype is unsupported or the array is Fortran-ordered.
 * @example
 * ```ts ignore
 * const arr = readNpy(await Deno.readFile("weights.npy"));
 * console.log(arr.dtype, arr.shape, arr.data[0]);
 * ```
 */
export function readNpy(bytes: Uint8Array, pathForMessages?: string): NdArray {
  const what = pathForMessages === undefined ? "Cannot read .npy" : `Cannot read .npy '${pathForMessages}'`;
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`${what}: expected a Uint8Array, got ${describe(bytes)}`);
  }
  for (let i = 0; i < MAGIC.length; i++) {
    if (i >= bytes.length) {
      throw new RangeError(`${what}: file is ${bytes.length} bytes, too short for the .npy magic string`);
    }
    if (bytes[i] !== MAGIC[i]) {
      throw new SyntaxError(`${what}: not a .npy file (starts with ${hexPrefix(bytes, 6)})`);
    }
  }
  if (bytes.length < 10) {
    throw new RangeError(`${what}: file is ${bytes.length} bytes, too short for the .npy preamble`);
  }
  const major = bytes[6], minor = bytes[7];
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    throw new SyntaxError(`${what}: unsupported format version ${major}.${minor} (expected 1.0, 2.0 or 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthSize) {
    throw new RangeError(
      `${what}: file is ${bytes.length} bytes, too short for the version ${major}.0 preamble`,
    );
  }
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthSize;
  const remaining = bytes.length - headerStart;
  if (headerLength > remaining) {
    throw new RangeError(
      `${what}: header declares ${headerLength} bytes of header but only ${remaining} remain`,
    );
  }
  const headerBytes = bytes.subarray(headerStart, headerStart + headerLength);
  const headerText = major === 3 ? decodeUtf8(headerBytes, what) : decodeLatin1(headerBytes);
  const header = parseHeader(headerText, what);

  const dtype = DESCR_TO_DTYPE[header.descr];
  if (dtype === undefined) {
    throw new TypeError(`${what}: ${dtypeProblem(header.descr)}`);
  }
  if (header.fortranOrder) {
    throw new TypeError(
      `${what}: fortran_order=True is not supported (shape ${shapeRepr(header.shape)}); ` +
        `save a C-ordered copy with numpy.ascontiguousarray`,
    );
  }
  const info = DTYPES[dtype];
  const count = header.shape.reduce((a, b) => a * b, 1);
  const byteCount = count * info.itemSize;
  if (!Number.isSafeInteger(byteCount)) {
    throw new RangeError(`${what}: shape ${shapeRepr(header.shape)} is too large`);
  }
  const dataStart = headerStart + headerLength;
  const dataRemaining = bytes.length - dataStart;
  if (byteCount > dataRemaining) {
    throw new RangeError(
      `${what}: header declares ${byteCount} bytes of data but only ${dataRemaining} remain`,
    );
  }
  const copy = bytes.slice(dataStart, dataStart + byteCount);
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(copy, info.itemSize);
  return { data: info.make(copy.buffer, count), shape: header.shape, dtype };
}

/**
 * Serialises an array as a `.npy` file (format 1.0, or 2.0 if the header would not fit), byte-for-byte
 * as `numpy.save` writes it: the header dictionary lists `descr`, `fortran_order` and `shape`, leaves
 * NumPy's spare room for the first axis to grow, and is padded with spaces and a final newline so the
 * data starts at a multiple of 64 bytes.
 *
 * @param arr The array to write; `data` must match `dtype` and hold exactly `product(shape)` elements.
 * @returns The file contents.
 * @throws {TypeError} If `dtype` is unknown or `data` is of the wrong typed-array type.
 * @throws {RangeError} If `shape` is invalid or does not match `data.length`.
 * @example
 * ```ts
 * const bytes = writeNpy({ data: new Float32Array([1, 2, 3, 4]), shape: [2, 2], dtype: "float32" });
 * ```
 */
export function writeNpy(arr: NdArray): Uint8Array {
  const what = "Cannot write .npy";
  if (arr === null || typeof arr !== "object") {
    throw new TypeError(`${what}: expected an NdArray, got ${describe(arr)}`);
  }
  const info = (DTYPES as Record<string, DtypeInfo | undefined>)[arr.dtype];
  if (info === undefined) {
    throw new TypeError(`${what}: unsupported dtype ${JSON.stringify(arr.dtype)}`);
  }
  if (Object.getPrototypeOf(arr.data) !== info.ctor.prototype) {
    throw new TypeError(`${what}: dtype '${arr.dtype}' needs a ${info.ctor.name}, got ${describe(arr.data)}`);
  }
  if (!Array.isArray(arr.shape) || !arr.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new RangeError(
      `${what}: shape must be an array of non-negative integers, got ${describe(arr.shape)}`,
    );
  }
  const count = arr.shape.reduce((a, b) => a * b, 1);
  if (count !== arr.data.length) {
    throw new RangeError(
      `${what}: shape ${shapeRepr(arr.shape)} holds ${count} elements but data has ${arr.data.length}`,
    );
  }

  let header = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${shapeRepr(arr.shape)}, }`;
  if (arr.shape.length > 0) {
    header += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(arr.shape[0]).length));
  }
  let major = 1;
  let preamble = 10;
  let padded = paddedHeaderLength(header.length, preamble);
  if (padded > 0xffff) {
    major = 2;
    preamble = 12;
    padded = paddedHeaderLength(header.length, preamble);
  }

  const dataStart = preamble + padded;
  const out = new Uint8Array(dataStart + arr.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  for (let i = 0; i < header.length; i++) out[preamble + i] = header.charCodeAt(i);
  out.fill(0x20, preamble + header.length, dataStart - 1);
  out[dataStart - 1] = 0x0a;
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), dataStart);
  if (!HOST_IS_LITTLE_ENDIAN) swapBytes(out.subarray(dataStart), info.itemSize);
  return out;
}

/**
 * Reads a `.npy` file from disk.
 *
 * @param path File path.
 * @returns The decoded array.
 * @throws Whatever {@link readNpy} throws, with `path` quoted in the message; file-system errors as-is.
 * @example
 * ```ts ignore
 * const saliency = await loadNpy("out/gradcam.npy");
 * ```
 */
export async function loadNpy(path: string): Promise<NdArray> {
  return readNpy(await Deno.readFile(path), path);
}

/**
 * Writes an array to a `.npy` file atomically (temporary file `<path>.tmp-<random>`, then rename), so a
 * reader never sees a partially written file.
 *
 * @param path Destination path.
 * @param arr The array to write.
 * @returns A promise that resolves once the file is in place.
 * @throws Whatever {@link writeNpy} throws; file-system errors as-is.
 * @example
 * ```ts ignore
 * await saveNpy("out/map.npy", { data: new Float32Array(49), shape: [7, 7], dtype: "float32" });
 * ```
 */
export async function saveNpy(path: string, arr: NdArray): Promise<void> {
  await writeFileAtomic(path, writeNpy(arr));
}

function paddedHeaderLength(textLength: number, preamble: number): number {
  const withNewline = textLength + 1;
  const pad = ALIGN - ((preamble + withNewline) % ALIGN);
  return withNewline + pad;
}

function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(", ")})`;
}

function dtypeProblem(descr: string): string {
  const swapped = descr.startsWith(">") ? DESCR_TO_DTYPE[`<${descr.slice(1)}`] : undefined;
  if (swapped !== undefined) {
    return `big-endian dtype '${descr}' is not supported (convert with arr.astype('<${descr.slice(1)}'))`;
  }
  return `unsupported dtype ${JSON.stringify(descr)} (expected one of '<f4', '<f8', '|u1', '<i4', '<i8')`;
}

function swapBytes(bytes: Uint8Array, itemSize: number): void {
  if (itemSize === 1) return;
  for (let i = 0; i + itemSize <= bytes.length; i += itemSize) {
    bytes.subarray(i, i + itemSize).reverse();
  }
}

function decodeLatin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new SyntaxError(`${what}: version 3.0 header is not valid UTF-8`);
  }
}

function hexPrefix(bytes: Uint8Array, n: number): string {
  const head = Array.from(bytes.subarray(0, n), (b) => b.toString(16).padStart(2, "0")).join("");
  return head.length === 0 ? "nothing: the file is empty" : `0x${head}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `[${value.map((v) => describe(v)).join(", ")}]`;
  if (typeof value === "object") return (value as object).constructor?.name ?? "object";
  if (typeof value === "string") return JSON.stringify(value);
  return String(value);
}

// ---------------------------------------------------------------------------------------------------
// Header dictionary: a Python literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

function parseHeader(text: string, what: string): NpyHeader {
  const snippet = JSON.stringify(text.trim().slice(0, 100));
  const value = parsePythonLiteral(text, what, snippet);
  if (!(value instanceof Map)) {
    throw new SyntaxError(`${what}: header is not a dictionary: ${snippet}`);
  }
  for (const key of value.keys()) {
    if (key !== "descr" && key !== "fortran_order" && key !== "shape") {
      throw new SyntaxError(`${what}: header has unexpected key '${key}': ${snippet}`);
    }
  }
  const descr = value.get("descr");
  const fortranOrder = value.get("fortran_order");
  const shape = value.get("shape");
  if (typeof descr !== "string") {
    throw new TypeError(
      `${what}: ${descr === undefined ? "header lacks 'descr'" : "unsupported structured dtype"}: ${snippet}`,
    );
  }
  if (typeof fortranOrder !== "boolean") {
    throw new SyntaxError(`${what}: header 'fortran_order' must be True or False: ${snippet}`);
  }
  if (!Array.isArray(shape)) {
    throw new SyntaxError(`${what}: header 'shape' must be a tuple: ${snippet}`);
  }
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) {
      throw new RangeError(
        `${what}: header shape entry ${describe(d)} is not a non-negative integer: ${snippet}`,
      );
    }
  }
  return { descr, fortranOrder, shape: shape as number[] };
}

/** Parses the subset of Python literal syntax that `.npy` headers use. */
function parsePythonLiteral(text: string, what: string, snippet: string): PyValue {
  let pos = 0;

  const fail = (expected: string): never => {
    const found = pos < text.length ? JSON.stringify(text[pos]) : "end of header";
    throw new SyntaxError(
      `${what}: malformed header, expected ${expected} at character ${pos} but found ${found}: ${snippet}`,
    );
  };
  const skipSpace = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  const expect = (ch: string) => {
    skipSpace();
    if (text[pos] !== ch) fail(`'${ch}'`);
    pos++;
  };

  const parseValue = (): PyValue => {
    skipSpace();
    const ch = text[pos];
    if (ch === "{") return parseDict();
    if (ch === "(") return parseSequence(")");
    if (ch === "[") return parseSequence("]");
    if (ch === "'" || ch === '"') return parseString();
    if (ch !== undefined && /[-+0-9]/.test(ch)) return parseNumber();
    for (const [word, val] of [["True", true], ["False", false], ["None", null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return val;
      }
    }
    return fail("a value");
  };

  const parseString = (): string => {
    const quote = text[pos++];
    let out = "";
    while (pos < text.length && text[pos] !== quote) {
      if (text[pos] === "\\" && pos + 1 < text.length) pos++;
      out += text[pos++];
    }
    if (pos >= text.length) fail(`closing ${quote}`);
    pos++;
    return out;
  };

  const parseNumber = (): number => {
    const match = /^[-+]?\d+L?/.exec(text.slice(pos));
    if (match === null) return fail("an integer");
    pos += match[0].length;
    return Number(match[0].replace("L", ""));
  };

  const parseSequence = (close: string): PyValue => {
    pos++;
    const items: PyValue[] = [];
    let sawComma = false;
    for (;;) {
      skipSpace();
      if (text[pos] === close) break;
      items.push(parseValue());
      skipSpace();
      if (text[pos] === ",") {
        sawComma = true;
        pos++;
      } else if (text[pos] !== close) {
        fail(`',' or '${close}'`);
      }
    }
    pos++;
    // In Python "(5)" is just 5; only "(5,)" is a one-element tuple.
    return close === ")" && items.length === 1 && !sawComma ? items[0] : items;
  };

  const parseDict = (): Map<string, PyValue> => {
    pos++;
    const out = new Map<string, PyValue>();
    for (;;) {
      skipSpace();
      if (text[pos] === "}") break;
      if (text[pos] !== "'" && text[pos] !== '"') fail("a quoted key");
      const key = parseString();
      expect(":");
      out.set(key, parseValue());
      skipSpace();
      if (text[pos] === ",") pos++;
      else if (text[pos] !== "}") fail("',' or '}'");
    }
    pos++;
    return out;
  };

  const value = parseValue();
  skipSpace();
  if (pos !== text.length) fail("end of header");
  return value;
}
