import { flowKernels, routingFor } from "./flow_cache.ts";
import {
  CONV_TRANSPOSE_BACKENDS,
  convTranspose,
  getRule,
  kernelCache,
  maxPoolScatter,
  registeredOps,
  registerRule,
  tf,
  type VjpRule,
} from "@cnnlens/core";

/**
 * The rule kind NAFlow applies `Jᵀ` with (the cascade of coefficients and the least-squares solves): the
 * core `vjp` rules, except that a convolution's transpose always runs as the core's `convTranspose`
 * (forward convolutions with flipped, channel-transposed kernels; the core itself does so only on wasm and
 * for dilated convolutions) with its kernels kept for the explanation, and a max-pool reuses its cached
 * routing.
 */
export const NAFLOW_VJP_KIND = "naflow-vjp";

/**
 * `vjp` rule of `conv2d` by the core's `convTranspose` (registered under {@linkcode NAFLOW_VJP_KIND}). The
 * kernels are prepared once: on wasm in the core's shared `kernelCache` (kept with the weights, shared with
 * `gradients()`), elsewhere in the {@linkcode withFlowCache} scope of the explanation.
 * @example
 * ```ts
 * import { getRule } from "@cnnlens/core";
 * import { convTransposeVjp, NAFLOW_VJP_KIND } from "@cnnlens/naflow";
 * if (getRule(NAFLOW_VJP_KIND, "conv2d", "n") !== convTransposeVjp) throw new Error();
 * ```
 */
export const convTransposeVjp: VjpRule = (node, [x], _output, dy) => [
  convTranspose(node, dy, x.shape, {
    cache: CONV_TRANSPOSE_BACKENDS.has(tf.getBackend()) ? kernelCache : flowKernels(),
  }),
];

/**
 * `vjp` rule of `maxpool` through the routing cached for the explanation (registered under
 * {@linkcode NAFLOW_VJP_KIND}).
 * @example
 * ```ts
 * import { getRule } from "@cnnlens/core";
 * import { maxPoolRoutedVjp, NAFLOW_VJP_KIND } from "@cnnlens/naflow";
 * if (getRule(NAFLOW_VJP_KIND, "maxpool", "n") !== maxPoolRoutedVjp) throw new Error();
 * ```
 */
export const maxPoolRoutedVjp: VjpRule = (node, [x], _output, dy) => {
  const { routing, release } = routingFor(node, x);
  try {
    return [maxPoolScatter(routing, dy, x.shape)];
  } finally {
    release();
  }
};

const fast: Record<string, VjpRule> = { conv2d: convTransposeVjp, maxpool: maxPoolRoutedVjp };

for (const op of registeredOps("vjp")) {
  registerRule<VjpRule>(
    NAFLOW_VJP_KIND,
    op,
    fast[op] ?? ((n, ...rest) => getRule<VjpRule>("vjp", n.op, n.name)(n, ...rest)),
  );
}
