/**
 * Plain-loop reference implementations (NCHW, float64) that tests compare the tfjs-backed ops against.
 * Written independently of the graph code: direct transcriptions of the op definitions.
 * @module
 */

/** A dense NCHW array for references. */
export interface Ref {
  data: Float64Array;
  shape: number[];
}

/** Index helper for [C, H, W] per-sample arrays. */
export function at3(r: Ref, c: number, y: number, x: number): number {
  const [, h, w] = r.shape;
  return r.data[(c * h + y) * w + x];
}

/**
 * 2-D convolution (cross-correlation) of one sample, torch weight layout [Cout, Cin/g, kh, kw].
 */
export function refConv(
  x: Ref,
  w: Ref,
  bias: number[] | null,
  o: {
    stride: [number, number];
    pads: [number, number, number, number];
    dil: [number, number];
    group: number;
  },
): Ref {
  const [cin, h, wd] = x.shape;
  const [cout, cpg, kh, kw] = w.shape;
  const [t, l, b, r] = o.pads;
  const oh = Math.floor((h + t + b - o.dil[0] * (kh - 1) - 1) / o.stride[0]) + 1;
  const ow = Math.floor((wd + l + r - o.dil[1] * (kw - 1) - 1) / o.stride[1]) + 1;
  const out = new Float64Array(cout * oh * ow);
  const opg = cout / o.group;
  for (let co = 0; co < cout; co++) {
    const g = Math.floor(co / opg);
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let s = bias ? bias[co] : 0;
        for (let ci = 0; ci < cpg; ci++) {
          for (let ky = 0; ky < kh; ky++) {
            for (let kx = 0; kx < kw; kx++) {
              const iy = oy * o.stride[0] - t + ky * o.dil[0];
              const ix = ox * o.stride[1] - l + kx * o.dil[1];
              if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
              s += at3(x, g * cpg + ci, iy, ix) * w.data[((co * cpg + ci) * kh + ky) * kw + kx];
            }
          }
        }
        out[(co * oh + oy) * ow + ox] = s;
      }
    }
  }
  void cin;
  return { data: out, shape: [cout, oh, ow] };
}

/** Max or average pooling of one sample; `ceil` rounds the output size up (windows must start inside). */
export function refPool(
  x: Ref,
  kind: "max" | "avg",
  k: [number, number],
  s: [number, number],
  pads: [number, number, number, number],
  ceil = false,
  countIncludePad = false,
): Ref {
  const [c, h, w] = x.shape;
  const [t, l, b, r] = pads;
  const size = (n: number, kk: number, ss: number, p0: number, p1: number) => {
    const span = n + p0 + p1 - kk;
    let o = (ceil ? Math.ceil(span / ss) : Math.floor(span / ss)) + 1;
    if (ceil && (o - 1) * ss >= n + p0) o--;
    return o;
  };
  const oh = size(h, k[0], s[0], t, b);
  const ow = size(w, k[1], s[1], l, r);
  const out = new Float64Array(c * oh * ow);
  for (let ch = 0; ch < c; ch++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        let m = -Infinity;
        let sum = 0;
        let n = 0;
        let nPad = 0;
        for (let ky = 0; ky < k[0]; ky++) {
          for (let kx = 0; kx < k[1]; kx++) {
            const iy = oy * s[0] - t + ky;
            const ix = ox * s[1] - l + kx;
            if (iy >= -t && iy < h + b && ix >= -l && ix < w + r) nPad++;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            const v = at3(x, ch, iy, ix);
            m = Math.max(m, v);
            sum += v;
            n++;
          }
        }
        out[(ch * oh + oy) * ow + ox] = kind === "max" ? m : sum / (countIncludePad ? nPad : n);
      }
    }
  }
  return { data: out, shape: [c, oh, ow] };
}

/** A seeded pseudo-random generator (mulberry32) for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded array of uniform values in [-1, 1). */
export function randomRef(shape: number[], seed: number): Ref {
  const n = shape.reduce((a, b) => a * b, 1);
  const r = rng(seed);
  return { data: Float64Array.from({ length: n }, () => r() * 2 - 1), shape };
}
