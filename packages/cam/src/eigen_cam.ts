/**
 * Eigen-CAM (Muhammad & Yeasin, IJCNN 2020).
 * @module
 */
import { tf } from "@cnnlens/core";
import { type CamFunction, defineCam } from "./base.ts";

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations (float64, in place). */
function jacobi(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let total = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        total += a[i * n + j] ** 2;
        if (i !== j) off += a[i * n + j] ** 2;
      }
    }
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cs = 1 / Math.sqrt(t * t + 1);
        const sn = t * cs;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = cs * akp - sn * akq;
          a[k * n + q] = sn * akp + cs * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = cs * apk - sn * aqk;
          a[q * n + k] = sn * apk + cs * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = cs * vkp - sn * vkq;
          v[k * n + q] = sn * vkp + cs * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/**
 * The leading eigenpair of a symmetric positive semi-definite matrix `g` (n × n, float64): Jacobi for
 * n ≤ 24, else subspace iteration on 8 vectors with a Rayleigh-Ritz step (Jacobi on 8 × 8) until the
 * residual ‖g x − θ x‖ is below 1e-9·θ.
 * @param g The matrix, row-major.
 * @param n Its size.
 * @returns Eigenvalue and unit eigenvector.
 * @example
 * ```ts
 * import { leadingEigenpair } from "@cnnlens/cam";
 * const { value, vector } = leadingEigenpair(Float64Array.of(2, 1, 1, 2), 2);
 * if (Math.abs(value - 3) > 1e-12 || Math.abs(Math.abs(vector[0]) - Math.SQRT1_2) > 1e-12) throw new Error();
 * ```
 */
export function leadingEigenpair(g: Float64Array, n: number): { value: number; vector: Float64Array } {
  if (n <= 24) {
    const { values, vectors } = jacobi(g.slice(), n);
    let best = 0;
    for (let i = 1; i < n; i++) if (values[i] > values[best]) best = i;
    return { value: values[best], vector: Float64Array.from({ length: n }, (_, k) => vectors[k * n + best]) };
  }
  const b = 8;
  let q: Float64Array = new Float64Array(n * b); // column-major blocks: q[j * n + i]
  let state = 12345;
  for (let i = 0; i < q.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    q[i] = state / 4294967296 - 0.5;
  }
  const mul = (src: Float64Array, cols: number) => {
    const out = new Float64Array(n * cols);
    for (let j = 0; j < cols; j++) {
      for (let r = 0; r < n; r++) {
        let s = 0;
        const row = r * n;
        for (let k = 0; k < n; k++) s += g[row + k] * src[j * n + k];
        out[j * n + r] = s;
      }
    }
    return out;
  };
  const orthonormalise = (z: Float64Array): Float64Array => {
    for (let j = 0; j < b; j++) {
      for (let i = 0; i < j; i++) {
        let d = 0;
        for (let k = 0; k < n; k++) d += z[i * n + k] * z[j * n + k];
        for (let k = 0; k < n; k++) z[j * n + k] -= d * z[i * n + k];
      }
      let nrm = 0;
      for (let k = 0; k < n; k++) nrm += z[j * n + k] ** 2;
      nrm = Math.sqrt(nrm) || 1;
      for (let k = 0; k < n; k++) z[j * n + k] /= nrm;
    }
    return z;
  };
  q = orthonormalise(q);
  let value = 0;
  let vector = new Float64Array(n);
  for (let iter = 0; iter < 2000; iter++) {
    const z = mul(q, b);
    // Rayleigh-Ritz: T = Qᵀ G Q.
    const t = new Float64Array(b * b);
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < b; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q[i * n + k] * z[j * n + k];
        t[i * b + j] = s;
      }
    }
    for (let i = 0; i < b; i++) {
      for (let j = 0; j < i; j++) t[i * b + j] = t[j * b + i] = (t[i * b + j] + t[j * b + i]) / 2;
    }
    const { values, vectors } = jacobi(t, b);
    let best = 0;
    for (let i = 1; i < b; i++) if (values[i] > values[best]) best = i;
    value = values[best];
    vector = new Float64Array(n);
    const gx = new Float64Array(n);
    for (let j = 0; j < b; j++) {
      const c = vectors[j * b + best];
      for (let k = 0; k < n; k++) {
        vector[k] += c * q[j * n + k];
        gx[k] += c * z[j * n + k];
      }
    }
    let res = 0;
    for (let k = 0; k < n; k++) res += (gx[k] - value * vector[k]) ** 2;
    if (Math.sqrt(res) <= 1e-9 * Math.abs(value) || value === 0) break;
    q = orthonormalise(z);
  }
  return { value, vector };
}

/**
 * The projection of one image's centred activations on their first principal component, with the sign
 * fixed so that the projection correlates positively with the total activation `Σ_k A_k`.
 * @param a Activations `[P, C]` (positions × channels, row-major).
 * @param p Positions.
 * @param c Channels.
 * @returns Projection `[P]`.
 * @example
 * ```ts
 * import { principalProjection } from "@cnnlens/cam";
 * // Two positions, one channel: the active position projects positively.
 * const p = principalProjection([0, 4], 2, 1);
 * if (p[0] !== -2 || p[1] !== 2) throw new Error("centred, sign fixed");
 * ```
 */
export function principalProjection(a: ArrayLike<number>, p: number, c: number): Float64Array {
  const m = new Float64Array(p * c);
  for (let k = 0; k < c; k++) {
    let mean = 0;
    for (let i = 0; i < p; i++) mean += Number.isNaN(a[i * c + k]) ? 0 : a[i * c + k];
    mean /= p;
    for (let i = 0; i < p; i++) m[i * c + k] = (Number.isNaN(a[i * c + k]) ? 0 : a[i * c + k]) - mean;
  }
  const proj = new Float64Array(p);
  if (p <= c) {
    // Gram of positions, M Mᵀ: its top eigenvector u gives the projection u·σ = M v.
    const g = new Float64Array(p * p);
    for (let i = 0; i < p; i++) {
      for (let j = i; j < p; j++) {
        let s = 0;
        for (let k = 0; k < c; k++) s += m[i * c + k] * m[j * c + k];
        g[i * p + j] = g[j * p + i] = s;
      }
    }
    const { value, vector } = leadingEigenpair(g, p);
    const sigma = Math.sqrt(Math.max(value, 0));
    for (let i = 0; i < p; i++) proj[i] = vector[i] * sigma;
  } else {
    // Covariance of channels, Mᵀ M: its top eigenvector v is the first principal direction.
    const g = new Float64Array(c * c);
    for (let i = 0; i < p; i++) {
      for (let k = 0; k < c; k++) {
        const mk = m[i * c + k];
        if (mk === 0) continue;
        for (let l = k; l < c; l++) g[k * c + l] += mk * m[i * c + l];
      }
    }
    for (let k = 0; k < c; k++) for (let l = 0; l < k; l++) g[k * c + l] = g[l * c + k];
    const { vector } = leadingEigenpair(g, c);
    for (let i = 0; i < p; i++) {
      let s = 0;
      for (let k = 0; k < c; k++) s += m[i * c + k] * vector[k];
      proj[i] = s;
    }
  }
  // Sign: an eigenvector's sign is arbitrary. Choose the one whose map rises where the layer is active.
  let dot = 0;
  let big = 0;
  for (let i = 0; i < p; i++) {
    let total = 0;
    for (let k = 0; k < c; k++) total += Number.isNaN(a[i * c + k]) ? 0 : a[i * c + k];
    dot += proj[i] * total;
    if (Math.abs(proj[i]) > Math.abs(proj[big])) big = i;
  }
  const flip = dot < 0 || (dot === 0 && proj[big] < 0);
  if (flip) { for (let i = 0; i < p; i++) proj[i] = -proj[i]; }
  return proj;
}

/**
 * Eigen-CAM: the projection of the layer's activations on their first principal component, as
 * pytorch-grad-cam's `get_2d_projection` computes it (activations as a positions × channels matrix,
 * centred per channel over positions, projected on the first right singular vector), then ReLU.
 * Class-agnostic: the decision is only reported. The singular vector's sign is arbitrary (SVD routines
 * differ); here it is fixed so that the projection has a positive covariance with the total activation
 * `Σ_k A_k` over positions (ties: the largest-magnitude entry is made positive).
 *
 * @param graph The graph.
 * @param input Input batch, backend layout `[N, H, W, C]`.
 * @param decision The decision (not used by the map).
 * @param options Layers and combination.
 * @returns The map at the layer's resolution, ReLU applied.
 * @example
 * ```ts
 * import { classLogit, tf, tinyNet } from "@cnnlens/core";
 * import { eigenCam } from "@cnnlens/cam";
 * const g = tinyNet();
 * const x = tf.randomNormal([1, 8, 8, 3], 0, 1, "float32", 1);
 * const a = await eigenCam(g, x, classLogit(0));
 * const b = await eigenCam(g, x, classLogit(2));
 * if (a.map.some((v, i) => v !== b.map[i])) throw new Error("class-agnostic");
 * x.dispose();
 * g.dispose();
 * ```
 */
export const eigenCam: CamFunction = defineCam({
  id: "eigencam",
  capture: "activations",
  image: async ({ activations }) => {
    const [n, h, w, c] = activations.shape as number[];
    const data = await activations.data() as Float32Array;
    const out = new Float32Array(n * h * w);
    for (let i = 0; i < n; i++) {
      out.set(principalProjection(data.subarray(i * h * w * c, (i + 1) * h * w * c), h * w, c), i * h * w);
    }
    return tf.tensor3d(out, [n, h, w]);
  },
});
