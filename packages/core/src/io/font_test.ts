import assert from "node:assert/strict";
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyphRows, textWidth } from "./font.ts";

Deno.test("every printable ASCII character has a 5x7 glyph, and only space is blank", () => {
  for (let code = 32; code <= 126; code++) {
    const rows = glyphRows(String.fromCharCode(code));
    assert.equal(rows.length, GLYPH_HEIGHT);
    assert.ok(rows.every((r) => r >= 0 && r < 1 << GLYPH_WIDTH));
    assert.equal(rows.some((r) => r !== 0), code !== 32, `glyph ${code}`);
  }
});

Deno.test("glyphs are distinct where it matters and unknown characters draw as '?'", () => {
  const key = (ch: string) => glyphRows(ch).join(",");
  const shapes = new Set(Array.from("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", key));
  assert.equal(shapes.size, 62);
  assert.deepEqual(glyphRows("A"), [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001]);
  assert.equal(key("é"), key("?"));
  assert.equal(key("\n"), key("?"));
});

Deno.test("textWidth counts advances without a trailing gap", () => {
  assert.equal(textWidth(""), 0);
  assert.equal(textWidth("A"), GLYPH_WIDTH);
  assert.equal(textWidth("conv5"), 5 * GLYPH_ADVANCE - 1);
  assert.equal(textWidth("conv5", 2), 58);
});
