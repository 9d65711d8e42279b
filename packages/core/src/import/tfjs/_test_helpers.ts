/**
 * Private helpers for the TensorFlow.js importer tests: fixture paths, inputs, and reading core values
 * in Keras (NHWC) terms so they compare element by element with tfjs's own outputs.
 * @module
 */
import { tf } from "../../tf.ts";
import type { Tensor } from "../../tf.ts";
import { loadNpy } from "../../io/npy.ts";

/** The fixture folder. */
export const FIXTURES = new URL("../../../testdata/tfjs/", import.meta.url).pathname;

/** Layers-model fixtures (see tools/make_tfjs_fixtures.ts). */
export const LAYERS_FIXTURES = [
  "sequential_cnn",
  "sequential_cnn_uint8",
  "functional_branches",
  "functional_branches_float16",
  "se_block",
  "se_block_uint16",
  "flatten_output",
];

/** Path of a fixture's model.json. */
export function modelPath(name: string): string {
  return `${FIXTURES}${name}/model.json`;
}

/** A fixture's committed input, as the NHWC batch both tfjs and the core take, and its expected output. */
export async function fixtureIO(name: string): Promise<{ x: Tensor; expected: Float32Array }> {
  const inp = await loadNpy(`${FIXTURES}${name}/input.npy`);
  const x = tf.tidy(() =>
    tf.transpose(tf.tensor4d(inp.data as Float32Array, inp.shape as [number, number, number, number]), [
      0,
      2,
      3,
      1,
    ])
  );
  const expected = (await loadNpy(`${FIXTURES}${name}/output.npy`)).data as Float32Array;
  return { x, expected };
}

/** Values of a tensor (async read, works on every backend). */
export async function read(t: Tensor): Promise<Float32Array> {
  return Float32Array.from(await t.data() as Float32Array);
}

/**
 * Reorder a batch of C, H, W-ordered flattened vectors into H, W, C order (Keras's flatten order).
 * @param v Values [N, C·H·W], row-major.
 * @param chw The map shape [C, H, W].
 * @returns Values in Keras order.
 */
export function chwToHwcOrder(v: Float32Array, [c, h, w]: number[]): Float32Array {
  const f = c * h * w;
  const out = new Float32Array(v.length);
  for (let n = 0; n < v.length / f; n++) {
    for (let ci = 0; ci < c; ci++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) out[n * f + (y * w + x) * c + ci] = v[n * f + (ci * h + y) * w + x];
      }
    }
  }
  return out;
}
