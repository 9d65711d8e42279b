import { type Tensor, tf } from "@cnnlens/core";

/** Stopping rules and damping of {@linkcode lsqr}. */
export interface LsqrOptions {
  /**
   * Relative tolerance: stop when `‖A x − b‖ ≤ tol·‖b‖` (a consistent system is solved) or when
   * `‖Aᵀ(b − A x) − λ²x‖ ≤ tol·‖Ā‖·‖r̄‖` (the (damped) least-squares optimum is reached).
   * @default 1e-3
   */
  tolerance?: number;
  /** Iteration cap (one `A` and one `Aᵀ` product each). @default 40 */
  maxIterations?: number;
  /**
   * Damping `λ ≥ 0`: minimise `‖A x − b‖² + λ²‖x‖²` (Tikhonov). 0 gives the minimum-norm least-squares
   * solution.
   * @default 0
   */
  damp?: number;
}

/** How a solve went. */
export interface SolveStats {
  /** Iterations run. */
  iterations: number;
  /** Relative residual `‖A x − b‖ / ‖b‖` (the share of `b` the solution does not reproduce). */
  residual: number;
  /**
   * Relative normal-equation residual `‖Aᵀ(b − A x) − λ²x‖ / (‖Ā‖·‖r̄‖)` of the (damped) problem, 0 at its
   * optimum (`Ā = [A; λI]`, `r̄ = [b − A x; −λx]`).
   */
  normalResidual: number;
  /** Whether a tolerance was met before the iteration cap. */
  converged: boolean;
  /** The damping `λ` used. */
  damp: number;
}

/** What {@linkcode lsqr} returns. */
export interface LsqrResult extends SolveStats {
  /** The solution (caller disposes). */
  x: Tensor;
}

async function read(t: Tensor): Promise<Float32Array> {
  const v = await t.data() as Float32Array;
  t.dispose();
  return v;
}

/**
 * LSQR (Paige & Saunders, 1982): the minimum-norm least-squares solution of `A x = b` — or, with
 * `damp = λ > 0`, the minimiser of `‖A x − b‖² + λ²‖x‖²` — for a linear map given only as the products
 * `A v` and `Aᵀ u`. Started from `x = 0`, the iterates stay in the row space of `A`, so an undetermined or
 * rank-deficient `A` gets the minimum-norm solution, and a tall full-rank `A` the least-squares one. One
 * device-to-host read per iteration (the two norms of the bidiagonalisation).
 *
 * @param apply `v ↦ A v` (returns a new tensor; must not dispose `v`).
 * @param applyT `u ↦ Aᵀ u` (returns a new tensor; must not dispose `u`).
 * @param b Right-hand side (caller keeps ownership).
 * @param options Tolerance, iteration cap, damping.
 * @returns The solution and how the solve went.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { lsqr } from "@cnnlens/naflow";
 * // Minimum-norm solution of x0 + x1 = 2 is (1, 1).
 * const a = tf.tensor2d([[1, 1]]);
 * const b = tf.tensor2d([[2]], [1, 1]);
 * const r = await lsqr((v) => tf.matMul(a, v), (u) => tf.matMul(a, u, true), b, { tolerance: 1e-6 });
 * const x = await r.x.data();
 * if (Math.abs(x[0] - 1) > 1e-5 || Math.abs(x[1] - 1) > 1e-5) throw new Error("expected (1, 1)");
 * [a, b, r.x].forEach((t) => t.dispose());
 * ```
 */
export async function lsqr(
  apply: (v: Tensor) => Tensor,
  applyT: (u: Tensor) => Tensor,
  b: Tensor,
  options: LsqrOptions = {},
): Promise<LsqrResult> {
  const tol = options.tolerance ?? 1e-3;
  const maxIt = options.maxIterations ?? 40;
  const damp = options.damp ?? 0;
  if (!(damp >= 0)) throw new RangeError(`LSQR damping must be ≥ 0, got ${damp}`);
  const atb = applyT(b);
  const [bnorm, atbnorm] = await read(tf.tidy(() => tf.stack([tf.norm(b), tf.norm(atb)])));
  if (!(bnorm > 0) || !(atbnorm > 0)) {
    // b = 0, or b orthogonal to the range of A: x = 0 solves the (least-squares) problem.
    const x = tf.zerosLike(atb);
    atb.dispose();
    return { x, iterations: 0, residual: bnorm > 0 ? 1 : 0, normalResidual: 0, converged: true, damp };
  }
  // β₁u₁ = b, α₁v₁ = Aᵀu₁.
  let beta = bnorm;
  let alpha = atbnorm / bnorm;
  let u = tf.tidy(() => tf.div(b, beta));
  let v = tf.tidy(() => tf.div(atb, atbnorm));
  atb.dispose();
  let x = tf.zerosLike(v);
  let w = v.clone();
  let phiBar = beta;
  let rhoBar = alpha;
  let anorm2 = 0;
  let res2 = 0; // Σ ψ², the damping part of the residual
  let rnorm = bnorm;
  let arnorm = alpha * beta;
  let it = 0;
  let converged = false;
  try {
    while (it < maxIt) {
      it++;
      // Bidiagonalisation: β u ← A v − α u;  α v ← Aᵀ u − β v (both norms read in one transfer).
      const [un, q, both] = tf.tidy(() => {
        const p = tf.sub(apply(v), tf.mul(u, alpha));
        const bt = tf.norm(p);
        const next = tf.div(p, tf.maximum(bt, 1e-30));
        const qq = tf.sub(applyT(next), tf.mul(v, bt));
        return [next, qq, tf.stack([bt, tf.norm(qq)])];
      });
      const ab = await read(both);
      u.dispose();
      u = un;
      beta = ab[0];
      const alphaNew = ab[1];
      anorm2 += alpha * alpha + beta * beta + damp * damp;
      // Eliminate the damping, then the subdiagonal β, by plane rotations.
      const rhoBar1 = Math.hypot(rhoBar, damp);
      const c1 = rhoBar / rhoBar1;
      const psi = (damp / rhoBar1) * phiBar;
      phiBar = c1 * phiBar;
      const rho = Math.hypot(rhoBar1, beta);
      const c = rhoBar1 / rho;
      const s = beta / rho;
      const theta = s * alphaNew;
      rhoBar = -c * alphaNew;
      const phi = c * phiBar;
      phiBar = s * phiBar;
      const xOld = x;
      x = tf.tidy(() => tf.add(xOld, tf.mul(w, phi / rho)));
      xOld.dispose();
      const vOld = v;
      v = tf.tidy(() => tf.div(q, alphaNew || 1));
      q.dispose();
      vOld.dispose();
      const wOld = w;
      w = tf.tidy(() => tf.sub(v, tf.mul(wOld, theta / rho)));
      wOld.dispose();
      alpha = alphaNew;
      res2 += psi * psi;
      rnorm = Math.sqrt(phiBar * phiBar + res2);
      arnorm = alphaNew * Math.abs(s * phi);
      if (!(beta > 1e-30 * bnorm) || rnorm <= tol * bnorm) {
        converged = true;
        break;
      }
      if (!(alphaNew > 0) || arnorm <= tol * Math.sqrt(anorm2) * rnorm) {
        converged = true;
        break;
      }
    }
  } catch (e) {
    x.dispose();
    throw e;
  } finally {
    u.dispose();
    v.dispose();
    w.dispose();
  }
  // ‖A x − b‖² = ‖r̄‖² − λ²‖x‖².
  let r1 = rnorm;
  if (damp > 0) {
    const [xn] = await read(tf.norm(x));
    r1 = Math.sqrt(Math.max(rnorm * rnorm - damp * damp * xn * xn, 0));
  }
  return {
    x,
    iterations: it,
    residual: r1 / bnorm,
    normalResidual: rnorm > 0 ? arnorm / (Math.sqrt(anorm2) * rnorm) : 0,
    converged,
    damp,
  };
}
