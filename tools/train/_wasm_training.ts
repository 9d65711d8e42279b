/**
 * Makes tfjs-backend-wasm 4.22 able (and fast enough) to train convolutional networks, for the training
 * scripts only (library code never trains):
 *
 * - wasm registers no `Conv2DBackpropFilter` kernel, and its `Conv3DBackpropFilterV2` (the obvious stand-in)
 *   is wrong for strides > 1 (see `wasm_training_test.ts`). Both backprop kernels are registered here as
 *   ordinary *forward* convolutions, which wasm runs with XNNPACK: the filter gradient is the valid
 *   convolution of the padded input with the (stride-dilated) output gradient, batch and channels swapped;
 *   the input gradient is the valid convolution of the dilated, padded output gradient with the flipped,
 *   transposed kernel.
 * - wasm's `MaxPoolGrad` is wrong for most windows (every 2×2 pool; see `wasm_training_test.ts`): it is
 *   replaced by first-argmax routing built from strided slices, as tfjs-cpu routes.
 * - tfjs's BatchNorm gradient tiles `1/√(σ²+ε)` to the input's full shape; wasm's `Tile` is slow, so the
 *   gradient is re-registered with broadcasting (same values).
 *
 * Measured on this machine (a VGG-like net at 64×64, batch 32, before the MaxPoolGrad fix): 172 ms per image
 * per step with the Conv3D stand-in, 31 ms with these kernels.
 * @module
 */
import { tf } from "@cnnlens/core";

// deno-lint-ignore no-explicit-any
type Any = any;

function stride2(strides: number | number[]): [number, number] {
  return typeof strides === "number" ? [strides, strides] : [strides[0], strides[1]];
}

/** TensorFlow's padding before/after for one axis. */
function pads(pad: string, inSize: number, k: number, s: number): [number, number] {
  if (pad === "valid") return [0, 0];
  const out = Math.ceil(inSize / s);
  const total = Math.max((out - 1) * s + k - inSize, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Inserts `s − 1` zeros between the rows and columns of `dy`. */
function dilate(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return dy;
  const [n, ho, wo, c] = dy.shape;
  return tf.reshape(dy, [n, ho, 1, wo, 1, c])
    .pad([[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]])
    .reshape([n, ho * sh, wo * sw, c])
    .slice([0, 0, 0, 0], [n, (ho - 1) * sh + 1, (wo - 1) * sw + 1, c]) as tf.Tensor4D;
}

/** Shifts `x` down by `top` and right by `left` (negative: crops), then pads or crops to `h × w`. */
function placeIn(x: tf.Tensor4D, top: number, left: number, h: number, w: number): tf.Tensor4D {
  const [n, xh, xw, c] = x.shape;
  const p = tf.pad(x, [
    [0, 0],
    [Math.max(top, 0), Math.max(h - xh - top, 0)],
    [Math.max(left, 0), Math.max(w - xw - left, 0)],
    [0, 0],
  ]);
  return tf.slice(p, [0, Math.max(-top, 0), Math.max(-left, 0), 0], [n, h, w, c]);
}

/**
 * Gradient of a 2-D NHWC convolution with respect to its filter, through forward convolutions.
 * @param x Input [N, H, W, Cin].
 * @param dy Output gradient [N, Ho, Wo, Cout].
 * @param filterShape [kh, kw, Cin, Cout].
 * @param strides Strides.
 * @param pad "same" or "valid".
 * @returns dW [kh, kw, Cin, Cout].
 */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: number[],
  strides: number | number[],
  pad: string,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [sh, sw] = stride2(strides);
    const [kh, kw, ci, co] = filterShape;
    const d = dilate(dy, sh, sw);
    const xp = placeIn(
      x,
      pads(pad, x.shape[1], kh, sh)[0],
      pads(pad, x.shape[2], kw, sw)[0],
      d.shape[1] + kh - 1,
      d.shape[2] + kw - 1,
    );
    // dW[i, j, c, o] = Σ_{n, y, x} xp[n, y + i, x + j, c] · d[n, y, x, o].
    const out = tf.conv2d(tf.transpose(xp, [3, 1, 2, 0]), tf.transpose(d, [1, 2, 0, 3]), 1, "valid");
    return tf.transpose(out, [1, 2, 0, 3]).reshape([kh, kw, ci, co]) as tf.Tensor4D;
  });
}

/**
 * Gradient of a 2-D NHWC convolution with respect to its input, through a forward convolution.
 * @param xShape Input shape [N, H, W, Cin].
 * @param dy Output gradient [N, Ho, Wo, Cout].
 * @param filter Kernel [kh, kw, Cin, Cout].
 * @param strides Strides.
 * @param pad "same" or "valid".
 * @returns dx [N, H, W, Cin].
 */
export function conv2dInputGrad(
  xShape: number[],
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: number | number[],
  pad: string,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [sh, sw] = stride2(strides);
    const [kh, kw] = filter.shape;
    const [, h, w] = xShape;
    const d = dilate(dy, sh, sw);
    const dp = placeIn(
      d,
      kh - 1 - pads(pad, h, kh, sh)[0],
      kw - 1 - pads(pad, w, kw, sw)[0],
      h + kh - 1,
      w + kw - 1,
    );
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    return tf.conv2d(dp, flipped, 1, "valid");
  });
}

/**
 * Gradient of a 2-D NHWC max-pool with respect to its input: each output's gradient goes to the first
 * (raster-order) maximum of its window, summed where windows overlap — tfjs-cpu's rule.
 * @param x Input [N, H, W, C].
 * @param dy Output gradient [N, Ho, Wo, C].
 * @param k Window [kh, kw].
 * @param strides Strides.
 * @param pad "same" or "valid".
 * @returns dx [N, H, W, C].
 */
export function maxPoolInputGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  k: number | number[],
  strides: number | number[],
  pad: string,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = stride2(k);
    const [sh, sw] = stride2(strides);
    const [n, h, w, c] = x.shape;
    const [, ho, wo] = dy.shape;
    const [pt] = pads(pad, h, kh, sh), [pl] = pads(pad, w, kw, sw);
    const hp = (ho - 1) * sh + kh, wp = (wo - 1) * sw + kw;
    // Padding never wins the max.
    const valid = tf.greater(placeIn(tf.onesLike(x), pt, pl, hp, wp), 0);
    const masked = tf.where(
      valid,
      placeIn(x, pt, pl, hp, wp),
      tf.fill([n, hp, wp, c], -3.4e38),
    ) as tf.Tensor4D;
    const view = (a: number, b: number) =>
      tf.stridedSlice(masked, [0, a, b, 0], [n, a + (ho - 1) * sh + 1, b + (wo - 1) * sw + 1, c], [
        1,
        sh,
        sw,
        1,
      ]);
    const views: tf.Tensor[] = [];
    for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) views.push(view(a, b));
    const y = views.reduce((m, v) => tf.maximum(m, v));
    let taken: tf.Tensor = tf.zerosLike(y);
    let dxp: tf.Tensor = tf.zeros([n, hp, wp, c]);
    let i = 0;
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++, i++) {
        const hit = tf.mul(tf.cast(tf.equal(views[i], y), "float32"), tf.sub(1, taken));
        taken = tf.add(taken, hit);
        const routed = dilate(tf.mul(hit, dy) as tf.Tensor4D, sh, sw);
        dxp = tf.add(dxp, placeIn(routed, a, b, hp, wp));
      }
    }
    return placeIn(dxp as tf.Tensor4D, -pt, -pl, h, w);
  });
}

let patched = false;

/** Registers the two wasm kernels and the broadcasting BatchNorm gradient (once per process). */
export function enableWasmTraining(): void {
  if (patched) return;
  patched = true;
  // A kernel's inputs are TensorInfos the engine owns: take a backend reference before wrapping each in a
  // Tensor, so that disposing the wrapper gives that reference back and nothing else.
  const wrap = (t: Any) => {
    (tf.backend() as Any).incRef(t.dataId);
    return tf.engine().makeTensorFromTensorInfo(t) as tf.Tensor4D;
  };
  const check = (attrs: Any, what: string) => {
    const dil = [attrs.dilations ?? 1].flat();
    if (
      (attrs.dataFormat ?? "NHWC") !== "NHWC" || typeof attrs.pad !== "string" || dil.some((d) => d !== 1)
    ) {
      throw new Error(`${what} on wasm (training patch): NHWC, 'same'/'valid' padding, no dilation only`);
    }
  };
  tf.registerKernel({
    kernelName: "Conv2DBackpropFilter",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs }: Any) => {
      check(attrs, "Conv2DBackpropFilter");
      const x = wrap(inputs.x), dy = wrap(inputs.dy);
      const out = conv2dFilterGrad(x, dy, attrs.filterShape, attrs.strides, attrs.pad);
      tf.dispose([x, dy]);
      return out as Any;
    },
  });
  tf.registerKernel({
    kernelName: "Conv2DBackpropInput",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs }: Any) => {
      check(attrs, "Conv2DBackpropInput");
      const dy = wrap(inputs.dy), f = wrap(inputs.filter);
      const out = conv2dInputGrad(attrs.inputShape, dy, f, attrs.strides, attrs.pad);
      tf.dispose([dy, f]);
      return out as Any;
    },
  });
  tf.registerKernel({
    kernelName: "MaxPoolGrad",
    backendName: "wasm",
    kernelFunc: ({ inputs, attrs }: Any) => {
      if (typeof attrs.pad !== "string") {
        throw new Error("MaxPoolGrad on wasm (training patch): 'same'/'valid' only");
      }
      const dy = wrap(inputs.dy), x = wrap(inputs.input);
      const out = maxPoolInputGrad(x, dy, attrs.filterSize, attrs.strides, attrs.pad);
      tf.dispose([dy, x]);
      return out as Any;
    },
  });
  tf.registerGradient({
    kernelName: "FusedBatchNorm",
    inputsToSave: ["x", "mean", "variance", "scale"],
    gradFunc: (dy: Any, saved: Any, attrs: Any) => {
      const [x, mean, variance, scale] = saved as tf.Tensor[];
      const s = scale ?? tf.scalar(1);
      const lead = x.rank - mean.rank;
      const axes = x.shape.map((_, i) => i).filter((i) =>
        i < lead || (mean.shape[i - lead] === 1 && x.shape[i] !== 1)
      );
      const reduce = (t: tf.Tensor) => tf.reshape(axes.length ? tf.sum(t, axes) : t, mean.shape);
      const inv = tf.rsqrt(tf.add(variance, attrs.varianceEpsilon));
      return {
        x: () => tf.mul(dy, tf.mul(inv, s)),
        mean: () => reduce(tf.mul(dy, tf.neg(tf.mul(inv, s)))),
        variance: () => reduce(tf.mul(tf.mul(dy, tf.sub(x, mean)), tf.mul(tf.mul(s, tf.pow(inv, 3)), -0.5))),
        scale: () => reduce(tf.mul(dy, tf.mul(tf.sub(x, mean), inv))),
        offset: () => reduce(dy),
      };
    },
  });
}
