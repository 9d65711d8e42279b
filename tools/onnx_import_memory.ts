// Measures what `importOnnx` costs in resident memory and time on a big ONNX file (default
// tools/.big/resnet50.onnx, from tools/make_big_onnx.ts or tools/export_onnx_fixtures.py --big), cpu backend.
//
//   npx deno run -A --v8-flags=--expose-gc tools/onnx_import_memory.ts [model.onnx ...]
//
// Prints, per file: the file size, the bytes of the resulting tfjs tensors (tf.memory().numBytes growth, i.e.
// the weights as float32), the RSS growth at the end of the call and the peak RSS growth during it (Linux: the
// VmHWM high-water mark, reset through /proc/self/clear_refs before the call; elsewhere only the end figure),
// both in MiB and as × the tensor bytes, and the import time. The file bytes are read before the baseline, so
// they do not count. Run it a few times: RSS is noisy.
import { importOnnx, tf, useBackend } from "../packages/core/mod.ts";
import { peakRss, resetPeakRss } from "../packages/core/src/_testing/rss.ts";

const MiB = 2 ** 20;
const gc = (globalThis as { gc?: () => void }).gc;

function collect(): void {
  if (gc) { for (let i = 0; i < 3; i++) gc(); }
}

if (import.meta.main) {
  await useBackend("cpu");
  const files = Deno.args.length ? Deno.args : [new URL(".big/resnet50.onnx", import.meta.url).pathname];
  if (!gc) console.log("(run with --v8-flags=--expose-gc for steadier figures)");
  for (const file of files) {
    const bytes = Deno.readFileSync(file);
    collect();
    const tensorsBefore = tf.memory().numBytes;
    const before = Deno.memoryUsage().rss;
    const canPeak = resetPeakRss();
    const t0 = performance.now();
    const g = importOnnx(bytes);
    const ms = performance.now() - t0;
    const end = Deno.memoryUsage().rss;
    const peak = canPeak ? peakRss() : undefined;
    const weights = tf.memory().numBytes - tensorsBefore;
    const fmt = (b: number) => `${(b / MiB).toFixed(0)} MiB (${(b / weights).toFixed(2)}× weights)`;
    console.log(
      `${file}: file ${(bytes.length / MiB).toFixed(1)} MiB, tensors ${(weights / MiB).toFixed(1)} MiB, ` +
        `import ${ms.toFixed(0)} ms; RSS growth at end ${fmt(end - before)}` +
        (peak !== undefined ? `, peak ${fmt(peak - before)}` : ""),
    );
    g.dispose();
  }
}
