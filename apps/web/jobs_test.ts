/**
 * The job manager with a stub worker (the real message loop and cancel hook, deterministic jobs): queued
 * and running cancellation, the fallback that terminates a worker stuck outside tfjs, replacing a worker
 * whose stopped job leaked tensors, and long polling.
 */
import assert from "node:assert/strict";
import { JobManager, type JobManager as JM, type JobState } from "./jobs.ts";

const stub = new URL("./testdata/stub_worker.ts", import.meta.url);
const job = (method: string, image = "x") => ({ kind: "explain" as const, model: "m", image, method });

async function until(m: JM, id: string, ok: (s: JobState) => boolean, ms = 60_000): Promise<JobState> {
  const end = performance.now() + ms;
  for (;;) {
    const s = (await m.wait(id, 1000))!;
    if (ok(s)) return s;
    if (performance.now() > end) throw new Error(`job ${id} stuck at ${s.status}: ${s.progress}`);
  }
}

const running = (method: string) => (s: JobState) =>
  s.status === "running" && s.progress === `running ${method}`;
const stopped = (s: JobState) => s.cancel !== undefined;

Deno.test({
  name: "jobs: a running job stops at its next tfjs kernel; the worker keeps serving; long polling",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const m = new JobManager({ workerUrl: stub, graceMs: 30_000 });
    try {
      await m.warm();
      const a = m.submit(job("ops"));
      const b = m.submit(job("echo", "after"));
      await until(m, a.id, running("ops"));
      assert.equal(m.jobs.get(b.id)!.status, "queued", "one job at a time");
      assert.equal(m.cancel(a.id)!.status, "cancelled", "reported at once");
      const s = await until(m, a.id, stopped);
      assert.equal(s.cancel!.mode, "cooperative");
      assert.equal(s.cancel!.tensorsLeft, 0);
      assert.equal(s.cancel!.replaced, false);
      assert.ok(s.cancel!.stoppedMs! < 30_000);
      const d = await until(m, b.id, (x) => x.status === "done");
      assert.deepEqual(d.result, { echo: "after" });
      assert.equal(d.worker, 1, "same worker: no restart");
      assert.equal(m.generation, 1);
      // Cancelling twice, or a finished job, changes nothing.
      assert.equal(m.cancel(a.id)!.cancel!.mode, "cooperative");
      assert.equal(m.cancel(b.id)!.status, "done");
      assert.equal(m.cancel("j999"), undefined);

      // Long polling returns on a change, or after the timeout.
      const c = m.submit(job("ops"));
      await until(m, c.id, running("ops"));
      const t0 = performance.now();
      assert.equal((await m.wait(c.id, 300))!.status, "running");
      assert.ok(performance.now() - t0 >= 250, "no change: waited for the timeout");
      const pending = m.wait(c.id, 60_000);
      m.cancel(c.id);
      assert.equal((await pending)!.status, "cancelled");
      assert.equal(await m.wait("j999", 10), undefined);
    } finally {
      m.close();
    }
  },
});

Deno.test({
  name: "jobs: a stopped job that leaked tensors gets a fresh worker; a stuck worker is terminated",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const m = new JobManager({ workerUrl: stub, graceMs: 500 });
    try {
      await m.warm();
      const leak = m.submit(job("leak"));
      await until(m, leak.id, running("leak"));
      await new Promise((r) => setTimeout(r, 50));
      m.cancel(leak.id);
      const l = await until(m, leak.id, stopped);
      assert.equal(l.cancel!.mode, "cooperative");
      assert.ok(l.cancel!.tensorsLeft! > 0, `left ${l.cancel!.tensorsLeft}`);
      assert.equal(l.cancel!.replaced, true);
      assert.equal(m.generation, 2);

      const spin = m.submit(job("spin"));
      const queued = m.submit(job("echo", "queued"));
      const dropped = m.submit(job("echo", "dropped"));
      assert.equal(m.cancel(dropped.id)!.cancel!.mode, "queued");
      const sp = await until(m, spin.id, running("spin"));
      assert.equal(sp.worker, 2);
      m.cancel(spin.id);
      const t = await until(m, spin.id, stopped);
      assert.deepEqual([t.status, t.cancel!.mode, t.cancel!.replaced], ["cancelled", "terminated", true]);
      assert.ok(t.cancel!.stoppedMs! >= 500, "waited for the grace period first");
      const q = await until(m, queued.id, (x) => x.status === "done");
      assert.deepEqual([q.result, q.worker], [{ echo: "queued" }, 3]);
      assert.equal(m.jobs.get(dropped.id)!.status, "cancelled");
    } finally {
      m.close();
    }
  },
});
