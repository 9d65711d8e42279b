import type { MethodAdapter } from "./adapter.ts";
import { camAdapters } from "./cam.ts";
import { naflowAdapter } from "./naflow.ts";
import { famAdapter } from "./fam.ts";
import { iomAdapter } from "./iom.ts";
import { gapAdapter } from "./gap.ts";

/** Every method the CLI and dashboard can run, by ID. */
export const methods: Record<string, MethodAdapter> = {
  naflow: naflowAdapter,
  fam: famAdapter,
  iom: iomAdapter,
  gap: gapAdapter,
  ...camAdapters,
};

/** Method IDs in display order. */
export function methodIds(): string[] {
  return Object.keys(methods);
}
