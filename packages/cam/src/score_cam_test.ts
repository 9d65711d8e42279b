import { classLogit, cosineSimilarity, type Decision, perItem, runForward, tf } from "@cnnlens/core";
import { assertAllClose, values } from "../../core/src/_testing/assert.ts";
import { scoreCam } from "./score_cam.ts";
import { bilinear, gapNet, nhwc, onBackends, reluArr, sumOverChannels } from "./_testing/nets.ts";

/** Score-CAM written out: one masked forward pass per (image, channel), single-image decisions. */
async function scoreCamLoop(
  x: Float32Array,
  xShape: number[],
  a: Float32Array,
  shape: number[],
  score: (n: number, masked: Float32Array) => Promise<number>,
): Promise<Float64Array> {
  const [N, h, w, c] = shape;
  const [, H, W, ch] = xShape;
  const weights = new Float64Array(N * c);
  for (let n = 0; n < N; n++) {
    const s: number[] = [];
    for (let k = 0; k < c; k++) {
      const plane = Array.from({ length: h * w }, (_, i) => a[nhwc(shape, n, Math.floor(i / w), i % w, k)]);
      const up = bilinear(plane, h, w, H, W, true);
      const lo = Math.min(...up);
      const hi = Math.max(...up);
      const mask = up.map((v) => (v - lo) / (hi - lo + 1e-8));
      const masked = new Float32Array(H * W * ch);
      for (let p = 0; p < H * W; p++) {
        for (let q = 0; q < ch; q++) masked[p * ch + q] = x[(n * H * W + p) * ch + q] * mask[p];
      }
      s.push(await score(n, masked));
    }
    const m = Math.max(...s);
    const e = s.map((v) => Math.exp(v - m));
    const z = e.reduce((p, q) => p + q, 0);
    e.forEach((v, k) => weights[n * c + k] = v / z);
  }
  return weights;
}

const cases: [string, (refs: tf.Tensor) => Decision[]][] = [
  ["perItem(classLogit(1), classLogit(3))", () => [classLogit(1), classLogit(3)]],
  ["cosineSimilarity(refs)", (refs) => [cosineSimilarity(refs), cosineSimilarity(refs)]],
];

for (const [label, make] of cases) {
  onBackends(
    `scoreCam() equals an explicit loop of masked forward passes: ${label}`,
    ["cpu", "wasm"],
    async () => {
      const g = gapNet();
      const x = tf.randomNormal([2, 10, 10, 3], 0, 1, "float32", 61);
      const refs = tf.randomNormal([3, 4], 0, 1, "float32", 62);
      const [d0, d1] = make(refs);
      const d = label.startsWith("perItem") ? perItem([d0, d1]) : d0;
      // batchSize 5 with 2 images: 2 channels per pass, 3 passes for 6 channels.
      const r = await scoreCam(g, x, d, { layers: ["relu2"], batchSize: 5, perLayer: true });
      const tr = runForward(g, x);
      const a = await values(tr.get("relu2"));
      const shape = tr.get("relu2").shape as number[];
      tr.dispose();
      const weights = await scoreCamLoop(await values(x), x.shape, a, shape, async (n, masked) => {
        const t = tf.tensor4d(masked, [1, 10, 10, 3]);
        const out = runForward(g, t);
        const s = tf.tidy(() => [d0, d1][n].read(out.get(g.output)));
        const v = (await values(s))[0];
        s.dispose();
        out.dispose();
        t.dispose();
        return v;
      });
      assertAllClose(r.perLayer![0].weights!, weights, { rtol: 1e-4, atol: 1e-6, label: "softmax weights" });
      const c = shape[3];
      const map = reluArr(
        sumOverChannels(shape, (n, k, y, xx) => weights[n * c + k] * a[nhwc(shape, n, y, xx, k)]),
      );
      assertAllClose(r.map, map, { rtol: 1e-4, atol: 1e-6 * Math.max(...map), label: "map" });
      refs.dispose();
      x.dispose();
      g.dispose();
    },
  );
}
