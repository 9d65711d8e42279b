/**
 * Core benchmarks: forward and forward+gradient of ResNet-18/50 per backend, the ratio to onnxruntime-web
 * (wasm) on the same network's ONNX export, and ONNX import time and memory. Default 112×112 on cpu and
 * wasm; `CNNLENS_BENCH_FULL=1` for 224×224, `CNNLENS_BENCH_BACKENDS=cpu,wasm,webgpu` to choose backends.
 * The ONNX parts need `tools/.big/resnet{18,50}.onnx` from `tools/export_onnx_fixtures.py --big --resnet18`
 * (PyTorch, not needed for the tests) and are skipped without them; without PyTorch,
 * `npx deno run -A tools/make_big_onnx.ts` writes a ResNet-50 of the same shape with random weights
 * (`--fused` folds BN into the convolutions as that export does).
 * Run: `npx nx bench core` or `npx deno bench -A --no-check packages/core/bench`.
 */
import {
  benchBackends,
  classLogit,
  gradients,
  importOnnx,
  resnet18,
  resnet50,
  runForward,
  runOrt,
  tf,
  useBackend,
} from "../mod.ts";
import { peakRss, resetPeakRss } from "../src/_testing/rss.ts";

const size = Deno.env.get("CNNLENS_BENCH_FULL") ? 224 : 112;
const backends = await benchBackends(["cpu", "wasm"]);
const big = new URL("../../../tools/.big/", import.meta.url).pathname;

function exists(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

for (const backend of backends) {
  for (const [name, make] of [["resnet18", resnet18], ["resnet50", resnet50]] as const) {
    let g: ReturnType<typeof resnet18> | undefined;
    let x: tf.Tensor | undefined;
    const setup = async () => {
      await useBackend(backend);
      g ??= make({ size: [size, size], seed: 1 });
      x ??= tf.randomNormal([1, size, size, 3], 0, 1, "float32", 2);
    };
    Deno.bench({
      name: `${name} ${size}×${size} forward [${backend}]`,
      group: `${name}-${backend}`,
      baseline: true,
      async fn(b) {
        await setup();
        b.start();
        const tr = runForward(g!, x!, { keep: [] });
        await tr.get(g!.output).data();
        b.end();
        tr.dispose();
      },
    });
    Deno.bench({
      name: `${name} ${size}×${size} forward+gradient to the last feature map [${backend}]`,
      group: `${name}-${backend}`,
      async fn(b) {
        await setup();
        const layer = g!.lastSpatialNode().name;
        b.start();
        const r = gradients(g!, x!, classLogit(1), [layer]);
        await r.grads.get(layer)!.data();
        b.end();
        r.dispose();
      },
    });
    const onnx = `${big}${name}.onnx`;
    if (exists(onnx) && size === 224) {
      let og: ReturnType<typeof importOnnx> | undefined;
      Deno.bench({
        name: `${name} ONNX export forward, cnnlens [${backend}]`,
        group: `${name}-onnx-${backend}`,
        baseline: true,
        async fn(b) {
          await useBackend(backend);
          og ??= importOnnx(await Deno.readFile(onnx));
          x ??= tf.randomNormal([1, size, size, 3], 0, 1, "float32", 2);
          b.start();
          const tr = runForward(og, x!, { keep: [] });
          await tr.get(og.output).data();
          b.end();
          tr.dispose();
        },
      });
      const bytes = Deno.readFileSync(onnx);
      const input = { data: new Float32Array(3 * size * size).fill(0.5), shape: [1, 3, size, size] };
      Deno.bench({
        name: `${name} ONNX export forward, onnxruntime-web wasm`,
        group: `${name}-onnx-${backend}`,
        async fn() {
          await runOrt(bytes, input);
        },
      });
    }
  }
}

const r50 = `${big}resnet50.onnx`;
if (exists(r50)) {
  Deno.bench({
    name: "importOnnx(resnet50.onnx, ~100 MB): parse + graph build (RSS growth printed once)",
    async fn(b) {
      await useBackend("cpu");
      const bytes = await Deno.readFile(r50);
      // With --v8-flags=--expose-gc the baseline holds no garbage (else a GC during the call can hide growth).
      (globalThis as { gc?: () => void }).gc?.();
      const tensorsBefore = tf.memory().numBytes;
      const before = Deno.memoryUsage().rss;
      const peakReset = resetPeakRss();
      b.start();
      const g = importOnnx(bytes);
      b.end();
      const end = Deno.memoryUsage().rss;
      const peak = peakReset ? peakRss() : undefined;
      if (!(globalThis as { _printed?: boolean })._printed) {
        (globalThis as { _printed?: boolean })._printed = true;
        // The weights = the tfjs tensors the import made (float32); the file bytes read before do not count.
        const weights = tf.memory().numBytes - tensorsBefore;
        const fmt = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB (${(n / weights).toFixed(2)}×)`;
        console.log(
          `importOnnx resnet50: RSS grew ${fmt(end - before)}${
            peak === undefined ? "" : `, peak ${fmt(peak - before)}`
          } for ${(weights / 2 ** 20).toFixed(0)} MiB of weights`,
        );
      }
      g.dispose();
    },
  });
}
