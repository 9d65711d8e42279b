/**
 * What the dashboard offers: models (the zoo, the evaluation suite's trained models, the committed ONNX
 * fixtures, uploads) and images (sample photos, synthetic samples with exact object boxes, uploads). Names
 * map to server-side paths here only, so a request can never name an arbitrary file (no path traversal).
 * @module
 */
import { join } from "node:path";
import { synthSample, type SynthSplit } from "@cnnlens/eval/synth";

const root = new URL("../../", import.meta.url).pathname;

/** Where uploads are kept (a fresh temp folder per server, made at the first upload). */
export const uploads = { dir: "" };

/** The evaluation suite's trained models (packages/eval/models), offered as `eval:NAME`. */
export const EVAL_MODELS = ["vgg_bn", "resnet_small", "iom_cnn6", "conv4_leaky", "fewshot_resnet"] as const;

/** Synthetic samples offered as images: `[split, count]` (classes A for the classifiers, B for few-shot). */
export const SYNTH_IMAGES: readonly [SynthSplit, number][] = [["test", 12], ["fewshot", 12]];

/** A selectable model. */
export interface ModelChoice {
  id: string;
  label: string;
  spec: string;
}

/** A selectable image. */
export interface ImageChoice {
  id: string;
  label: string;
  /** A file path, or `synth:SPLIT-INDEX` for a synthetic sample (drawn by the worker, never a file). */
  path: string;
  /** The object's box `[x0, y0, x1, y1]` (half-open, the image's pixels), when known (synthetic samples). */
  box?: [number, number, number, number];
  /** The true class name, when known. */
  className?: string;
}

function listDir(dir: string, exts: string[]): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) =>
      e.isFile && exts.some((x) => e.name.toLowerCase().endsWith(x))
    )
      .map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/** Models: zoo entries, the evaluation models, ONNX fixtures (fused, opset 17), uploaded models. */
export async function models(): Promise<ModelChoice[]> {
  const { zooEntries } = await import("@cnnlens/cli/zoo");
  const out: ModelChoice[] = zooEntries().map((e) => ({
    id: `zoo:${e.name}`,
    label: e.description,
    spec: `zoo:${e.name}`,
  }));
  for (const name of EVAL_MODELS) {
    out.push({
      id: `eval:${name}`,
      label: name === "fewshot_resnet"
        ? "fewshot_resnet (trained few-shot embedding, 64×64, synthetic classes)"
        : `${name} (trained classifier, 64×64, synthetic classes A)`,
      spec: join(root, "packages/eval/models", name, "model.json"),
    });
  }
  const fx = join(root, "packages/core/testdata/onnx");
  for (const f of listDir(fx, ["_fused_op17.onnx"])) {
    out.push({ id: `fixture:${f}`, label: `ONNX fixture ${f}`, spec: join(fx, f) });
  }
  if (uploads.dir) {
    for (const f of listDir(uploads.dir, [".onnx"])) {
      out.push({ id: `upload:${f}`, label: `uploaded ${f}`, spec: join(uploads.dir, f) });
    }
  }
  return out;
}

let synthChoices: ImageChoice[] | undefined;

/** The synthetic samples with their boxes (drawn once; the worker draws the pixels again from the id). */
function synthImages(): ImageChoice[] {
  synthChoices ??= SYNTH_IMAGES.flatMap(([split, count]) =>
    Array.from({ length: count }, (_, i) => {
      const s = synthSample(split, i);
      return {
        id: `synth:${split}-${i}`,
        label: `synthetic ${split} #${i} (${s.className}, box known)`,
        path: `synth:${split}-${i}`,
        box: [s.box.x0, s.box.y0, s.box.x1, s.box.y1] as [number, number, number, number],
        className: s.className,
      };
    })
  );
  return synthChoices;
}

/** Sample images shipped with the project, synthetic samples, plus uploads. */
export function images(): ImageChoice[] {
  const out: ImageChoice[] = [];
  const dirs = [join(root, "packages/core/testdata/faceapi"), join(root, "apps/web/static/samples")];
  for (const d of dirs) {
    for (const f of listDir(d, [".png", ".jpg", ".jpeg"])) {
      out.push({ id: `sample:${f}`, label: f, path: join(d, f) });
    }
  }
  out.push(...synthImages());
  if (uploads.dir) {
    for (const f of listDir(uploads.dir, [".png", ".jpg", ".jpeg"])) {
      out.push({ id: `upload:${f}`, label: `uploaded ${f}`, path: join(uploads.dir, f) });
    }
  }
  return out;
}

/** What the browser may see of an image (no server paths). */
export function publicImages(): { id: string; label: string; box?: number[]; className?: string }[] {
  return images().map(({ id, label, box, className }) => ({ id, label, box, className }));
}

/** Resolve a model id to its spec, or undefined. */
export async function modelSpec(id: string): Promise<string | undefined> {
  return (await models()).find((m) => m.id === id)?.spec;
}

/** Resolve an image id to its catalog entry, or undefined. */
export function imageChoice(id: string): ImageChoice | undefined {
  return images().find((i) => i.id === id);
}

/** Resolve an image id to its path, or undefined. */
export function imagePath(id: string): string | undefined {
  return imageChoice(id)?.path;
}
