/**
 * The dashboard's analysis views through the API (a real `cnnlens serve` subprocess), each checked against
 * an independent computation in this process: the metrics panel (energy in box, IoU, AD/IC by loops over
 * the Grad-CAM map), IOM's perturbation view (forward passes of X and of (1 − M) ∘ X), FAM episodes (cosine
 * similarities of the embeddings by loops) and lazy gAP expansion (the subtree `hierarchy` builds).
 */
import assert from "node:assert/strict";
import { classLogit, importTfjsModel, runForward, tf, upsampleMap, useBackend } from "@cnnlens/core";
import type { Graph } from "@cnnlens/core";
import { camMethods } from "@cnnlens/cam";
import { iom } from "@cnnlens/iom";
import { hierarchy } from "@cnnlens/gap";
import { fewShotEpisode, synthClassNames, synthInput, synthSample, synthSamples } from "@cnnlens/eval/synth";
import { spawnServer } from "./_testing.ts";

const MODELS = new URL("../../packages/eval/models/", import.meta.url).pathname;
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

// deno-lint-ignore no-explicit-any
type Json = any;

async function load(name: string): Promise<Graph> {
  return await importTfjsModel(`${MODELS}${name}/model.json`);
}

/** The graph's output rows for NHWC inputs (64×64, normalised). */
async function forward(g: Graph, nhwc: Float32Array, n = 1): Promise<Float32Array[]> {
  const x = tf.tensor4d(nhwc, [n, 64, 64, 3]);
  const tr = runForward(g, x, { keep: [] });
  const y = tf.reshape(tr.get(g.output), [n, -1]);
  const d = await y.data() as Float32Array;
  const k = y.shape[1]!;
  tf.dispose([x, y]);
  tr.dispose();
  return Array.from({ length: n }, (_, i) => d.slice(i * k, (i + 1) * k));
}

function softmax(v: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(v));
  const e = Array.from(v, (x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** [0, 1] CHW pixels → normalised NHWC. */
function chw01ToNhwc(chw: Float32Array, hw = 64 * 64): Float32Array {
  const out = new Float32Array(hw * 3);
  for (let p = 0; p < hw; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = (chw[c * hw + p] - MEAN[c]) / STD[c];
  }
  return out;
}

function minMax(v: Float32Array): Float64Array {
  let lo = Infinity, hi = -Infinity;
  for (const x of v) [lo, hi] = [Math.min(lo, x), Math.max(hi, x)];
  return Float64Array.from(v, (x) => hi > lo ? (x - lo) / (hi - lo) : 0);
}

/** Box of the largest 8-connected component above 0.2 × max (first in raster order on ties). */
function largestComponentBox(m: Float64Array, h: number, w: number) {
  const max = Math.max(...m);
  const on = Array.from(m, (v) => v > 0.2 * max);
  const seen = new Uint8Array(h * w);
  let best: number[] = [];
  for (let s = 0; s < h * w; s++) {
    if (!on[s] || seen[s]) continue;
    const comp = [s];
    seen[s] = 1;
    for (let i = 0; i < comp.length; i++) {
      const y = Math.floor(comp[i] / w), x = comp[i] % w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy, xx = x + dx, q = yy * w + xx;
          if (yy >= 0 && yy < h && xx >= 0 && xx < w && on[q] && !seen[q]) {
            seen[q] = 1;
            comp.push(q);
          }
        }
      }
    }
    if (comp.length > best.length) best = comp;
  }
  const ys = best.map((p) => Math.floor(p / w)), xs = best.map((p) => p % w);
  return { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs) + 1, y1: Math.max(...ys) + 1 };
}

type Box = { x0: number; y0: number; x1: number; y1: number };
const area = (b: Box) => Math.max(0, b.x1 - b.x0) * Math.max(0, b.y1 - b.y0);
function iou(a: Box, b: Box): number {
  const i = area({
    x0: Math.max(a.x0, b.x0),
    y0: Math.max(a.y0, b.y0),
    x1: Math.min(a.x1, b.x1),
    y1: Math.min(a.y1, b.y1),
  });
  return i / (area(a) + area(b) - i);
}

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

Deno.test({
  name: "api: metrics, IOM perturbation, FAM episodes and gAP expansion equal independent computations",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async (t) => {
    await useBackend("wasm");
    const server = await spawnServer();
    const url = server.url;
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${url}${path}`, { method: "POST", body: JSON.stringify(body) });
      return { status: r.status, body: await r.json() };
    };
    const finish = async (id: string): Promise<Json> => {
      for (let i = 0; i < 120; i++) {
        const s = await (await fetch(`${url}/api/jobs/${id}?wait=2000`)).json();
        if (s.status === "done" || s.status === "failed" || s.status === "cancelled") return s;
      }
      throw new Error(`job ${id} did not finish`);
    };
    const run = async (body: unknown): Promise<Json> => {
      const r = await post("/api/jobs", body);
      assert.equal(r.status, 202, JSON.stringify(r.body));
      const s = await finish(r.body.id);
      assert.equal(s.status, "done", s.error);
      return { ...s.result, id: r.body.id };
    };
    try {
      const cat = await (await fetch(`${url}/api/catalog`)).json();
      const synthImg = cat.images.find((i: Json) => i.id === "synth:test-0");
      const s0 = synthSample("test", 0);
      assert.deepEqual(synthImg.box, [s0.box.x0, s0.box.y0, s0.box.x1, s0.box.y1]);
      assert.equal(synthImg.className, s0.className);
      assert.ok(!cat.models.some((m: Json) => "spec" in m), "no server paths in the catalogue");

      await t.step("metrics panel: Grad-CAM on vgg_bn against the synthetic box", async () => {
        const r = await run({ model: "eval:vgg_bn", image: "synth:test-0", method: "gradcam" });
        const g = await load("vgg_bn");
        const x = synthInput([s0.image]);
        const c = r.decision.class;
        const y = softmax((await forward(g, x))[0])[c];
        const xt = tf.tensor4d(x, [1, 64, 64, 3]);
        const cam = await camMethods.gradcam(g, xt, classLogit(c));
        xt.dispose();
        const up = upsampleMap(cam.map, cam.height, cam.width, 64, 64);
        const norm = minMax(up);
        let inside = 0, total = 0;
        for (let p = 0; p < 64 * 64; p++) {
          const px = p % 64, py = Math.floor(p / 64);
          total += norm[p];
          if (px >= s0.box.x0 && px < s0.box.x1 && py >= s0.box.y0 && py < s0.box.y1) inside += norm[p];
        }
        const est = largestComponentBox(norm, 64, 64);
        const x01 = new Float32Array(3 * 64 * 64);
        for (let p = 0; p < 64 * 64; p++) {
          for (let k = 0; k < 3; k++) x01[k * 4096 + p] = s0.image.data[p * 3 + k] / 255;
        }
        const masked = x01.map((v, i) => v * norm[i % 4096]);
        const o = softmax((await forward(g, chw01ToNhwc(masked)))[0])[c];
        const m = r.metrics;
        assert.deepEqual(m.box, s0.box);
        close(m.proportion, inside / total, 1e-4, "energy in box");
        assert.deepEqual(m.estimated, est);
        close(m.iou, iou(est, s0.box), 1e-9, "IoU");
        close(m.score, y, 1e-4, "Y");
        close(m.maskedScore, o, 1e-3, "O");
        close(m.averageDrop, Math.max(0, y - o) / y, 1e-3, "AD");
        assert.equal(m.increase, y < o ? 1 : 0);
        assert.match(m.image, /^data:image\/png;base64,/);
        g.dispose();
      });

      await t.step("IOM perturbation: outputs of X and of (1 − M) ∘ X", async () => {
        const r = await run({ model: "eval:iom_cnn6", image: "synth:test-1", method: "iom" });
        const g = await load("iom_cnn6");
        const s1 = synthSample("test", 1);
        const x = synthInput([s1.image]);
        const before = (await forward(g, x))[0];
        const c = before.indexOf(Math.max(...before));
        const xt = tf.tensor4d(x, [1, 64, 64, 3]);
        const { map } = await iom(g, xt, classLogit(c));
        xt.dispose();
        const hat = x.map((v, i) => (1 - Math.max(0, map[(i % 3) * 4096 + Math.floor(i / 3)])) * v);
        const after = (await forward(g, hat))[0];
        const p = r.perturbation;
        assert.equal(p.decided, c);
        assert.equal(p.outputs, 6);
        const pb = softmax(before), pa = softmax(after);
        const order = [...pb.keys()].sort((a, b) => pb[b] - pb[a]).slice(0, 5);
        assert.deepEqual(p.rows.map((row: Json) => row.index), order);
        for (const row of p.rows) {
          close(row.logitBefore, before[row.index], 1e-4, `logit ${row.index} before`);
          close(row.logitAfter, after[row.index], 1e-3, `logit ${row.index} after`);
          close(row.probBefore, pb[row.index], 1e-4, `p ${row.index} before`);
          close(row.probAfter, pa[row.index], 1e-3, `p ${row.index} after`);
        }
        close(p.decisionBefore, before[c], 1e-4, "decision before");
        close(p.decisionAfter, after[c], 1e-3, "decision after");
        assert.ok(p.decisionAfter < p.decisionBefore, "removing the evidence lowers the logit");
        assert.equal(p.rows[0].label, "triangle");
        g.dispose();
      });

      await t.step("FAM episode: 3-way 2-shot, 2 queries per class, on the few-shot classes", async () => {
        const r = await run({
          kind: "episode",
          model: "eval:fewshot_resnet",
          source: "synth",
          ways: 3,
          shots: 2,
          queries: 2,
          episode: 4,
        });
        const pool = synthSamples("fewshot", 60);
        const ep = fewShotEpisode(pool.map((s) => s.label), 4, { ways: 3, shots: 2, queries: 2, seed: 1 });
        const names = synthClassNames("fewshot");
        const g = await load("fewshot_resnet");
        const idx = [...ep.support.flat(), ...ep.query.flat()];
        const emb = await forward(g, synthInput(idx.map((i) => pool[i].image)), idx.length);
        const at = (i: number) => emb[idx.indexOf(i)];
        const cos = (a: Float32Array, b: Float32Array) => {
          let d = 0, na = 0, nb = 0;
          for (let k = 0; k < a.length; k++) [d, na, nb] = [d + a[k] * b[k], na + a[k] ** 2, nb + b[k] ** 2];
          return d / Math.sqrt(na * nb);
        };
        assert.deepEqual(r.classes.map((c: Json) => c.label), ep.classes.map((c) => names[c]));
        assert.equal(r.classes[0].supports.length, 2);
        const queries = ep.query.flatMap((q, j) => q.map((i) => ({ i, label: names[ep.classes[j]] })));
        assert.equal(r.queries.length, 6);
        let correct = 0;
        r.queries.forEach((q: Json, n: number) => {
          const sims = ep.support.map((s) =>
            (cos(at(queries[n].i), at(s[0])) + cos(at(queries[n].i), at(s[1]))) / 2
          );
          q.scores.forEach((s: Json, j: number) =>
            close(s.similarity, sims[j], 1e-4, `query ${n} class ${j}`)
          );
          const best = names[ep.classes[sims.indexOf(Math.max(...sims))]];
          assert.equal(q.prediction, best);
          assert.equal(q.label, queries[n].label);
          assert.equal(q.correct, best === queries[n].label);
          assert.equal(q.explained, best);
          assert.equal(q.supportMaps.length, 2, "the explained class's K supports");
          if (q.correct) correct++;
        });
        close(r.accuracy, correct / 6, 1e-12, "accuracy");
        g.dispose();
      });

      await t.step("gAP: a node expands on demand into the subtree hierarchy() builds", async () => {
        const r = await run({
          model: "eval:vgg_bn",
          image: "synth:test-2",
          method: "gap",
          options: { depth: 1 },
        });
        const layers = r.data.layers;
        assert.equal(r.data.tree.into, layers[0]);
        assert.equal(r.data.tree.children.length, 3);
        assert.ok(r.data.tree.children.every((c: Json) => c.children.length === 0));
        const g = await load("vgg_bn");
        const xt = tf.tensor4d(synthInput([synthSample("test", 2).image]), [1, 64, 64, 3]);
        const full = await hierarchy(g, xt, classLogit(r.decision.class), { depth: 3, maps: false });
        xt.dispose();
        g.dispose();
        const same = (got: Json[], want: Json[]) => {
          assert.equal(got.length, want.length);
          got.forEach((n, i) => {
            assert.deepEqual([n.layer, n.channel, n.position], [
              want[i].layer,
              want[i].channel,
              want[i].position,
            ]);
            close(n.contribution, want[i].contribution, 1e-4, `contribution of ${n.id}`);
          });
        };
        const expand = async (parent: string, node: string) => {
          const e = await post(`/api/jobs/${parent}/expand`, { node });
          assert.equal(e.status, 202, JSON.stringify(e.body));
          const s = await finish(e.body.id);
          assert.equal(s.status, "done", s.error);
          return s.result;
        };
        const e0 = await expand(r.id, "0");
        assert.equal(e0.into, layers[1]);
        assert.deepEqual(e0.children.map((c: Json) => c.id), ["0.0", "0.1", "0.2"]);
        same(e0.children, full.children[0].children);
        assert.deepEqual(e0.figures.map((f: Json) => f.node), ["0.0", "0.1", "0.2"]);
        const e01 = await expand(r.id, "0.1");
        same(e01.children, full.children[0].children[1].children);
        // The server keeps the grown tree.
        const kept = (await (await fetch(`${url}/api/jobs/${r.id}`)).json()).result;
        assert.equal(kept.data.tree.children[0].into, layers[1]);
        same(kept.data.tree.children[0].children[1].children, full.children[0].children[1].children);
        assert.ok(kept.figures.some((f: Json) => f.node === "0.1.2"));
        // Down to the shallowest layer, then nothing more to expand.
        let id = "0.1.0"; // in layers[2]
        for (let d = 2; d < layers.length - 1; d++) id = (await expand(r.id, id)).children[0].id;
        assert.equal(id.split(".").length, layers.length);
        const bad: [string, string, unknown, number, RegExp][] = [
          ["shallowest", r.id, { node: id }, 400, /shallowest layer/],
          ["again", r.id, { node: "0" }, 400, /already expanded/],
          ["missing", r.id, { node: "7" }, 400, /No tree node '7'/],
          ["traversal", r.id, { node: "../0" }, 400, /No tree node/],
          ["not json", r.id, "{", 400, /JSON/],
          ["unknown job", "j999", { node: "0" }, 404, /No job 'j999'/],
        ];
        for (const [what, job, body, status, re] of bad) {
          const res = await fetch(`${url}/api/jobs/${job}/expand`, {
            method: "POST",
            body: typeof body === "string" ? body : JSON.stringify(body),
          });
          assert.equal(res.status, status, what);
          assert.match((await res.json()).error, re, what);
        }
        const cam = await run({ model: "eval:vgg_bn", image: "synth:test-2", method: "gradcam" });
        const notGap = await post(`/api/jobs/${cam.id}/expand`, { node: "0" });
        assert.equal(notGap.status, 400);
        assert.match(notGap.body.error, /only gAP trees expand/);
      });

      await t.step("bad episode requests are one-line 400s", async () => {
        const cases: [unknown, RegExp][] = [
          [{ ways: 7 }, /ways must be 1\.\.6, got 7/],
          [{ shots: 0 }, /shots must be 1\.\.5, got 0/],
          [{ shots: 5, queries: 6 }, /queries must be 1\.\.5, got 6/],
          [{ source: "disk" }, /Unknown episode source 'disk'/],
          [
            { source: "samples", ways: 2, classes: [{ images: ["synth:fewshot-0"] }] },
            /Give 2 classes, got 1/,
          ],
          [
            {
              source: "samples",
              ways: 1,
              classes: [{ label: "a", images: ["../../etc/passwd"] }],
              queryImages: ["synth:fewshot-1"],
            },
            /Unknown support image '\.\.\/\.\.\/etc\/passwd'/,
          ],
        ];
        for (const [body, re] of cases) {
          const r = await post("/api/jobs", {
            kind: "episode",
            model: "eval:fewshot_resnet",
            ...(body as object),
          });
          assert.equal(r.status, 400, JSON.stringify(body));
          assert.match(r.body.error, re);
        }
      });
    } finally {
      await server.close();
    }
  },
});
