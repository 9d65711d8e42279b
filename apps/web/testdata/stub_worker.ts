/// <reference lib="deno.worker" />
/**
 * A job worker with the real message loop and cancel hook (`work/dispatch.ts`) but deterministic jobs, for
 * `jobs_test.ts`. By `method`: `echo` answers at once; `ops` runs tfjs ops forever (inside `tidy`);
 * `leak` runs ops forever and keeps every result (a job that leaks when stopped); `spin` loops without
 * tfjs (never reaches a checkpoint).
 */
import { tf } from "@cnnlens/core";
import { serve } from "../work/dispatch.ts";

const pause = () => new Promise((r) => setTimeout(r, 0));

serve({
  async explain(req, post) {
    post(`running ${req.method}`);
    if (req.method === "echo") return { echo: req.image };
    if (req.method === "ops" || req.method === "leak") {
      const kept: tf.Tensor[] = [];
      for (;;) {
        const y = tf.tidy(() => tf.sum(tf.matMul(tf.ones([32, 32]), tf.ones([32, 32]))));
        if (req.method === "leak") kept.push(y);
        else y.dispose();
        await pause();
      }
    }
    if (req.method === "spin") {
      await pause();
      for (;;) { /* no tfjs kernel: no checkpoint */ }
    }
    throw new Error(`stub: unknown method '${req.method}'`);
  },
  episode: () => Promise.reject(new Error("stub: no episodes")),
  expand: () => Promise.reject(new Error("stub: no expansions")),
});
