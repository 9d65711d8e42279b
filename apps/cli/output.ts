import { encodePng, type RgbImage, writeFileAtomic, writeNpy } from "@cnnlens/core";
import { join } from "node:path";

/** Writes a command's files into one output folder, atomically, and remembers what it wrote. */
export class OutputDir {
  readonly files: string[] = [];
  private constructor(readonly dir: string) {}

  /**
   * Create (or reuse) the folder: `--out`, or `./cnnlens-out/<timestamp>`.
   * @param out The --out value.
   * @returns The output folder.
   */
  static async open(out?: string): Promise<OutputDir> {
    const dir = out ?? join("cnnlens-out", new Date().toISOString().replace(/[:.]/g, "-"));
    await Deno.mkdir(dir, { recursive: true });
    return new OutputDir(dir);
  }

  async bytes(name: string, data: Uint8Array): Promise<void> {
    await writeFileAtomic(join(this.dir, name), data);
    this.files.push(name);
  }

  /** A float32 .npy with the given shape. */
  async npy(name: string, data: Float32Array, shape: number[]): Promise<void> {
    await this.bytes(name, writeNpy({ data, shape, dtype: "float32" }));
  }

  async png(name: string, img: RgbImage): Promise<void> {
    await this.bytes(name, encodePng(img));
  }

  /** `result.json` (written last, listing every file). */
  async result(obj: Record<string, unknown>): Promise<string> {
    const text = JSON.stringify({ ...obj, files: [...this.files, "result.json"] }, null, 2) + "\n";
    await this.bytes("result.json", new TextEncoder().encode(text));
    return text;
  }
}
