import {
  type GraphNode,
  KernelCache,
  type MaxPoolRouting,
  maxPoolRouting,
  type Tensor,
  tf,
} from "@cnnlens/core";

/**
 * Per-explanation caches: within one {@linkcode withFlowCache} scope, a convolution's transposed kernels
 * and a max-pool's routing are computed once and shared by every rule that needs them (the cascade of
 * coefficients, the NA-BP rules, every LSQR iteration); everything is released when the outermost scope
 * returns, so nothing outlives an explanation. (On wasm the transposed kernels live in the core's shared
 * `kernelCache` instead, kept with the weights: see `conv_transpose.ts`.)
 * @module
 */

let depth = 0;
const kernels = new KernelCache();
const routings = new Map<GraphNode, { x: Tensor; routing: MaxPoolRouting }>();

/**
 * Run `f` inside a cache scope.
 * @param f The computation.
 * @returns What `f` returns.
 * @example
 * ```ts
 * import { tf } from "@cnnlens/core";
 * import { withFlowCache } from "@cnnlens/naflow";
 * const before = tf.memory().numTensors;
 * const n = await withFlowCache(async () => 42);
 * if (n !== 42 || tf.memory().numTensors !== before) throw new Error("nothing outlives the scope");
 * ```
 */
export async function withFlowCache<T>(f: () => Promise<T>): Promise<T> {
  depth++;
  try {
    return await f();
  } finally {
    if (--depth === 0) {
      kernels.clear();
      for (const r of routings.values()) r.routing.dispose();
      routings.clear();
    }
  }
}

/** The kernel cache of the open scope (undefined outside a scope). */
export function flowKernels(): KernelCache | undefined {
  return depth > 0 ? kernels : undefined;
}

/**
 * A max-pool node's routing at forward input `x`: cached in a scope, fresh otherwise.
 * @param node The maxpool node.
 * @param x Its forward input.
 * @returns The routing and a `release` to call when done (a no-op for cached routings).
 */
export function routingFor(node: GraphNode, x: Tensor): { routing: MaxPoolRouting; release: () => void } {
  const hit = depth > 0 ? routings.get(node) : undefined;
  if (hit && hit.x === x) return { routing: hit.routing, release: () => {} };
  const routing = maxPoolRouting(node, x);
  if (depth === 0 || hit) return { routing, release: () => routing.dispose() };
  // Made inside someone's tf.tidy perhaps: keep the masks alive until the scope ends.
  routing.masks.forEach((m) => tf.keep(m));
  routings.set(node, { x, routing });
  return { routing, release: () => {} };
}
