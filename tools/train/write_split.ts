/**
 * Writes a split of the synthetic data set to disk as PNG files and a JSONL manifest (for `cnnlens eval`,
 * the reports, or a look at the data).
 *
 *     npx deno run -A tools/train/write_split.ts <split> <count> <dir> [seed]
 *     npx deno run -A tools/train/write_split.ts test 600 /tmp/synth/test
 * @module
 */
import { SYNTH_SPLITS, type SynthSplit, writeSynthSplit } from "../../packages/eval/src/synth/mod.ts";

const [split, count, dir, seed] = Deno.args;
if (!split || !(split in SYNTH_SPLITS) || !dir || !(Number(count) >= 1)) {
  console.error(`usage: write_split.ts <${Object.keys(SYNTH_SPLITS).join("|")}> <count> <dir> [seed]`);
  Deno.exit(2);
}
const t0 = performance.now();
const out = await writeSynthSplit(dir, split as SynthSplit, {
  count: Number(count),
  seed: Number(seed ?? 1),
});
console.error(
  `wrote ${out.count} images and ${out.manifest} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
