/**
 * The protocols driven by a real tfjs model from the core: batching does not change the numbers, no
 * tensor leaks through the callbacks, and the randomisation cascade runs on re-initialised layers.
 */
import assert from "node:assert/strict";
import {
  classProbability,
  gradients,
  Graph,
  type GraphNode,
  runForward,
  tf,
  tinyNet,
  toBackendLayout,
  useBackend,
} from "@cnnlens/core";
import { evaluateMap, METRIC_IDS } from "./evaluate.ts";
import { cascadingRandomization } from "./randomization.ts";
import { spearman } from "./correlation.ts";
import type { ScoreFn } from "./types.ts";
import { assertClose, testRng } from "./_testing.ts";

await useBackend("cpu");

/** The class-c softmax probability of a batch of [3, 8, 8] inputs. */
function modelScore(graph: Graph, c: number): ScoreFn {
  const decision = classProbability(c);
  return async (inputs) => {
    const t = tf.tidy(() => {
      const batch = tf.tensor4d(concat(inputs), [inputs.length, 3, 8, 8]);
      const trace = runForward(graph, toBackendLayout(batch), { keep: [graph.output] });
      return decision.read(trace.get(graph.output));
    });
    const v = Array.from(await t.data());
    t.dispose();
    return v;
  };
}

function concat(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs.reduce((n, x) => n + x.length, 0));
  let o = 0;
  for (const x of xs) out.set(x, o), o += x.length;
  return out;
}

/** |∂score/∂input| summed over channels: a simple map to evaluate. */
async function gradientMap(graph: Graph, x: Float32Array, c: number): Promise<Float32Array> {
  const input = tf.tidy(() => toBackendLayout(tf.tensor4d(x, [1, 3, 8, 8])));
  const g = gradients(graph, input, classProbability(c), [graph.input], []);
  const grad = g.grads.get(graph.input)!; // [1, 8, 8, 3]
  const s = tf.tidy(() => tf.sum(tf.abs(grad), -1));
  const v = Float32Array.from(await s.data());
  s.dispose();
  g.dispose();
  input.dispose();
  return v;
}

const rand = testRng(77);
const x = Float32Array.from({ length: 3 * 64 }, () => rand() * 2 - 1);
const input = { data: x, shape: [3, 8, 8] };
const boxes = [{ x0: 2, y0: 2, x1: 6, y1: 7 }];

Deno.test("evaluateMap() on tinyNet: batch size 1 and 16 give the same numbers, and no tensor leaks", async () => {
  const graph = tinyNet(3);
  const score = modelScore(graph, 1);
  const map = { data: await gradientMap(graph, x, 1), shape: [8, 8] };
  const options = { metrics: [...METRIC_IDS], boxes, road: { percentiles: [0.2, 0.6] } };
  const one: ScoreFn = async (xs) => (await Promise.all(xs.map((v) => score([v])))).flat();
  const batched = await evaluateMap(input, map, score, options);
  const single = await evaluateMap(input, map, one, options);
  for (const k of Object.keys(batched)) assertClose(batched[k]!, single[k]!, 1e-6, 1e-5, k);
  assert.ok(batched.score! > 0 && batched.score! < 1);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) await evaluateMap(input, map, score, options);
  assert.equal(tf.memory().numTensors, before);
  graph.dispose();
});

Deno.test("cascadingRandomization() on tinyNet's layers re-initialised top-down", async () => {
  const graph = tinyNet(3);
  const layers = graph.nodes.filter((n) => Object.keys(n.params).length > 0).map((n) => n.name).reverse();
  assert.deepEqual(layers, ["fc", "bn2", "conv2", "conv1"]);
  const made: Graph[] = [];
  const randomized = (k: number): Graph => {
    const top = new Set(layers.slice(0, k));
    const nodes: GraphNode[] = graph.nodes.map((n) => ({
      ...n,
      params: top.has(n.name)
        ? Object.fromEntries(
          Object.entries(n.params).map(([key, p]) => [
            key,
            key === "variance"
              ? tf.randomUniform(p.shape, 0.5, 1.5, "float32", k)
              : tf.randomNormal(p.shape, 0, 0.5, "float32", k),
          ]),
        )
        : n.params,
    }));
    const g = new Graph(nodes, { input: graph.input, output: graph.output });
    made.push(g);
    return g;
  };
  const originals: Float32Array[] = [];
  const before = tf.memory().numTensors;
  const steps = await cascadingRandomization(async (k) => {
    const m = await gradientMap(k === 0 ? graph : randomized(k), x, 1);
    originals.push(m);
    return { data: m, shape: [8, 8] };
  }, layers);
  assert.equal(steps.length, 4);
  steps.forEach((s, i) => assertClose(s.spearman, spearman(originals[0], originals[i + 1]), 1e-12));
  assert.ok(steps.every((s) => s.spearman <= 1 && s.spearman >= -1 && s.spearman < 0.999));
  // Only the re-initialised parameters were added.
  const added = layers.reduce(
    (n, _l, i) =>
      n + layers.slice(0, i + 1).reduce((m, l) => m + Object.keys(graph.node(l).params).length, 0),
    0,
  );
  assert.equal(tf.memory().numTensors, before + added);
  for (const [i, g] of made.entries()) {
    for (const l of layers.slice(0, i + 1)) for (const p of Object.values(g.node(l).params)) p.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
  graph.dispose();
});
