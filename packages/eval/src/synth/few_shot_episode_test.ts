import assert from "node:assert/strict";
import { fewShotEpisode } from "./few_shot_episode.ts";

const LABELS = Array.from({ length: 120 }, (_, i) => i % 6);

Deno.test("fewShotEpisode(): distinct classes, right labels, support and query disjoint, right sizes", () => {
  for (let e = 0; e < 50; e++) {
    const ep = fewShotEpisode(LABELS, e, { ways: 5, shots: 2, queries: 4 });
    assert.equal(new Set(ep.classes).size, 5);
    const used = new Set<number>();
    ep.classes.forEach((c, j) => {
      assert.equal(ep.support[j].length, 2);
      assert.equal(ep.query[j].length, 4);
      for (const i of [...ep.support[j], ...ep.query[j]]) {
        assert.equal(LABELS[i], c);
        assert.ok(!used.has(i), `item ${i} used twice`);
        used.add(i);
      }
    });
  }
});

Deno.test("fewShotEpisode(): deterministic per (seed, episode), different across episodes and seeds", () => {
  assert.deepEqual(fewShotEpisode(LABELS, 3), fewShotEpisode(LABELS, 3));
  assert.notDeepEqual(fewShotEpisode(LABELS, 3), fewShotEpisode(LABELS, 4));
  assert.notDeepEqual(fewShotEpisode(LABELS, 3, { seed: 1 }), fewShotEpisode(LABELS, 3, { seed: 2 }));
});

Deno.test("fewShotEpisode(): classes and items are drawn uniformly (each class in 5/6 of 5-way episodes)", () => {
  const inEpisode = new Array(6).fill(0);
  const asSupport = new Map<number, number>();
  const n = 3000;
  for (let e = 0; e < n; e++) {
    const ep = fewShotEpisode(LABELS, e, { ways: 5, shots: 1, queries: 1 });
    for (const c of ep.classes) inEpisode[c]++;
    const s = ep.support[ep.classes.indexOf(0)]?.[0];
    if (s !== undefined) asSupport.set(s, (asSupport.get(s) ?? 0) + 1);
  }
  for (const k of inEpisode) assert.ok(Math.abs(k / n - 5 / 6) < 0.03, `${k / n}`);
  // Class 0 has 20 items: each is the support about 1/20 of the time.
  assert.equal(asSupport.size, 20);
  const total = [...asSupport.values()].reduce((a, b) => a + b, 0);
  for (const v of asSupport.values()) assert.ok(Math.abs(v / total - 0.05) < 0.025);
});

Deno.test("fewShotEpisode(): only classes with enough items qualify; impossible episodes throw", () => {
  const labels = [0, 0, 0, 1, 1, 1, 2, 9, 9, 9];
  const ep = fewShotEpisode(labels, 0, { ways: 3, shots: 1, queries: 2 });
  assert.deepEqual(ep.classes.slice().sort((a, b) => a - b), [0, 1, 9]);
  assert.throws(
    () => fewShotEpisode(labels, 0, { ways: 4, shots: 1, queries: 2 }),
    /only 3 classes have 3 items/,
  );
  assert.throws(() => fewShotEpisode(labels, 0, { ways: 0 }), /ways must be an integer ≥ 1, got 0/);
  assert.throws(() => fewShotEpisode([0, -1], 0, { ways: 1, queries: 0 }), /Label 1 must be an integer/);
});
