/**
 * Runs the reproduction reports: every `reports/*_report.ts` (or the ones named), full size into
 * docs/results/ (or `--out DIR`), or CI size with `--ci`. Writes `<out>/README.md`, an index of them.
 *
 *     npx nx run eval:reports                       # all, full size, docs/results/
 *     deno run -A packages/eval/reports/main.ts --ci --out /tmp/r fam
 *     deno run -A packages/eval/reports/main.ts --index     # only rewrite <out>/README.md
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { ReportDef } from "./_common.ts";
import { machineNote } from "./_common.ts";

/** Every report module in this folder, sorted by name. */
export async function findReports(): Promise<ReportDef[]> {
  const dir = new URL("./", import.meta.url);
  const defs: ReportDef[] = [];
  for (const e of Deno.readDirSync(dir)) {
    if (!e.name.endsWith("_report.ts")) continue;
    const mod = await import(new URL(e.name, dir).href);
    if (!mod.report) throw new Error(`${e.name} exports no \`report\``);
    defs.push(mod.report as ReportDef);
  }
  return defs.sort((a, b) => a.name.localeCompare(b.name));
}

if (import.meta.main) {
  const args = [...Deno.args];
  const ci = args.includes("--ci");
  const oi = args.indexOf("--out");
  const outDir = oi >= 0
    ? args[oi + 1]
    : join(new URL("../../../", import.meta.url).pathname, "docs/results");
  const names = args.filter((a, i) => !a.startsWith("--") && (oi < 0 || i !== oi + 1));
  const all = await findReports();
  const unknown = names.filter((n) => !all.some((r) => r.name === n));
  if (unknown.length) {
    console.error(
      `unknown report(s): ${unknown.join(", ")}; available: ${all.map((r) => r.name).join(", ")}`,
    );
    Deno.exit(2);
  }
  const indexOnly = args.includes("--index");
  const chosen = indexOnly ? [] : names.length ? all.filter((r) => names.includes(r.name)) : all;
  await mkdir(outDir, { recursive: true });
  for (const r of chosen) {
    const t0 = performance.now();
    console.error(`[reports] ${r.name}: ${r.title}`);
    const s = await r.run({ ci, outDir, log: (m) => console.error(`[${r.name}] ${m}`) });
    console.error(
      `[reports] ${r.name} → ${relative(Deno.cwd(), s.file)} (${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s)`,
    );
  }
  const index = [
    "# Reproduction reports",
    "",
    "What each method does on the project's own testbed (synthetic scenes with exact object boxes, models",
    "trained here — see `packages/eval/src/synth/README.md`), beside the papers' published numbers.",
    "Regenerate with `npx nx run eval:reports` (CI-sized versions run in the test suite).",
    "",
    ...all.map((r) => `- [${r.title}](${r.name}.md)`),
    "",
    machineNote(),
    "",
  ];
  if (!names.length || indexOnly) await writeFile(join(outDir, "README.md"), index.join("\n"));
}
