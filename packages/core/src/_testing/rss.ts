/**
 * Peak resident memory on Linux, for benchmarks and measurement scripts: reset the high-water mark, run,
 * read it back.
 * @module
 */

/**
 * Resets the peak-RSS mark (Linux `/proc/self/clear_refs`).
 * @returns False where that is not available.
 */
export function resetPeakRss(): boolean {
  try {
    Deno.writeTextFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * Peak RSS since the last reset (Linux `VmHWM`).
 * @returns Bytes, or undefined where `/proc/self/status` is not there.
 */
export function peakRss(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
