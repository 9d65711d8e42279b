import { type GapTree, type GapTreeNode, hierarchy, treeToJson } from "@cnnlens/gap";
import { drawMarker, grid } from "@cnnlens/core";
import type { Figure, MethodAdapter } from "./adapter.ts";
import { overlayMap } from "../render.ts";

/** gAP: the evidence tree (CONTRACT.md: tree.json, one PNG per node). */
export const gapAdapter: MethodAdapter = {
  id: "gap",
  summary: "gAP: channel-level evidence tree, decomposing the decision layer by layer",
  flags: { top: { type: "string" }, depth: { type: "string" }, measure: { type: "string" } },
  async explain(ctx) {
    const tree: GapTree = await hierarchy(ctx.model.graph, ctx.input.tensor, ctx.decision.decision, {
      layers: ctx.layers.length ? ctx.layers : undefined,
      top: ctx.options.top !== undefined ? Number(ctx.options.top) : undefined,
      depth: ctx.options.depth !== undefined ? Number(ctx.options.depth) : undefined,
      measure: ctx.options.measure as "AA" | undefined,
      maps: true,
    });
    const figs: (Figure & { file: string })[] = [];
    const walk = (n: GapTreeNode, path: string) => {
      if (n.map) {
        const img = overlayMap(ctx.input.display, {
          data: n.map.data,
          height: n.map.height,
          width: n.map.width,
        });
        const [y, x] = n.position;
        const sy = ctx.input.display.height / n.map.height;
        const sx = ctx.input.display.width / n.map.width;
        drawMarker(img, Math.round((x + 0.5) * sx), Math.round((y + 0.5) * sy), [255, 255, 255], 4);
        figs.push({
          title: `${path}: ${n.layer} ch ${n.channel} @ (${y}, ${x}) α=${n.contribution.toFixed(3)}`,
          image: img,
          heat: overlayMap(
            ctx.input.display,
            { data: n.map.data, height: n.map.height, width: n.map.width },
            false,
            1,
          ),
          node: path,
          file: `node_${path.replace(/\./g, "_")}.png`,
        });
      }
      n.children.forEach((c, i) => walk(c, `${path}.${i}`));
    };
    tree.children.forEach((c, i) => walk(c, `${i}`));
    const json = treeToJson(tree) as unknown as Record<string, unknown>;
    const withIds = (n: Record<string, unknown>, id: string): Record<string, unknown> => ({
      ...n,
      id,
      children: (n.children as Record<string, unknown>[]).map((c, i) =>
        withIds(c, id ? `${id}.${i}` : `${i}`)
      ),
    });
    return {
      async write(out) {
        await out.bytes("tree.json", new TextEncoder().encode(JSON.stringify(json, null, 2) + "\n"));
        for (const f of figs) await out.png(f.file, f.image);
        if (figs.length) {
          await out.png(
            "tree.png",
            grid(figs.map((f) => ({ image: f.image, label: f.node! })), { columns: 3 }),
          );
        }
        return { layers: [tree.into, ...new Set(figs.map((f) => f.title.split(": ")[1].split(" ch ")[0]))] };
      },
      figures: () => figs.map(({ file: _f, ...f }) => f),
      data: () => ({ tree: withIds(json, "") }),
    };
  },
};
