import { fam } from "@cnnlens/fam";
import { tf } from "@cnnlens/core";
import type { MethodAdapter } from "./adapter.ts";
import { UsageError } from "../errors.ts";
import { overlayMap } from "../render.ts";

/** FAM: maps for similarity decisions (CONTRACT.md: map.npy, contributions.npy, overlay.png per image). */
export const famAdapter: MethodAdapter = {
  id: "fam",
  summary: "FAM: explanation maps for similarity decisions (query vs references)",
  flags: { pooling: { type: "string" } },
  async explain(ctx) {
    if (!ctx.references.length) {
      throw new UsageError("fam explains a similarity: give one or more --reference images");
    }
    const refs = tf.concat(ctx.references.map((r) => r.tensor), 0);
    const r = await (async () => {
      try {
        return await fam(ctx.model.graph, ctx.input.tensor, refs, {
          layer: ctx.layers[0],
          embedding: ctx.options.embedding as string | undefined,
          pooling: ctx.options.pooling as "gap" | undefined,
        });
      } finally {
        refs.dispose();
      }
    })();
    const q = { data: r.map, height: r.height, width: r.width, label: `query (${r.layer})` };
    return {
      async write(out) {
        await out.npy("map.npy", r.map, [r.height, r.width]);
        await out.npy("contributions.npy", r.contributions, [r.contributions.length]);
        await out.png("overlay.png", overlayMap(ctx.input.display, q));
        for (let i = 0; i < r.referenceMaps.length; i++) {
          const m = r.referenceMaps[i];
          await out.npy(`reference_${i}_map.npy`, m.map, [m.height, m.width]);
          await out.png(
            `reference_${i}_overlay.png`,
            overlayMap(ctx.references[i].display, { data: m.map, height: m.height, width: m.width }),
          );
        }
        return {
          layers: [r.layer],
          similarity: r.similarity,
          metric: r.metric,
          pooling: r.pooling,
          embedding: r.embedding,
        };
      },
      map: () => ({ data: r.map, shape: [r.height, r.width] }),
      figures: () => [
        {
          title: `query · similarity ${r.similarity.mean.toFixed(3)}`,
          image: overlayMap(ctx.input.display, q),
          heat: overlayMap(ctx.input.display, q, false, 1),
          group: "pair",
        },
        ...r.referenceMaps.map((m, i) => ({
          title: `reference ${i} · similarity ${r.similarity.perReference[i].toFixed(3)}`,
          image: overlayMap(ctx.references[i].display, { data: m.map, height: m.height, width: m.width }),
          group: "pair",
        })),
      ],
    };
  },
};
