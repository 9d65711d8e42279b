import assert from "node:assert/strict";
import { ManifestError, parseManifest, readManifest } from "./manifest.ts";

Deno.test("parseManifest() reads image, label, boxes and keeps other fields", () => {
  const text = [
    '{"image": "a.jpg", "label": 3, "boxes": [[0, 0, 10, 20], {"x0": 1, "y0": 2, "x1": 3, "y1": 4}], "id": "n01"}',
    "",
    '  {"image": "b.jpg", "label": "tabby cat"}  ',
    '{"image": "c.jpg", "boxes": []}\r',
  ].join("\n");
  const m = parseManifest(text);
  assert.equal(m.length, 3);
  assert.deepEqual(m[0], {
    index: 0,
    line: 1,
    image: "a.jpg",
    label: 3,
    boxes: [{ x0: 0, y0: 0, x1: 10, y1: 20 }, { x0: 1, y0: 2, x1: 3, y1: 4 }],
    extra: { id: "n01" },
  });
  assert.deepEqual([m[1].index, m[1].line, m[1].label, m[1].boxes], [1, 3, "tabby cat", []]);
  assert.deepEqual([m[2].index, m[2].line, "label" in m[2]], [2, 4, false]);
});

Deno.test("parseManifest() converts inclusive and x-y-w-h boxes to half-open", () => {
  const line = '{"image": "a.jpg", "boxes": [[2, 3, 5, 7]]}';
  assert.deepEqual(parseManifest(line, { boxFormat: "xyxy-inclusive" })[0].boxes, [{
    x0: 2,
    y0: 3,
    x1: 6,
    y1: 8,
  }]);
  assert.deepEqual(parseManifest(line, { boxFormat: "xywh" })[0].boxes, [{ x0: 2, y0: 3, x1: 7, y1: 10 }]);
  assert.throws(() => parseManifest(line, { boxFormat: "yolo" as "xywh" }), RangeError);
});

Deno.test("parseManifest() errors are one line naming the source, the line number and the problem", () => {
  const cases: [string, RegExp][] = [
    ['{"image": "a.jpg"}\n{"image": "b.jpg",}', /^m\.jsonl:2: not valid JSON/],
    ["[1, 2]", /^m\.jsonl:1: expected a JSON object, got \[1,2\]$/],
    ['{"label": 1}', /^m\.jsonl:1: "image" must be a non-empty string, got undefined$/],
    ['{"image": ""}', /"image" must be a non-empty string/],
    [
      '\n\n{"image": "a", "label": 1.5}',
      /^m\.jsonl:3: "label" must be a class index \(integer ≥ 0\) or a class name, got 1\.5$/,
    ],
    ['{"image": "a", "boxes": [0, 0, 1, 1]}', /^m\.jsonl:1: box 0 must be \[x0, y0, x1, y1\], got 0$/],
    ['{"image": "a", "boxes": [[0, 0, 1]]}', /box 0 must be 4 finite numbers/],
    ['{"image": "a", "boxes": [[5, 0, 1, 1]]}', /^m\.jsonl:1: box 0 \[5,0,1,1\] is invalid/],
    ['{"image": "a", "boxes": {"x0": 0}}', /"boxes" must be a list of boxes/],
    ["\n  \n", /^m\.jsonl: no entries/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => parseManifest(text, { source: "m.jsonl" }), (err: unknown) => {
      assert.ok(err instanceof ManifestError && err instanceof SyntaxError);
      assert.match(err.message, re);
      assert.ok(!err.message.includes("\n"), "one line");
      return true;
    });
  }
  assert.throws(() => parseManifest('{"image": "a"}\n{"image": 3}'), (err: unknown) => {
    assert.ok(err instanceof ManifestError);
    assert.deepEqual([err.source, err.line], ["manifest", 2]);
    return true;
  });
});

Deno.test("readManifest() resolves relative image paths against the manifest's folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/m.jsonl`, '{"image": "imgs/x.png"}\n{"image": "/abs/y.png"}\n');
    const m = await readManifest(`${dir}/m.jsonl`);
    assert.deepEqual(m.map((e) => e.image), [`${dir}/imgs/x.png`, "/abs/y.png"]);
    await assert.rejects(
      () => readManifest(`${dir}/missing.jsonl`),
      /missing\.jsonl: cannot read the manifest/,
    );
    await Deno.writeTextFile(`${dir}/bad.jsonl`, '{"image": "a"}\nnope\n');
    await assert.rejects(() => readManifest(`${dir}/bad.jsonl`), new RegExp(`bad\\.jsonl:2: not valid JSON`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
