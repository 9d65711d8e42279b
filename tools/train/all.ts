/**
 * Trains every model of packages/eval/models/ one after the other (each script is also runnable alone).
 *
 *     npx deno run -A tools/train/all.ts
 * @module
 */
const here = new URL(".", import.meta.url).pathname;
for (const name of ["vgg_bn", "resnet_small", "iom_cnn6", "conv4_leaky", "fewshot_resnet"]) {
  const t0 = performance.now();
  const { code } = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", `${here}${name}.ts`] })
    .spawn().status;
  console.error(`${name}: exit ${code} after ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (code !== 0) Deno.exit(code);
}
