import { naflow } from "@cnnlens/naflow";
import type { MethodAdapter } from "./adapter.ts";
import { grid } from "@cnnlens/core";
import { overlayMap, overlayStrip, type RawMap } from "../render.ts";
import { encodeApng } from "../apng.ts";
import { displaySize } from "../input.ts";

/**
 * NAFlow: one attention map per layer, shallow to deep (CONTRACT.md: flow.json, map_<i>.npy, flow.png), and
 * flow_anim.png: the same overlays as an animated PNG, one labelled frame per layer (the last one held longer).
 */
export const naflowAdapter: MethodAdapter = {
  id: "naflow",
  summary: "NAFlow: attention maps for every layer through neuron-abandoning layer inverses",
  async explain(ctx) {
    const r = await naflow(ctx.model.graph, ctx.input.tensor, ctx.decision.decision, {
      layer: ctx.layers.length ? ctx.layers[ctx.layers.length - 1] : undefined,
    });
    const maps: RawMap[] = r.layers.map((l, i) => ({
      data: l.map,
      height: l.shape[1],
      width: l.shape[2],
      label: `${i}: ${l.name}`,
    }));
    return {
      async write(out) {
        for (let i = 0; i < r.layers.length; i++) {
          await out.npy(`map_${i}.npy`, r.layers[i].map, [r.layers[i].shape[1], r.layers[i].shape[2]]);
        }
        const flow = { layers: r.layers.map((l) => ({ name: l.name, op: l.op, shape: l.shape })) };
        await out.bytes("flow.json", new TextEncoder().encode(JSON.stringify(flow, null, 2) + "\n"));
        await out.png("flow.png", overlayStrip(ctx.input.display, maps));
        const big = displaySize(ctx.input.display); // ≥ 224 px, so the animation is readable
        const frames = maps.map((m) => grid([{ image: overlayMap(big, m), label: m.label }]));
        await out.bytes(
          "flow_anim.png",
          encodeApng(frames, { delayMs: frames.map((_, i) => i === frames.length - 1 ? 2000 : 700) }),
        );
        return {
          layers: r.layers.map((l) => l.name),
          residuals: r.layers.map((l) => ({
            layer: l.name,
            residual: l.residual,
            iterations: l.iterations,
            via: l.via,
          })),
          solver: { iterations: r.iterations, solves: r.solves },
        };
      },
      map: () => ({ data: maps[0].data, shape: [maps[0].height, maps[0].width] }),
      figures: () =>
        maps.map((m) => ({
          title: m.label!,
          image: overlayMap(ctx.input.display, m),
          heat: overlayMap(ctx.input.display, m, false, 1),
          group: "flow",
        })),
      data: () => ({
        layers: r.layers.map((l) => ({ name: l.name, op: l.op, shape: l.shape, residual: l.residual })),
      }),
    };
  },
};
