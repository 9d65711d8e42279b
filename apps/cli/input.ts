import { imageToTensorData, loadNpy, readImage, type RgbImage, tf } from "@cnnlens/core";
import type { Tensor } from "@cnnlens/core";
import { UsageError } from "./errors.ts";
import type { LoadedModel } from "./load.ts";

/** An input ready for the model, plus a picture to draw explanations on. */
export interface LoadedInput {
  /** Backend layout [1, H, W, C]. */
  tensor: Tensor;
  /** The image shown under overlays (the resized input, or a view of a .npy tensor). */
  display: RgbImage;
  source: string;
  /** The original picture's size (before resizing to the model). */
  original: { width: number; height: number };
}

/**
 * Load `--input`: a PNG/JPEG (resized to the model size, normalised with mean/std) or a .npy tensor used
 * exactly as given.
 * @param path File path.
 * @param model The model (size and normalisation).
 * @returns The input.
 */
export async function loadInput(path: string, model: LoadedModel): Promise<LoadedInput> {
  try {
    await Deno.stat(path);
  } catch {
    throw new UsageError(`Cannot read input '${path}': no such file`);
  }
  if (path.endsWith(".npy")) {
    const arr = await loadNpy(path);
    const shape = arr.shape.length === 3 ? [1, ...arr.shape] : arr.shape;
    if (shape.length !== 4 || shape[0] !== 1) {
      throw new UsageError(
        `Cannot use input '${path}': expected shape (1, C, H, W) or (C, H, W), got (${arr.shape})`,
      );
    }
    const want = model.graph.node(model.graph.input).shape;
    if (shape[1] !== want[0] || shape[2] !== want[1] || shape[3] !== want[2]) {
      throw new UsageError(
        `Cannot use input '${path}': shape (${arr.shape}) does not match the model input (1, ${
          want.join(", ")
        })`,
      );
    }
    const data = Float32Array.from(arr.data as ArrayLike<number>);
    const tensor = tf.tidy(() =>
      tf.transpose(tf.tensor4d(data, shape as [number, number, number, number]), [0, 2, 3, 1])
    );
    return {
      tensor,
      display: displaySize(npyDisplay(data, shape[1], shape[2], shape[3])),
      source: path,
      original: { width: shape[3], height: shape[2] },
    };
  }
  let img: RgbImage;
  try {
    img = await readImage(path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [h, w] = model.size;
  const data = model.preprocess
    ? model.preprocess(img)
    : imageToTensorData(img, { size: [h, w], mean: model.mean, std: model.std, layout: "hwc" }).data;
  const tensor = tf.tensor4d(data, [1, h, w, 3]);
  const display = imageToTensorData(img, {
    size: [h, w],
    mean: [0, 0, 0],
    std: [1 / 255, 1 / 255, 1 / 255],
    layout: "hwc",
  });
  return {
    tensor,
    display: {
      width: w,
      height: h,
      data: Uint8Array.from(display.data, (v) => Math.max(0, Math.min(255, Math.round(v)))),
    },
    source: path,
    original: { width: img.width, height: img.height },
  };
}

/** Enlarge small pictures by an integer factor (nearest neighbour) so overlays and labels stay readable. */
export function displaySize(img: RgbImage, min = 224): RgbImage {
  const f = Math.ceil(min / Math.min(img.width, img.height));
  if (f <= 1) return img;
  const w = img.width * f;
  const h = img.height * f;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (Math.floor(y / f) * img.width + Math.floor(x / f)) * 3;
      out.set(img.data.subarray(s, s + 3), (y * w + x) * 3);
    }
  }
  return { width: w, height: h, data: out };
}

function npyDisplay(chw: Float32Array, c: number, h: number, w: number): RgbImage {
  const out = new Uint8Array(h * w * 3);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of chw) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const s = hi > lo ? 255 / (hi - lo) : 0;
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.round((chw[Math.min(k, c - 1) * h * w + i] - lo) * s);
  }
  return { width: w, height: h, data: out };
}
