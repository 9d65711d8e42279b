/**
 * Lazy gAP expansion (the interactive tree): decompose one node of a finished tree into the next layer
 * with `expandNode`, on the same model, image and options, and draw its children like the tree's nodes.
 * @module
 */
import { drawMarker } from "@cnnlens/core";
import { defaultLayers, expandNode, type GapTreeNode } from "@cnnlens/gap";
import type { ExpandRequest } from "./protocol.ts";
import { getModel, inputFor } from "./models.ts";
import { Cancelled, isCancelled } from "./cancel.ts";
import { displaySize, type FigureJson, figureJson, heat } from "./render.ts";

/** A tree node as the dashboard keeps it (gAP's `tree.json` node plus an `id` path). */
export interface NodeJson {
  id: string;
  layer: string;
  channel: number;
  position: [number, number];
  contribution: number;
  merged: number[];
  into?: string;
  alpha?: number[];
  children: NodeJson[];
}

/**
 * Run an expansion job.
 * @param req The request.
 * @param post Progress reporter.
 * @returns `{node, into, alpha, children, figures}`: the node's new decomposition.
 */
export async function expandJob(req: ExpandRequest, post: (text: string) => void) {
  post("loading model");
  const model = await getModel(req.model);
  const g = model.graph;
  const layers = (req.layers.length ? req.layers : defaultLayers(g)).map((l) => g.node(l).name);
  const at = layers.indexOf(g.node(req.node.layer).name);
  if (at < 0) throw new Error(`Node ${req.node.id} is in layer '${req.node.layer}', not one of the tree's`);
  if (at === layers.length - 1) {
    throw new Error(`Node ${req.node.id} is in the shallowest layer '${layers[at]}': nothing to expand`);
  }
  post("loading image");
  const input = await inputFor(req.image, model);
  const display = displaySize(input.display);
  try {
    post(`decomposing node ${req.node.id} into ${layers[at + 1]}`);
    const o = req.options ?? {};
    const opts = {
      top: o.top !== undefined ? Number(o.top) : undefined,
      measure: o.measure as "AA" | undefined,
      maps: true,
    };
    let out: GapTreeNode;
    let note: string | null = null;
    try {
      out = await expandNode(g, input.tensor, req.node, layers[at + 1], opts);
    } catch (e) {
      if (e instanceof Cancelled || isCancelled()) throw e;
      // gAP's receptive-field crops are an optimisation with the same result; where they fail on a
      // graph, decompose on the full maps instead and say so.
      note = `receptive-field crops failed (${(e as Error).message.split("\n")[0]}); used full maps`;
      post(note);
      out = await expandNode(g, input.tensor, req.node, layers[at + 1], { ...opts, crop: false });
    }
    const figures: FigureJson[] = [];
    const children: NodeJson[] = [];
    out.children.forEach((c: GapTreeNode, i: number) => {
      const id = `${req.node.id}.${i}`;
      children.push({
        id,
        layer: c.layer,
        channel: c.channel,
        position: [c.position[0], c.position[1]],
        contribution: c.contribution,
        merged: [...c.merged],
        children: [],
      });
      if (!c.map) return;
      const img = heat(display, c.map.data, c.map.height, c.map.width);
      const [y, x] = c.position;
      const sy = display.height / c.map.height, sx = display.width / c.map.width;
      drawMarker(img, Math.round((x + 0.5) * sx), Math.round((y + 0.5) * sy), [255, 255, 255], 4);
      figures.push(figureJson({
        title: `${id}: ${c.layer} ch ${c.channel} @ (${y}, ${x}) α=${c.contribution.toFixed(3)}`,
        image: img,
        heat: heat(display, c.map.data, c.map.height, c.map.width, 1),
        node: id,
      }));
    });
    return { node: req.node.id, into: out.into!, alpha: out.alpha ?? [], children, figures, note };
  } finally {
    input.tensor.dispose();
  }
}
