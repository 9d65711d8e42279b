import assert from "node:assert/strict";
import { spawnServer } from "./_testing.ts";
import { LIMITS } from "./routes/api.ts";

async function withServer(fn: (url: string) => Promise<void>) {
  const s = await spawnServer();
  try {
    await fn(s.url);
  } finally {
    await s.close();
  }
}

Deno.test({
  name: "server: health, page, catalog; bad requests are clear 4xx and the server keeps serving",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withServer(async (url) => {
      const h = await fetch(`${url}/api/health`);
      assert.equal(h.status, 200);
      assert.deepEqual(await h.json(), { ok: true });
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /<select name="model"/);
      assert.match(html, /\/static\/app\.js/);
      const js = await fetch(`${url}/static/app.js`);
      assert.equal(js.status, 200);
      assert.match(js.headers.get("content-type")!, /javascript/);
      await js.body?.cancel();
      const cat = await (await fetch(`${url}/api/catalog`)).json();
      assert.ok(cat.models.some((m: { id: string }) => m.id.startsWith("zoo:")));

      const cases: [string, RequestInit, number, RegExp][] = [
        [
          "/api/upload?kind=image",
          { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" },
          415,
          /Unsupported image type 'text\/plain'/,
        ],
        [
          "/api/upload?kind=image",
          { method: "POST", headers: { "content-type": "image/png" }, body: "not a png" },
          400,
          /Cannot decode image/,
        ],
        [
          "/api/upload?kind=image",
          {
            method: "POST",
            headers: { "content-type": "image/png" },
            body: new Uint8Array(LIMITS.image + 1),
          },
          413,
          /Upload too large/,
        ],
        [
          "/api/upload?kind=model",
          { method: "POST", headers: { "content-type": "application/octet-stream" }, body: "garbage!" },
          400,
          /Cannot parse ONNX model/,
        ],
        ["/api/jobs", { method: "POST", body: "{not json" }, 400, /not valid JSON/],
        [
          "/api/jobs",
          { method: "POST", body: JSON.stringify({ model: "zoo:nope", image: "x" }) },
          400,
          /Unknown model 'zoo:nope'/,
        ],
        [
          "/api/jobs",
          { method: "POST", body: JSON.stringify({ model: "zoo:conv4", image: "../../etc/passwd" }) },
          400,
          /Unknown image/,
        ],
        [
          "/api/jobs",
          {
            method: "POST",
            body: JSON.stringify({ model: "eval:vgg_bn", image: "synth:test-0", method: "constructor" }),
          },
          400,
          /Unknown method 'constructor'/,
        ],
        ["/api/jobs", { method: "POST", body: "[1, 2]" }, 400, /must be a JSON object/],
        [
          "/api/jobs",
          { method: "POST", body: JSON.stringify({ model: "eval:vgg_bn", kind: "nope" }) },
          400,
          /Unknown job kind 'nope'/,
        ],
        [
          "/api/jobs",
          { method: "POST", body: JSON.stringify({ pad: "x".repeat(LIMITS.json) }) },
          413,
          /too large/,
        ],
        ["/api/jobs/j999", { method: "GET" }, 404, /No job 'j999'/],
        ["/static/..%2Fserver.ts", { method: "GET" }, 404, /Not found|No static file/],
      ];
      for (const [path, init, status, re] of cases) {
        const r = await fetch(`${url}${path}`, init);
        assert.equal(r.status, status, path);
        const body = await r.json();
        assert.match(body.error, re, path);
      }
      // Concurrent requests are all answered.
      const many = await Promise.all(
        Array.from({ length: 20 }, () => fetch(`${url}/api/health`).then((r) => r.status)),
      );
      assert.deepEqual(many, Array(20).fill(200));
      assert.equal((await fetch(`${url}/api/health`)).status, 200);
    }),
});

Deno.test({
  name: "server: jobs run off the main thread, report progress; queued and running jobs can be cancelled",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withServer(async (url) => {
      const cat = await (await fetch(`${url}/api/catalog`)).json();
      const image = cat.images[0].id;
      const post = (body: unknown) =>
        fetch(`${url}/api/jobs`, { method: "POST", body: JSON.stringify(body) }).then((r) => r.json());
      const fixture = "fixture:resnet_basic_fused_op17.onnx";
      const first = await post({ model: fixture, image, method: "scorecam" });
      const queued = await post({ model: "zoo:resnet50", image, method: "scorecam" });
      const last = await post({ model: fixture, image, method: "gradcam" });
      const t0 = performance.now();
      assert.equal((await fetch(`${url}/api/health`)).status, 200);
      assert.ok(performance.now() - t0 < 2000, "health answers while a job runs");
      const cancelled = await (await fetch(`${url}/api/jobs/${queued.id}`, { method: "DELETE" })).json();
      assert.equal(cancelled.status, "cancelled");
      for (const id of [first.id, last.id]) {
        let done;
        for (let i = 0; i < 90; i++) {
          done = await (await fetch(`${url}/api/jobs/${id}?wait=2000`)).json();
          if (done.status === "done" || done.status === "failed") break;
        }
        assert.equal(done.status, "done", JSON.stringify(done.error));
        assert.match(done.result.figures[0].image, /^data:image\/png;base64,/);
        assert.equal(done.result.decision.kind, "class");
      }
      assert.equal((await (await fetch(`${url}/api/jobs/${queued.id}`)).json()).status, "cancelled");

      // A running job: reported cancelled at once, stopped at the worker's next tfjs kernel (no restart),
      // and the next job runs.
      const slow = await post({ model: "zoo:resnet18", image, method: "scorecam" });
      let running;
      for (let i = 0; i < 90; i++) {
        running = await (await fetch(`${url}/api/jobs/${slow.id}?wait=2000`)).json();
        if (
          running.progress === "running scorecam" ||
          running.status !== "queued" && running.status !== "running"
        ) {
          break;
        }
      }
      assert.equal(running.progress, "running scorecam", JSON.stringify(running));
      const del = await (await fetch(`${url}/api/jobs/${slow.id}`, { method: "DELETE" })).json();
      assert.equal(del.status, "cancelled");
      let stopped;
      for (let i = 0; i < 30 && !stopped?.cancel; i++) {
        stopped = await (await fetch(`${url}/api/jobs/${slow.id}?wait=2000`)).json();
      }
      assert.equal(stopped.status, "cancelled");
      assert.equal(stopped.cancel.mode, "cooperative", JSON.stringify(stopped.cancel));
      assert.ok(stopped.cancel.stoppedMs < 5000);
      assert.equal(stopped.result, undefined);
      const after = await post({ model: fixture, image, method: "gradcam" });
      let next;
      for (let i = 0; i < 90 && next?.status !== "done" && next?.status !== "failed"; i++) {
        next = await (await fetch(`${url}/api/jobs/${after.id}?wait=2000`)).json();
      }
      assert.equal(next.status, "done", next.error);
      assert.equal(next.worker, running.worker + (stopped.cancel.replaced ? 1 : 0));
    }),
});
