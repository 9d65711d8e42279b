import { maxPoolScatter, tf } from "@cnnlens/core";
import { routingFor } from "../flow_cache.ts";
import { type InverseRule, only, soleVarying } from "../inverse.ts";

/**
 * NA-BP of max pooling (NAFlow Eq. 14): each output is routed to the input its window selected in the
 * forward pass (the core's tie-safe `maxPoolRouting`, first maximum wins); every other input is
 * abandoned (0). Where overlapping windows selected the same input, that input receives the average of
 * what is routed to it (scattering ones through the same routing gives the counts).
 * @example
 * ```ts
 * import { GraphBuilder, runForward, tf } from "@cnnlens/core";
 * import { maxPoolInverse } from "@cnnlens/naflow";
 * const b = new GraphBuilder([1, 2, 2]);
 * const g = b.build(b.maxpool("pool", b.inputName, 2, 2));
 * const x = tf.tensor4d([1, 4, 2, 3], [1, 2, 2, 1]);
 * const tr = runForward(g, x);
 * const r = await maxPoolInverse(g.node("pool"), [x], tr.get("pool"), tr.get("pool"), [true], {} as never);
 * if ((await r.inputs[0]!.data()).join() !== "0,4,0,0") throw new Error("routes to the argmax");
 * [x, r.inputs[0]!].forEach((t) => t.dispose());
 * tr.dispose();
 * g.dispose();
 * ```
 */
export const maxPoolInverse: InverseRule = (node, inputs, _output, target, varying) => {
  const i = soleVarying(node, varying);
  const x = inputs[i];
  const { routing, release } = routingFor(node, x);
  try {
    const back = tf.tidy(() => {
      // Eq. 14: x_i = y at the selected positions, 0 (abandoned) elsewhere; shared positions averaged.
      const sum = maxPoolScatter(routing, target, x.shape);
      const count = maxPoolScatter(routing, tf.onesLike(target), x.shape);
      const used = tf.greater(count, 0);
      return tf.where(used, tf.div(sum, tf.maximum(count, 1)), tf.zerosLike(sum));
    });
    return { inputs: only(inputs.length, i, back) };
  } finally {
    release();
  }
};
