import { type GraphNode, type MaxPoolRouting, maxPoolRouting, type Tensor, tf } from "@cnnlens/core";

/**
 * Per-explanation caches: within one {@linkcode withFlowCache} scope, a convolution's flipped kernel and a
 * max-pool's routing are computed once and shared by every rule that needs them (the cascade of
 * coefficients, the NA-BP rules, every LSQR iteration); everything is released when the outermost scope
 * returns, so nothing outlives an explanation.
 * @module
 */

let depth = 0;
const kernels = new Map<GraphNode, Tensor>();
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
      for (const t of kernels.values()) t.dispose();
      for (const r of routings.values()) r.routing.dispose();
      kernels.clear();
      routings.clear();
    }
  }
}

/** The cached kernel of a node, if any. */
export function cachedKernel(node: GraphNode): Tensor | undefined {
  return depth > 0 ? kernels.get(node) : undefined;
}

/**
 * Keep a kernel for the rest of the scope (ignored, and disposed, outside a scope).
 * @param node The node.
 * @param kernel The tensor (owned by the cache from now on).
 * @returns Whether it was cached.
 */
export function storeKernel(node: GraphNode, kernel: Tensor): boolean {
  if (depth === 0 || kernels.has(node)) return false;
  kernels.set(node, kernel);
  return true;
}

/** Whether a cache scope is open. */
export function inFlowCache(): boolean {
  return depth > 0;
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
