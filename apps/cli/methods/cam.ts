import { type CamMethodId, camMethods } from "@cnnlens/cam";
import type { ExplainContext, MethodAdapter, MethodRun } from "./adapter.ts";
import { overlayMap } from "../render.ts";

const SUMMARIES: Record<CamMethodId, string> = {
  cam: "CAM: FC weights of the class over the last feature map (GAP + FC models)",
  gradcam: "Grad-CAM: channel weights = spatial mean of the gradient",
  "gradcam++": "Grad-CAM++: higher-order gradient channel weights",
  xgradcam: "XGrad-CAM: activation-normalised gradient weights",
  layercam: "Layer-CAM: element-wise positive gradient × activation",
  hirescam: "HiResCAM: element-wise gradient × activation",
  scorecam: "Score-CAM: channel weights from masked forward passes (no gradients)",
  ablationcam: "Ablation-CAM: channel weights from the score drop when a channel is zeroed",
  eigencam: "Eigen-CAM: first principal component of the activations",
  fullgrad: "FullGrad: input-gradient × input plus bias-gradients",
  random: "random map (the sanity floor)",
};

function adapter(id: CamMethodId): MethodAdapter {
  return {
    id,
    summary: SUMMARIES[id],
    async explain(ctx: ExplainContext): Promise<MethodRun> {
      const r = await camMethods[id](ctx.model.graph, ctx.input.tensor, ctx.decision.decision, {
        layers: ctx.layers.length ? ctx.layers : undefined,
      });
      const raw = { data: r.map, height: r.height, width: r.width, label: `${id} @ ${r.layers.join(" + ")}` };
      return {
        async write(out) {
          await out.npy("map.npy", r.map, [r.height, r.width]);
          await out.png("overlay.png", overlayMap(ctx.input.display, raw));
          return { layers: r.layers, map_shape: [r.height, r.width] };
        },
        map: () => ({ data: r.map, shape: [r.height, r.width] }),
        figures: () => [{
          title: raw.label,
          image: overlayMap(ctx.input.display, raw),
          heat: overlayMap(ctx.input.display, raw, false, 1),
        }],
      };
    },
  };
}

/** Adapters for the CAM family, by ID. */
export const camAdapters: Record<string, MethodAdapter> = Object.fromEntries(
  (Object.keys(camMethods) as CamMethodId[]).map((id) => [id, adapter(id)]),
);
