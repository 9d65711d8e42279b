import assert from "node:assert/strict";
import { crc32 as zlibCrc32 } from "node:zlib";
import { decodeImage, type RgbImage } from "@cnnlens/core";
import { crc32, encodeApng } from "./apng.ts";
import { cli, root } from "./_testing.ts";

/** A PNG/APNG chunk reader written for the test (checks every CRC with node:zlib's crc32). */
function chunks(png: Uint8Array): { type: string; data: Uint8Array }[] {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out = [];
  let at = 8;
  while (at < png.length) {
    const len = v.getUint32(at);
    const type = new TextDecoder().decode(png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + len);
    assert.equal(v.getUint32(at + 8 + len), zlibCrc32(png.subarray(at + 4, at + 8 + len)), `CRC of ${type}`);
    out.push({ type, data });
    at += 12 + len;
  }
  assert.equal(at, png.length);
  return out;
}

const be = (d: Uint8Array, o: number, n = 4) =>
  n === 4
    ? new DataView(d.buffer, d.byteOffset).getUint32(o)
    : new DataView(d.buffer, d.byteOffset).getUint16(o);

/** What a viewer needs from an APNG: frame count, plays, and each frame as a still PNG with its delay. */
function readApng(png: Uint8Array) {
  const cs = chunks(png);
  assert.equal(cs[0].type, "IHDR");
  assert.equal(cs.at(-1)!.type, "IEND");
  const ac = cs.find((c) => c.type === "acTL")!;
  const frames: { width: number; height: number; delay: number; still: Uint8Array }[] = [];
  const seqs: number[] = [];
  let cur: { width: number; height: number; delay: number; data: Uint8Array[] } | undefined;
  const flush = () => {
    if (!cur) return;
    // The frame's data behind the same header is a complete PNG of the frame.
    const ihdr = new Uint8Array(cs[0].data);
    new DataView(ihdr.buffer).setUint32(0, cur.width);
    new DataView(ihdr.buffer).setUint32(4, cur.height);
    const parts: [string, Uint8Array][] = [
      ["IHDR", ihdr],
      ...cur.data.map((d): [string, Uint8Array] => ["IDAT", d]),
      ["IEND", new Uint8Array(0)],
    ];
    const bytes: number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    for (const [t, d] of parts) {
      const td = new Uint8Array([...new TextEncoder().encode(t), ...d]);
      const len = d.length;
      bytes.push(len >>> 24, (len >>> 16) & 255, (len >>> 8) & 255, len & 255, ...td);
      const c = zlibCrc32(td);
      bytes.push(c >>> 24, (c >>> 16) & 255, (c >>> 8) & 255, c & 255);
    }
    frames.push({ width: cur.width, height: cur.height, delay: cur.delay, still: new Uint8Array(bytes) });
  };
  for (const c of cs) {
    if (c.type === "fcTL") {
      flush();
      seqs.push(be(c.data, 0));
      const num = be(c.data, 20, 2), den = be(c.data, 22, 2) || 100;
      cur = { width: be(c.data, 4), height: be(c.data, 8), delay: (1000 * num) / den, data: [] };
    } else if (c.type === "IDAT" && cur) cur.data.push(c.data);
    else if (c.type === "fdAT") {
      seqs.push(be(c.data, 0));
      cur!.data.push(c.data.subarray(4));
    }
  }
  flush();
  // Sequence numbers run 0, 1, 2, … over fcTL and fdAT chunks.
  assert.deepEqual(seqs, [...seqs.keys()]);
  return { numFrames: be(ac.data, 0), plays: be(ac.data, 4), frames };
}

function pattern(w: number, h: number, k: number): RgbImage {
  return {
    width: w,
    height: h,
    data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + k * 91) % 256),
  };
}

Deno.test("encodeApng() writes a valid APNG whose frames decode to the input pictures, with their delays", () => {
  const frames = [pattern(7, 5, 0), pattern(7, 5, 1), pattern(7, 5, 2)];
  const apng = encodeApng(frames, { delayMs: [100, 250, 1000], plays: 2 });
  const a = readApng(apng);
  assert.equal(a.numFrames, 3);
  assert.equal(a.plays, 2);
  assert.deepEqual(a.frames.map((f) => [f.width, f.height, f.delay]), [[7, 5, 100], [7, 5, 250], [
    7,
    5,
    1000,
  ]]);
  a.frames.forEach((f, i) => assert.deepEqual(decodeImage(f.still, `frame ${i}`), frames[i]));
  // A viewer without APNG support shows the first frame.
  assert.deepEqual(decodeImage(apng, "apng"), frames[0]);
  assert.throws(() => encodeApng([]), /no frames/);
  assert.throws(() => encodeApng([pattern(7, 5, 0), pattern(5, 7, 0)]), /frame 1 is 5×7, frame 0 is 7×5/);
  assert.throws(
    () => encodeApng([pattern(2, 2, 0)], { delayMs: [1, 2] }),
    /one delay in 0..65535 ms per frame/,
  );
});

Deno.test("crc32() equals node:zlib's", () => {
  for (const s of ["", "IEND", "The quick brown fox jumps over the lazy dog"]) {
    const b = new TextEncoder().encode(s);
    assert.equal(crc32(b), zlibCrc32(b));
    assert.equal(crc32(b.subarray(0, 2), b.subarray(2)), zlibCrc32(b));
  }
});

Deno.test("cnnlens explain --method naflow writes flow_anim.png: one frame per flow.json layer, over the map", async () => {
  const out = await Deno.makeTempDir();
  const r = await cli(
    "explain",
    "--model",
    `${root}packages/core/testdata/onnx/resnet_basic_fused_op17.onnx`,
    "--input",
    `${root}packages/core/testdata/onnx/resnet_basic_input.npy`,
    "--method",
    "naflow",
    "--out",
    out,
    "--backend",
    "cpu",
  );
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(await Deno.readTextFile(`${out}/result.json`));
  assert.ok(res.files.includes("flow_anim.png"));
  const flow = JSON.parse(await Deno.readTextFile(`${out}/flow.json`));
  const a = readApng(await Deno.readFile(`${out}/flow_anim.png`));
  assert.equal(a.numFrames, flow.layers.length);
  assert.equal(a.frames.length, flow.layers.length);
  assert.equal(a.plays, 0);
  const stills = a.frames.map((f, i) => decodeImage(f.still, `frame ${i}`));
  for (const s of stills) {
    assert.ok(s.width >= 224, `frame width ${s.width}`); // enlarged from the 32×32 input
    assert.equal(s.width, stills[0].width);
    assert.equal(s.height, stills[0].height);
  }
  // The first (shallowest) and the last (deepest) layer's frames are different pictures.
  assert.notDeepEqual(stills[0].data, stills.at(-1)!.data);
  assert.deepEqual(
    a.frames.map((f) => f.delay),
    flow.layers.map((_: unknown, i: number) => i === flow.layers.length - 1 ? 2000 : 700),
  );
  await Deno.remove(out, { recursive: true });
});
