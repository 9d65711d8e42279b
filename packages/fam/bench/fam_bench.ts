/**
 * FAM benchmark (issue #6): one FAM explanation (a query and one reference) and a 5-way 1-shot episode
 * with 15 queries, on ResNet-18 embeddings (the last feature map, GAP, 512-d), per backend, each paired
 * with the forward passes it needs (the same images, batched, up to the embedding, read back).
 *
 *   npx deno bench -A --no-check packages/fam/bench                        # 112×112, cpu + wasm
 *   CNNLENS_BENCH_FULL=1 npx deno bench -A --no-check packages/fam/bench   # 224×224
 *
 * Every iteration times the forward baseline and the FAM call back to back, in alternating order (Deno's
 * table shows the FAM call; the baseline is outside `b.start()`/`b.end()`), so the printed ratio
 * FAM / forward is the median of paired ratios, robust to a machine whose load drifts.
 *
 * Env: CNNLENS_BENCH_BACKENDS=cpu,wasm,webgpu (a software WebGPU adapter is skipped unless named there),
 * CNNLENS_BENCH_N=iterations per case (default 3).
 * @module
 */
import { benchBackends, resnet18, runForward, tf, useBackend } from "@cnnlens/core";
import type { BackendName, Graph } from "@cnnlens/core";
import { episode, fam } from "../mod.ts";

const FULL = Deno.env.get("CNNLENS_BENCH_FULL") === "1";
const SIZE = FULL ? 224 : 112;
const N = Number(Deno.env.get("CNNLENS_BENCH_N") ?? 3);
// Which backends run here (a software WebGPU adapter only when named).
const backends: { name: BackendName; description: string }[] = [];
for (const b of await benchBackends(["cpu", "wasm"])) {
  try {
    const info = await useBackend(b);
    backends.push({ name: b, description: info.description });
  } catch (e) {
    console.log(`skipping ${b}: ${(e as Error).message}`);
  }
}

interface Setup {
  backend: BackendName;
  graph: Graph;
  layer: string;
  query: tf.Tensor;
  reference: tf.Tensor;
  pair: tf.Tensor;
  support: tf.Tensor[];
  queries: tf.Tensor;
  episodeBatch: tf.Tensor;
}
let current: Setup | null = null;
let layerShape = "";

async function setup(backend: BackendName): Promise<Setup> {
  if (current?.backend === backend) return current;
  if (current) {
    const c = current;
    tf.dispose([c.query, c.reference, c.pair, ...c.support, c.queries, c.episodeBatch]);
    c.graph.dispose();
  }
  await useBackend(backend);
  const graph = resnet18({ size: [SIZE, SIZE], seed: 1 });
  const img = (seed: number, k = 1) => tf.randomNormal([k, SIZE, SIZE, 3], 0, 1, "float32", seed);
  const query = img(1);
  const reference = img(2);
  const support = [3, 4, 5, 6, 7].map((s) => img(s));
  const queries = img(8, 15);
  const l = graph.lastSpatialNode();
  layerShape = `${l.name} [${l.shape.join(" × ")}]`;
  current = {
    backend,
    graph,
    layer: l.name,
    query,
    reference,
    pair: tf.concat([query, reference]),
    support,
    queries,
    episodeBatch: tf.concat([...support, queries]),
  };
  return current;
}

/** The forward passes FAM needs: the batch up to the layer, GAP to the embedding, read back. */
async function forward(s: Setup, batch: tf.Tensor): Promise<void> {
  const trace = runForward(s.graph, batch, { keep: [s.layer], until: s.layer });
  const z = tf.mean(trace.get(s.layer), [1, 2]);
  await z.data();
  z.dispose();
  trace.dispose();
}

type Case = "explanation" | "episode";
const times = new Map<string, { forward: number; fam: number }[]>();

function bench(
  backend: BackendName,
  c: Case,
  baseline: (s: Setup) => Promise<void>,
  run: (s: Setup) => Promise<unknown>,
) {
  Deno.bench({
    name: c === "explanation"
      ? `${backend} ${SIZE}×${SIZE}: FAM, query + 1 reference`
      : `${backend} ${SIZE}×${SIZE}: episode 5-way 1-shot, 15 queries`,
    group: backend,
    n: N,
    warmup: 1,
    async fn(b) {
      const s = await setup(backend);
      const key = `${backend}/${c}`;
      const runs = times.get(key) ?? [];
      const timed = async (f: () => Promise<unknown>) => {
        const t = performance.now();
        await f();
        return performance.now() - t;
      };
      // Alternate which goes first, so neither profits from the other's warm caches.
      const famFirst = runs.length % 2 === 1;
      const forwardBefore = famFirst ? 0 : await timed(() => baseline(s));
      b.start();
      const famMs = await timed(() => run(s));
      b.end();
      const forwardMs = famFirst ? await timed(() => baseline(s)) : forwardBefore;
      times.set(key, [...runs, { forward: forwardMs, fam: famMs }]);
    },
  });
}

for (const { name } of backends) {
  bench(name, "explanation", (s) => forward(s, s.pair), (s) => fam(s.graph, s.query, s.reference));
  bench(
    name,
    "episode",
    (s) => forward(s, s.episodeBatch),
    (s) => episode(s.graph, s.support.map((images, i) => ({ class: i, images })), s.queries),
  );
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let printed = false;
Deno.bench({
  name: "summary (prints the ratio table)",
  group: "summary", // grouped and registered last, so it runs last
  n: 1,
  warmup: 0,
  fn() {
    if (printed) return;
    printed = true;
    const cell = (backend: string, c: Case) => {
      const runs = (times.get(`${backend}/${c}`) ?? []).slice(1); // drop the warm-up
      if (!runs.length) return "n/a | n/a | n/a";
      const f = median(runs.map((r) => r.fam));
      const b = median(runs.map((r) => r.forward));
      const ratio = median(runs.map((r) => r.fam / r.forward));
      return `${f.toFixed(0)} | ${b.toFixed(0)} | ${ratio.toFixed(2)}×`;
    };
    console.log([
      "",
      `ResNet-18 ${SIZE}×${SIZE}, layer ${layerShape}, GAP embedding (512-d); medians of ${N} paired runs (ms)`,
      "| backend | FAM, query + 1 ref | forward ×2 | ratio | episode, 20 images | forward ×20 | ratio |",
      "| --- | --- | --- | --- | --- | --- | --- |",
      ...backends.map(({ name, description }) =>
        `| ${name} (${description}) | ${cell(name, "explanation")} | ${cell(name, "episode")} |`
      ),
      "",
    ].join("\n"));
  },
});
