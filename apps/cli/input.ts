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
    return { tensor, display: npyDisplay(data, shape[1], shape[2], shape[3]), source: path };
  }
  let img: RgbImage;
  try {
    img = await readImage(path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const [h, w] = model.size;
  const td = imageToTensorData(img, { size: [h, w], mean: model.mean, std: model.std, layout: "hwc" });
  const tensor = tf.tensor4d(td.data, [1, h, w, 3]);
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
  };
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
