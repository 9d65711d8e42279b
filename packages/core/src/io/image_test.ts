import assert from "node:assert/strict";
import { encode as encodeWithFastPng } from "fast-png";
import jpeg from "jpeg-js";
import {
  createImage,
  decodeImage,
  encodePng,
  imageToTensorData,
  readImage,
  resizeBilinear,
  type RgbImage,
  writePng,
} from "./image.ts";

// --- a minimal PNG writer (stored deflate blocks, no compression), so palette and low-bit-depth
// --- files can be built byte by byte without relying on the encoder under test.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function be32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function chunk(type: string, data: number[]): number[] {
  const typed = new Uint8Array([...Array.from(type, (ch) => ch.charCodeAt(0)), ...data]);
  return [...be32(data.length), ...typed, ...be32(crc32(typed))];
}

function zlibStored(raw: number[]): number[] {
  let a = 1, b = 0;
  for (const byte of raw) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const len = raw.length;
  return [
    0x78,
    0x01,
    0x01,
    len & 0xff,
    len >> 8,
    ~len & 0xff,
    (~len >> 8) & 0xff,
    ...raw,
    ...be32((b << 16) | a),
  ];
}

function handMadePng(
  width: number,
  height: number,
  depth: number,
  colorType: number,
  rows: number[][],
  extra: number[] = [],
): Uint8Array {
  const ihdr = [...be32(width), ...be32(height), depth, colorType, 0, 0, 0];
  const raw = rows.flatMap((row) => [0, ...row]); // filter type 0 (None) on every row
  return new Uint8Array([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...chunk("IHDR", ihdr),
    ...extra,
    ...chunk("IDAT", zlibStored(raw)),
    ...chunk("IEND", []),
  ]);
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return Array.from(img.data.subarray(i, i + 3));
}

function near(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-6): void {
  assert.equal(actual.length, expected.length, "length");
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

// --- decoding / encoding ---------------------------------------------------------------------------

Deno.test("encodePng then decodeImage returns the exact RGB pixels", () => {
  const img = createImage(5, 3);
  for (let i = 0; i < img.data.length; i++) img.data[i] = (i * 53 + 7) % 256;
  const back = decodeImage(encodePng(img));
  assert.equal(back.width, 5);
  assert.equal(back.height, 3);
  assert.deepEqual(back.data, img.data);
});

Deno.test("RGBA, grey, grey+alpha and 16-bit PNGs decode to RGB with alpha dropped", () => {
  const rgba = {
    width: 2,
    height: 1,
    channels: 4 as const,
    data: new Uint8Array([10, 20, 30, 0, 40, 50, 60, 128]),
  };
  assert.deepEqual(Array.from(decodeImage(encodePng(rgba)).data), [10, 20, 30, 40, 50, 60]);

  const grey = encodeWithFastPng({
    width: 3,
    height: 1,
    channels: 1,
    depth: 8,
    data: new Uint8Array([0, 7, 255]),
  });
  assert.deepEqual(Array.from(decodeImage(grey).data), [0, 0, 0, 7, 7, 7, 255, 255, 255]);

  const greyAlpha = encodeWithFastPng({
    width: 2,
    height: 1,
    channels: 2,
    depth: 8,
    data: new Uint8Array([9, 0, 99, 255]),
  });
  assert.deepEqual(Array.from(decodeImage(greyAlpha).data), [9, 9, 9, 99, 99, 99]);

  const rgb16 = encodeWithFastPng({
    width: 2,
    height: 1,
    channels: 3,
    depth: 16,
    data: new Uint16Array([0, 65535, 0x1234, 0xff00, 0x00ff, 257 * 200]),
  });
  assert.deepEqual(Array.from(decodeImage(rgb16).data), [0, 255, 0x12, 0xff, 0x00, 200]);
});

Deno.test("a hand-built 2-bit palette PNG with transparency expands to palette colours", () => {
  const palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 17, 34, 51];
  // 3x2 pixels of 2-bit indices, each row packed into one byte: [0,1,2] and [3,2,1].
  const png = handMadePng(3, 2, 2, 3, [[0b00011000], [0b11100100]], [
    ...chunk("PLTE", palette),
    ...chunk("tRNS", [0]), // index 0 fully transparent: colour kept, alpha dropped
  ]);
  const img = decodeImage(png, "palette.png");
  assert.equal(img.width, 3);
  assert.equal(img.height, 2);
  assert.deepEqual(pixel(img, 0, 0), [255, 0, 0]);
  assert.deepEqual(pixel(img, 1, 0), [0, 255, 0]);
  assert.deepEqual(pixel(img, 2, 0), [0, 0, 255]);
  assert.deepEqual(pixel(img, 0, 1), [17, 34, 51]);
  assert.deepEqual(pixel(img, 1, 1), [0, 0, 255]);
  assert.deepEqual(pixel(img, 2, 1), [0, 255, 0]);
});

Deno.test("a hand-built 1-bit greyscale PNG with row padding unpacks to black and white", () => {
  // 10 pixels per row need 2 bytes; the last 6 bits of each row are padding.
  const png = handMadePng(10, 2, 1, 0, [[0b10110000, 0b01000000], [0b00000000, 0b11111111]]);
  const img = decodeImage(png);
  const row = (y: number) => Array.from({ length: 10 }, (_, x) => pixel(img, x, y)[0]);
  assert.deepEqual(row(0), [255, 0, 255, 255, 0, 0, 0, 0, 0, 255]);
  assert.deepEqual(row(1), [0, 0, 0, 0, 0, 0, 0, 0, 255, 255]);
});

Deno.test("an interlaced low-bit-depth PNG is refused rather than mis-decoded", () => {
  const png = handMadePng(10, 2, 1, 0, [[0, 0], [0, 0]]);
  png[28] = 1; // IHDR interlace method: Adam7
  assert.throws(() => decodeImage(png, "i.png"), {
    name: "TypeError",
    message: "Cannot decode image 'i.png': interlaced PNG with 1-bit samples is not supported " +
      "(re-save it without interlacing)",
  });
});

Deno.test("a flat-colour JPEG decodes to that colour within tolerance", () => {
  const w = 16, h = 16;
  const rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < rgba.length; i += 4) rgba.set([200, 100, 50, 255], i);
  const encoded = jpeg.encode({ width: w, height: h, data: rgba }, 95);
  const img = decodeImage(new Uint8Array(encoded.data), "flat.jpg");
  assert.equal(img.width, w);
  assert.equal(img.height, h);
  assert.equal(img.data.length, w * h * 3);
  for (let p = 0; p < w * h; p++) near(img.data.subarray(p * 3, p * 3 + 3), [200, 100, 50], 3);
});

Deno.test("decodeImage reports unknown, empty and truncated data in one line", () => {
  const png = encodePng(createImage(8, 8, [1, 2, 3]));
  const rgba = new Uint8Array(8 * 8 * 4).fill(120);
  const jpg = new Uint8Array(jpeg.encode({ width: 8, height: 8, data: rgba }, 90).data);
  const cases: [Uint8Array, ErrorConstructor, string][] = [
    [
      new TextEncoder().encode("GIF89a..."),
      SyntaxError,
      "Cannot decode image 'a.gif': not a PNG or JPEG (starts with 0x47494638)",
    ],
    [new Uint8Array(), RangeError, "Cannot decode image 'a.gif': the data is empty"],
    [png.slice(0, 5), RangeError, "Cannot decode image 'a.gif': truncated PNG (only 5 bytes)"],
    [
      png.slice(0, png.length - 2),
      RangeError,
      "Cannot decode image 'a.gif': truncated PNG (IEND chunk needs 12 bytes",
    ],
    [
      png.slice(0, png.length - 6),
      RangeError,
      "Cannot decode image 'a.gif': truncated PNG (file ends at byte",
    ],
    [png.slice(0, 40), RangeError, "Cannot decode image 'a.gif': truncated PNG ("],
    [jpg.slice(0, jpg.length - 40), RangeError, "Cannot decode image 'a.gif': truncated JPEG"],
  ];
  for (const [bytes, type, message] of cases) {
    assert.throws(() => decodeImage(bytes, "a.gif"), (e: Error) => {
      assert.ok(e instanceof type, `${e.constructor.name}: ${e.message} should be a ${type.name}`);
      assert.ok(
        e.message.startsWith(message),
        `${JSON.stringify(e.message)} should start with ${JSON.stringify(message)}`,
      );
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
  assert.throws(() => decodeImage(new Uint8Array([1, 2])), {
    message: "Cannot decode image: not a PNG or JPEG (starts with 0x0102)",
  });
});

Deno.test("writePng and readImage round-trip through a file, leaving no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const img = createImage(4, 2, [9, 8, 7]);
    img.data[0] = 200;
    await writePng(`${dir}/x.png`, img);
    const back = await readImage(`${dir}/x.png`);
    assert.deepEqual(back, img);
    assert.deepEqual(Array.from(Deno.readDirSync(dir), (e) => e.name), ["x.png"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encodePng rejects data of the wrong length", () => {
  assert.throws(() => encodePng({ width: 2, height: 2, data: new Uint8Array(11) }), {
    name: "RangeError",
    message: "Cannot encode PNG: data has 11 bytes but 2x2x3 needs 12",
  });
});

// --- resizing ---------------------------------------------------------------------------------------

Deno.test("resizeBilinear 2x2 -> 4x4 matches the half-pixel-centre formula", () => {
  // Source coordinate for output d: (d + 0.5) * 2/4 - 0.5 = d/2 - 1/4, clamped to [0, 1],
  // so the weight of the second source pixel along each axis is t = [0, 0.25, 0.75, 1].
  const t = [0, 0.25, 0.75, 1];
  const [a, b, c, d] = [1, 10, 100, 1000];
  const expected: number[] = [];
  for (let y = 0; y < 4; y++) {
    for (let x = 0; x < 4; x++) {
      const [ty, tx] = [t[y], t[x]];
      expected.push(a * (1 - ty) * (1 - tx) + b * (1 - ty) * tx + c * ty * (1 - tx) + d * ty * tx);
    }
  }
  near(resizeBilinear(new Float32Array([a, b, c, d]), 1, 2, 2, 4, 4, "chw"), expected, 1e-3);
  // Spot values written out in full.
  const out = resizeBilinear(new Float32Array([0, 1, 2, 3]), 1, 2, 2, 4, 4, "chw");
  near(out, [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3]);
});

Deno.test("resizeBilinear is the identity at the same size and averages pairs when halving", () => {
  const src = Float32Array.from({ length: 2 * 3 * 5 }, (_, i) => Math.sin(i));
  assert.deepEqual(resizeBilinear(src, 2, 3, 5, 3, 5, "chw"), src);
  assert.deepEqual(resizeBilinear(src, 2, 3, 5, 3, 5, "hwc"), src);
  // 1x4 -> 1x2: source coordinates (d + 0.5) * 2 - 0.5 = 0.5 and 2.5.
  near(resizeBilinear(new Float32Array([0, 2, 4, 8]), 1, 1, 4, 1, 2, "chw"), [1, 6]);
});

Deno.test("resizeBilinear gives the same result in hwc and chw layouts", () => {
  const c = 3, h = 3, w = 2, outH = 5, outW = 7;
  const chw = Float32Array.from({ length: c * h * w }, (_, i) => (i * 7) % 11);
  const hwc = new Float32Array(chw.length);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) hwc[p * c + ch] = chw[ch * h * w + p];
  const a = resizeBilinear(chw, c, h, w, outH, outW, "chw");
  const b = resizeBilinear(hwc, c, h, w, outH, outW, "hwc");
  for (let ch = 0; ch < c; ch++) {
    for (let p = 0; p < outH * outW; p++) assert.ok(Math.abs(a[ch * outH * outW + p] - b[p * c + ch]) < 1e-6);
  }
  assert.throws(() => resizeBilinear(chw, 3, 3, 3, 4, 4, "chw"), {
    name: "RangeError",
    message: "Cannot resize: src has 18 values but c*h*w = 3*3*3 = 27",
  });
  assert.throws(() => resizeBilinear(chw, 3, 3, 2, 0, 4, "chw"), { name: "RangeError" });
});

// --- network input ----------------------------------------------------------------------------------

Deno.test("imageToTensorData scales, normalises and lays out channels", () => {
  const img: RgbImage = { width: 2, height: 1, data: new Uint8Array([255, 0, 51, 0, 255, 102]) };
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const f = (v: number, ch: number) => (v / 255 - mean[ch]) / std[ch];
  const chw = imageToTensorData(img);
  assert.deepEqual(chw.shape, [3, 1, 2]);
  near(chw.data, [f(255, 0), f(0, 0), f(0, 1), f(255, 1), f(51, 2), f(102, 2)], 1e-5);

  const hwc = imageToTensorData(img, { layout: "hwc", mean: [0, 0, 0], std: [1, 1, 1] });
  assert.deepEqual(hwc.shape, [1, 2, 3]);
  near(hwc.data, [1, 0, 0.2, 0, 1, 0.4], 1e-6);

  const resized = imageToTensorData(img, { size: [3, 4], mean: [0, 0, 0], std: [1, 1, 1] });
  assert.deepEqual(resized.shape, [3, 3, 4]);
  // Red channel of each row: 1x2 -> 1x4 with weights [0, 0.25, 0.75, 1] from 1 to 0.
  near(resized.data.subarray(0, 4), [1, 0.75, 0.25, 0], 1e-6);
  assert.throws(() => imageToTensorData(img, { std: [1, 0, 1] }), { name: "RangeError" });
});
