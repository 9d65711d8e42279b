/**
 * Atomic file writes: readers of a path never observe a half-written file.
 * @module
 */

/**
 * Writes `bytes` to `path` atomically: the bytes go to a sibling temporary file named
 * `<path>.tmp-<random>` first, which is then renamed over `path`. On failure the temporary file is
 * removed and the original error is rethrown; an existing file at `path` is left untouched.
 *
 * @param path Destination file path.
 * @param bytes File contents.
 * @returns A promise that resolves once the file is in place.
 * @example
 * ```ts ignore
 * await writeFileAtomic("out/map.npy", new Uint8Array([1, 2, 3]));
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  if (typeof path !== "string" || path.length === 0) {
    throw new TypeError(`Cannot write file: path must be a non-empty string, got ${JSON.stringify(path)}`);
  }
  const tmp = `${path}.tmp-${randomSuffix()}`;
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

function randomSuffix(): string {
  const raw = crypto.getRandomValues(new Uint8Array(6));
  return Array.from(raw, (b) => b.toString(16).padStart(2, "0")).join("");
}
