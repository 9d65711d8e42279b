import { iom, renderColour, renderSignedMagnitude } from "@cnnlens/iom";
import { resizeBilinear, type RgbImage } from "@cnnlens/core";
import type { MethodAdapter } from "./adapter.ts";

function toDisplay(img: RgbImage, like: RgbImage): RgbImage {
  if (img.width === like.width && img.height === like.height) return img;
  const f = resizeBilinear(
    Float32Array.from(img.data),
    3,
    img.height,
    img.width,
    like.height,
    like.width,
    "hwc",
  );
  return { width: like.width, height: like.height, data: Uint8Array.from(f, (v) => Math.round(v)) };
}

function blend(a: RgbImage, b: RgbImage, alpha: number): RgbImage {
  return {
    width: a.width,
    height: a.height,
    data: a.data.map((v, i) => Math.round((1 - alpha) * v + alpha * b.data[i])),
  };
}

/** IOM: pixel- and colour-channel saliency (CONTRACT.md: map.npy, rexc_pos.npy, rexc_neg.npy, overlay.png). */
export const iomAdapter: MethodAdapter = {
  id: "iom",
  summary: "IOM: pixel- and colour-level input-output mapping from positive/negative excitation",
  flags: { smoothing: { type: "string" } },
  async explain(ctx) {
    const k = ctx.options.smoothing !== undefined ? Number(ctx.options.smoothing) : undefined;
    const r = await iom(ctx.model.graph, ctx.input.tensor, ctx.decision.decision, { smoothing: k });
    const asCore = (i: { width: number; height: number; rgb: Uint8Array }): RgbImage => ({
      width: i.width,
      height: i.height,
      data: i.rgb,
    });
    const colour = () => toDisplay(asCore(renderColour(r.map, r.shape)), ctx.input.display);
    const signed = () => toDisplay(asCore(renderSignedMagnitude(r.map, r.shape)), ctx.input.display);
    return {
      async write(out) {
        await out.npy("map.npy", r.map, r.shape);
        await out.npy("rexc_pos.npy", r.rexcPos, r.shape);
        await out.npy("rexc_neg.npy", r.rexcNeg, r.shape);
        await out.png("overlay.png", blend(ctx.input.display, colour(), 0.6));
        await out.png("signed.png", signed());
        return { map_shape: r.shape, negative_layer: r.negativeLayer, smoothing: k ?? 3 };
      },
      map: () => ({ data: r.map, shape: r.shape }),
      figures: () => [
        {
          title: "IOM colour map over the input",
          image: blend(ctx.input.display, colour(), 0.6),
          heat: colour(),
        },
        { title: "IOM colour map", image: colour() },
        { title: "IOM signed magnitude", image: signed() },
      ],
    };
  },
};
