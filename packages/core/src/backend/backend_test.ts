import assert from "node:assert/strict";
import { benchBackends, hardwareWebGpu } from "./backend.ts";

Deno.test("benchBackends(): CNNLENS_BENCH_BACKENDS names exactly what runs; else the defaults (+ webgpu on hardware)", async () => {
  const saved = Deno.env.get("CNNLENS_BENCH_BACKENDS");
  try {
    Deno.env.set("CNNLENS_BENCH_BACKENDS", "wasm, webgpu");
    assert.deepEqual(await benchBackends(["cpu"]), ["wasm", "webgpu"]);
    Deno.env.set("CNNLENS_BENCH_BACKENDS", "cpu,webgl");
    await assert.rejects(benchBackends(["cpu"]), /unknown backend 'webgl'/);
    Deno.env.delete("CNNLENS_BENCH_BACKENDS");
    const hardware = await hardwareWebGpu();
    assert.deepEqual(
      await benchBackends(["cpu", "wasm"]),
      hardware ? ["cpu", "wasm", "webgpu"] : ["cpu", "wasm"],
    );
    assert.deepEqual(await benchBackends(["webgpu"]), ["webgpu"], "never twice");
  } finally {
    if (saved === undefined) Deno.env.delete("CNNLENS_BENCH_BACKENDS");
    else Deno.env.set("CNNLENS_BENCH_BACKENDS", saved);
  }
});
