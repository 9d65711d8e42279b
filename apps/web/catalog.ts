/**
 * What the dashboard offers: models (the zoo, the committed ONNX fixtures, uploads) and images (sample
 * photos and inputs shipped with the project, uploads). Names map to server-side paths here only, so a
 * request can never name an arbitrary file (no path traversal).
 * @module
 */
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;

/** Where uploads are kept (a fresh temp folder per server). */
export const uploads = { dir: "" };

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
  path: string;
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

/** Models: zoo entries, ONNX fixtures (fused, opset 17), uploaded models. */
export async function models(): Promise<ModelChoice[]> {
  const { zooEntries } = await import("@cnnlens/cli/zoo");
  const out: ModelChoice[] = zooEntries().map((e) => ({
    id: `zoo:${e.name}`,
    label: e.description,
    spec: `zoo:${e.name}`,
  }));
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

/** Sample images shipped with the project, plus uploads. */
export function images(): ImageChoice[] {
  const out: ImageChoice[] = [];
  const dirs = [join(root, "packages/core/testdata/faceapi"), join(root, "apps/web/static/samples")];
  for (const d of dirs) {
    for (const f of listDir(d, [".png", ".jpg", ".jpeg"])) {
      out.push({ id: `sample:${f}`, label: f, path: join(d, f) });
    }
  }
  if (uploads.dir) {
    for (const f of listDir(uploads.dir, [".png", ".jpg", ".jpeg"])) {
      out.push({ id: `upload:${f}`, label: `uploaded ${f}`, path: join(uploads.dir, f) });
    }
  }
  return out;
}

/** Resolve a model id to its spec, or undefined. */
export async function modelSpec(id: string): Promise<string | undefined> {
  return (await models()).find((m) => m.id === id)?.spec;
}

/** Resolve an image id to its path, or undefined. */
export function imagePath(id: string): string | undefined {
  return images().find((i) => i.id === id)?.path;
}
