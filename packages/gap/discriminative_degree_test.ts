import assert from "node:assert/strict";
import { countTreeChannels, discriminativeDegree, discriminativeDegrees } from "./discriminative_degree.ts";
import type { GapTree, GapTreeNode } from "./hierarchy.ts";

const node = (layer: string, channel: number, children: GapTreeNode[] = []): GapTreeNode => ({
  layer,
  channel,
  position: [0, 0],
  contribution: 1,
  merged: [],
  children,
});
const tree = (children: GapTreeNode[]): GapTree => ({
  decision: { label: "", node: "fc", value: 0 },
  measure: "AA",
  into: "hi",
  alpha: [],
  children,
});

Deno.test("discriminativeDegree() is max_c N_c / Σ_c N_c (Eq. 13): 1 for one class, 1/C for all equally", () => {
  assert.equal(discriminativeDegree([0, 0, 7]), 1);
  assert.equal(discriminativeDegree([3, 3, 3]), 1 / 3);
  assert.equal(discriminativeDegree([1, 3]), 0.75);
  assert.equal(discriminativeDegree(new Map([["cat", 2], ["dog", 6]])), 0.75);
  assert.ok(Number.isNaN(discriminativeDegree([0, 0])));
  assert.throws(() => discriminativeDegree([1, -1]), RangeError);
});

Deno.test("countTreeChannels() and discriminativeDegrees() count tree nodes per layer, channel and class", () => {
  const entries = [
    // Image of class 0: hi channels 5 and 2; under 5, lo channels 1 and 1 (twice: two parents can share).
    { label: 0, tree: tree([node("hi", 5, [node("lo", 1)]), node("hi", 2, [node("lo", 1), node("lo", 4)])]) },
    { label: 0, tree: tree([node("hi", 5, [node("lo", 4)])]) },
    { label: 1, tree: tree([node("hi", 2, [node("lo", 1)])]) },
  ];
  const counts = countTreeChannels(entries);
  assert.deepEqual([...counts.get("hi")!.get(5)!], [[0, 2]]);
  assert.deepEqual([...counts.get("hi")!.get(2)!], [[0, 1], [1, 1]]);
  assert.deepEqual([...counts.get("lo")!.get(1)!], [[0, 2], [1, 1]]);
  const d = discriminativeDegrees(entries);
  assert.deepEqual(d.get("hi"), [{ channel: 2, degree: 0.5, total: 2 }, { channel: 5, degree: 1, total: 2 }]);
  assert.deepEqual(d.get("lo"), [{ channel: 1, degree: 2 / 3, total: 3 }, {
    channel: 4,
    degree: 1,
    total: 2,
  }]);
});
