/**
 * Animated PNG (APNG) over the core's PNG encoder: each frame is encoded as a PNG, its image data is
 * re-wrapped as the animation's frame (`IDAT` for the first, `fdAT` for the rest) behind an `fcTL` frame
 * control, and an `acTL` after the header says how many frames there are. Viewers without APNG support show
 * the first frame. Format: https://wiki.mozilla.org/APNG_Specification (the W3C PNG 3rd edition).
 * @module
 */
import { encodePng, type RgbImage } from "@cnnlens/core";

/** Options of {@linkcode encodeApng}. */
export interface ApngOptions {
  /** How long each frame shows, in milliseconds (one number for all, or one per frame). @default 700 */
  delayMs?: number | number[];
  /** How many times the animation plays; 0 loops for ever. @default 0 */
  plays?: number;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 as PNG chunks use it (ISO 3309, reflected, init and final XOR 0xffffffff).
 * @param parts Byte arrays, checksummed as if concatenated.
 * @returns The checksum.
 */
export function crc32(...parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One chunk of a PNG stream. */
export interface PngChunk {
  type: string;
  data: Uint8Array;
}

/**
 * Split a PNG file into its chunks (after the 8-byte signature), checking lengths and CRCs.
 * @param png The file.
 * @returns The chunks in order.
 * @throws {RangeError} A missing signature, a truncated chunk or a CRC mismatch.
 */
export function pngChunks(png: Uint8Array): PngChunk[] {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 8 || sig.some((b, i) => png[i] !== b)) {
    throw new RangeError("Cannot read PNG: no signature");
  }
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: PngChunk[] = [];
  for (let at = 8; at < png.length;) {
    if (at + 12 > png.length) throw new RangeError(`Cannot read PNG: truncated chunk at byte ${at}`);
    const len = view.getUint32(at);
    if (at + 12 + len > png.length) throw new RangeError(`Cannot read PNG: truncated chunk at byte ${at}`);
    const typeBytes = png.subarray(at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + len);
    const type = String.fromCharCode(...typeBytes);
    if (view.getUint32(at + 8 + len) !== crc32(typeBytes, data)) {
      throw new RangeError(`Cannot read PNG: bad CRC in chunk '${type}' at byte ${at}`);
    }
    out.push({ type, data });
    at += 12 + len;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  const t = new TextEncoder().encode(type);
  view.setUint32(0, data.length);
  out.set(t, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(t, data));
  return out;
}

function u32s(...vs: number[]): Uint8Array {
  const out = new Uint8Array(vs.length * 4);
  const view = new DataView(out.buffer);
  vs.forEach((v, i) => view.setUint32(i * 4, v));
  return out;
}

/**
 * Encode frames of one size as an animated PNG.
 * @param frames The pictures, in order (at least one, all the same width and height).
 * @param options Frame delay and play count.
 * @returns The APNG file.
 * @throws {RangeError} No frames, frames of different sizes, or a bad delay.
 * @example
 * ```ts
 * import { createImage, decodeImage } from "@cnnlens/core";
 * import { encodeApng, pngChunks } from "./apng.ts";
 * const apng = encodeApng([createImage(4, 3, [255, 0, 0]), createImage(4, 3, [0, 0, 255])], { delayMs: 500 });
 * const types = pngChunks(apng).map((c) => c.type);
 * if (types.join() !== "IHDR,acTL,fcTL,IDAT,fcTL,fdAT,IEND") throw new Error(types.join());
 * if (decodeImage(apng, "a.png").data[0] !== 255) throw new Error("the first frame is the still image");
 * ```
 */
export function encodeApng(frames: readonly RgbImage[], options: ApngOptions = {}): Uint8Array {
  if (!frames.length) throw new RangeError("Cannot encode APNG: no frames");
  const { width, height } = frames[0];
  const delays = Array.isArray(options.delayMs)
    ? options.delayMs
    : frames.map(() => (options.delayMs as number | undefined) ?? 700);
  if (delays.length !== frames.length || delays.some((d) => !(d >= 0 && d <= 65535))) {
    throw new RangeError(`Cannot encode APNG: need one delay in 0..65535 ms per frame, got [${delays}]`);
  }
  const parts: Uint8Array[] = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])];
  let seq = 0;
  frames.forEach((f, i) => {
    if (f.width !== width || f.height !== height) {
      throw new RangeError(
        `Cannot encode APNG: frame ${i} is ${f.width}×${f.height}, frame 0 is ${width}×${height}`,
      );
    }
    const chunks = pngChunks(encodePng(f));
    if (i === 0) {
      parts.push(chunk("IHDR", chunks[0].data));
      parts.push(chunk("acTL", u32s(frames.length, options.plays ?? 0)));
    }
    // fcTL: sequence, size, offset (0, 0), delay as a fraction (ms / 1000), dispose none, blend source.
    const fc = new Uint8Array(26);
    const v = new DataView(fc.buffer);
    v.setUint32(0, seq++);
    v.setUint32(4, width);
    v.setUint32(8, height);
    v.setUint16(20, Math.round(delays[i]));
    v.setUint16(22, 1000);
    parts.push(chunk("fcTL", fc));
    for (const c of chunks.filter((c) => c.type === "IDAT")) {
      if (i === 0) parts.push(chunk("IDAT", c.data));
      else {
        const fd = new Uint8Array(4 + c.data.length);
        new DataView(fd.buffer).setUint32(0, seq++);
        fd.set(c.data, 4);
        parts.push(chunk("fdAT", fd));
      }
    }
  });
  parts.push(chunk("IEND", new Uint8Array(0)));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
