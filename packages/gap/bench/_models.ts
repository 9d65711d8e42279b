/**
 * The benchmark models: VGG-16 and ResNet-50 as the core builds them, at any input size.
 * @module
 */
import { type Graph, Graph as GraphClass, resnet50, type Tensor, tf, vgg16 } from "@cnnlens/core";

/** torchvision's AdaptiveAvgPool2d bins along one axis: output i averages inputs [⌊i·n/m⌋, ⌈(i+1)·n/m⌉). */
export function adaptiveBins(n: number, m: number): number[][] {
  return Array.from({ length: m }, (_, i) => {
    const a = Math.floor((i * n) / m);
    const b = Math.ceil(((i + 1) * n) / m);
    return Array.from({ length: b - a }, (_, j) => a + j);
  });
}

/**
 * VGG-16 at `size`×`size`. The core's `vgg16()` needs a 7×7 map before the classifier (inputs ≥ 224);
 * torchvision runs smaller inputs through `AdaptiveAvgPool2d((7, 7))`, which is linear, so it is folded
 * here into the first classifier layer: `W'[(c, j, j'), o] = Σ_{i, i'} P[i, j] P[i', j'] W[(c, i, i'), o]`
 * with `P` the adaptive pooling matrix. The result computes exactly torchvision's VGG-16 on that input.
 * @param size Input size (32 to 224).
 * @param options Width multiplier and seed.
 * @returns The graph.
 */
export function vgg16At(
  size: number,
  options: { width?: number; seed?: number; classes?: number } = {},
): Graph {
  // Seed 1 by default: tfjs treats seed 0 as "no seed", so the core's default seed 0 leaves the first
  // parameter random from run to run.
  const g = vgg16({ ...options, seed: options.seed ?? 1, size: [224, 224] });
  if (size === 224) return g;
  let f = size; // five 2×2 max-pools (floor)
  for (let i = 0; i < 5; i++) f = Math.floor(f / 2);
  if (f < 1 || f >= 7) throw new RangeError(`vgg16At(): use a size in 32..223 or 224, got ${size}`);
  const fc = g.node("classifier.0");
  const w = fc.params.weight; // [C·49, O], rows in (c, i, i') order
  const C = w.shape[0] / 49;
  const O = w.shape[1]!;
  const P = new Float32Array(7 * f); // [7 (i), f (j)]
  adaptiveBins(f, 7).forEach((bin, i) => bin.forEach((j) => P[i * f + j] = 1 / bin.length));
  const folded = tf.tidy(() => {
    const p = tf.tensor2d(P, [7, f]);
    let t: Tensor = tf.transpose(tf.reshape(w, [C, 7, 7, O]), [0, 2, 3, 1]); // [C, i', O, i]
    t = tf.matMul(tf.reshape(t, [-1, 7]), p); // [C·i'·O, j]
    t = tf.transpose(tf.reshape(t, [C, 7, O, f]), [0, 3, 2, 1]); // [C, j, O, i']
    t = tf.matMul(tf.reshape(t, [-1, 7]), p); // [C·j·O, j']
    return tf.reshape(tf.transpose(tf.reshape(t, [C, f, O, f]), [0, 1, 3, 2]), [C * f * f, O]);
  });
  w.dispose();
  fc.params.weight = folded;
  g.nodes[0].shape = [3, size, size];
  return new GraphClass(g.nodes, { input: g.input, output: g.output });
}

/** The two benchmark models by name. */
export function benchModel(name: "vgg16" | "resnet50", size: number): Graph {
  return name === "vgg16" ? vgg16At(size) : resnet50({ size: [size, size], seed: 1 });
}
