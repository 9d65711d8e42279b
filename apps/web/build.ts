/**
 * Bundles the islands (the only code shipped to the browser) into static/app.js with `deno bundle`.
 * Run `deno run -A apps/web/build.ts`; the server also builds on start when the bundle is missing or older
 * than its sources.
 * @module
 */
const here = new URL(".", import.meta.url).pathname;
const out = `${here}static/app.js`;

async function newest(dir: string): Promise<number> {
  let t = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) t = Math.max(t, await newest(p));
    else if (/\.tsx?$/.test(e.name)) t = Math.max(t, (await Deno.stat(p)).mtime?.getTime() ?? 0);
  }
  return t;
}

/** Build static/app.js if it is missing or stale. */
export async function ensureBundle(force = false): Promise<void> {
  let built = 0;
  try {
    built = (await Deno.stat(out)).mtime?.getTime() ?? 0;
  } catch { /* missing */ }
  const src = Math.max(await newest(`${here}islands`), await newest(`${here}components`));
  if (!force && built >= src) return;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "--minify", "-o", out, `${here}islands/main.tsx`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `Cannot bundle the dashboard: ${new TextDecoder().decode(r.stderr).trim().split("\n")[0]}`,
    );
  }
}

if (import.meta.main) {
  await ensureBundle(true);
  console.log(`wrote ${out}`);
}
