/**
 * End-to-end: the HTML report `cnnlens demo --quick` writes, opened in Debian's headless Chromium
 * (playwright-core). The CLI runs as a subprocess, as users run it (and so no Deno Worker is created in the
 * process that launches the browser). The screenshot is saved under $CNNLENS_ARTIFACTS (default:
 * cnnlens-out/test-artifacts/, gitignored).
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { camMethodIds } from "@cnnlens/cam";
import { cli, root } from "./_testing.ts";

const artifacts = Deno.env.get("CNNLENS_ARTIFACTS") ?? `${root}cnnlens-out/test-artifacts`;

function chromiumPath(): string | undefined {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  return undefined;
}

const exe = chromiumPath();

function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

Deno.test({
  name: "cnnlens demo --quick: the HTML report renders in headless Chromium with every section and image",
  ignore: exe === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const out = await Deno.makeTempDir({ prefix: "cnnlens-demo-" });
    const r = await cli("demo", "--quick", "--out", out);
    assert.equal(r.code, 0, r.stderr);
    const report = `${out}/report.html`;
    assert.match(r.stdout, new RegExp(`report: ${report.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    const flow = await Deno.makeTempDir({ prefix: "cnnlens-flow-" });
    const n = await cli(
      "explain",
      "--model",
      "synth-vgg",
      "--input",
      `${out}/synth_test_2_star.png`,
      "--method",
      "naflow",
      "--out",
      flow,
    );
    assert.equal(n.code, 0, n.stderr);
    const flowLayers = JSON.parse(await Deno.readTextFile(`${flow}/flow.json`)).layers.length;

    const browser = await chromium.launch({
      executablePath: exe,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`file://${report}`);
      await page.waitForLoadState("load");

      assert.match(await page.textContent("h1") ?? "", /^cnnlens demo --quick \(\d+\.\d s\)$/);
      const t1 = "Synthetic shapes (synth-vgg, trained here): why 'star'?";
      const t2 = "Few-shot embedding (synth-fewshot): why the same unseen class?";
      assert.deepEqual(await page.$$eval("h2", (hs) => hs.map((h) => h.textContent)), [
        `${t1} — naflow`,
        `${t1} — iom`,
        `${t1} — gap`,
        `${t1} — cam: not applicable`, // VGG has no GAP + FC head
        `${t1} — CAM baselines side by side`,
        `${t2} — fam`,
        `${t2} — naflow`,
        `${t2} — CAM baselines side by side`,
      ]);
      // The decision the report explains is the model's: "star" for this generated star.
      const subs = await page.$$eval("section", (ss) =>
        ss.map((s) => ({
          title: s.querySelector("h2")!.textContent!,
          sub: s.querySelector(".sub")?.textContent ?? "",
          captions: [...s.querySelectorAll("figcaption")].map((c) => c.textContent!),
        })));
      assert.match(subs[0].sub, /class 2 \(star\)/);
      assert.match(subs[5].sub, /cosine similarity 0\.\d{3}/);
      // NAFlow: one figure per layer of the flow, numbered shallow to deep, the same as `explain` writes.
      assert.deepEqual(
        subs[0].captions.map((c) => Number(c.split(":")[0])),
        [...Array(flowLayers).keys()],
      );
      // Every applicable baseline once, in the registry's order.
      assert.deepEqual(
        subs[4].captions.map((c) => c.split(" @ ")[0]),
        camMethodIds.filter((id) => id !== "cam"),
      );

      // Every image decoded (naturalWidth > 0) and is not a flat picture.
      const imgs = await page.$$eval("img", (els) =>
        (els as HTMLImageElement[]).map((img) => {
          const c = document.createElement("canvas");
          c.width = img.naturalWidth;
          c.height = img.naturalHeight;
          const ctx = c.getContext("2d")!;
          let distinct = 0;
          if (img.naturalWidth > 0) {
            ctx.drawImage(img, 0, 0);
            const d = ctx.getImageData(0, 0, c.width, c.height).data;
            const seen = new Set<number>();
            for (let i = 0; i < d.length && seen.size < 50; i += 4) {
              seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
            }
            distinct = seen.size;
          }
          return {
            alt: img.alt,
            complete: img.complete,
            w: img.naturalWidth,
            h: img.naturalHeight,
            distinct,
          };
        }));
      const figures = subs.reduce((a, s) => a + s.captions.length, 0);
      assert.equal(imgs.length, figures);
      assert.ok(imgs.length > 40, `${imgs.length} images`);
      for (const im of imgs) {
        assert.ok(im.complete && im.w > 0 && im.h > 0, `image '${im.alt}' did not load`);
        assert.ok(im.distinct > 10, `image '${im.alt}' has ${im.distinct} colours`);
      }
      assert.deepEqual(errors, []);

      // NAFlow's animated flow (flow_anim.png) decodes in Chromium as an animation with one frame per layer.
      const apng = await Deno.readFile(`${flow}/flow_anim.png`);
      const decoded = await page.evaluate(async (bytes) => {
        const data = Uint8Array.from(atob(bytes), (c) => c.charCodeAt(0));
        const dec = new ImageDecoder({ data, type: "image/png" });
        await dec.tracks.ready;
        const track = dec.tracks.selectedTrack!;
        const first = await dec.decode({ frameIndex: 0 });
        const out = {
          animated: track.animated,
          frames: track.frameCount,
          width: first.image.displayWidth,
          height: first.image.displayHeight,
        };
        first.image.close();
        dec.close();
        return out;
      }, encodeBase64(apng));
      const ihdr = new DataView(apng.buffer, apng.byteOffset + 16, 8);
      assert.deepEqual(decoded, {
        animated: true,
        frames: flowLayers,
        width: ihdr.getUint32(0),
        height: ihdr.getUint32(4),
      });

      await Deno.mkdir(artifacts, { recursive: true });
      await page.screenshot({ path: `${artifacts}/cli-demo-quick.png` });
      await page.screenshot({ path: `${artifacts}/cli-demo-quick-full.png`, fullPage: true });
      for (const f of ["cli-demo-quick.png", "cli-demo-quick-full.png"]) {
        const png = await Deno.readFile(`${artifacts}/${f}`);
        assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      }
    } finally {
      await browser.close();
      await Deno.remove(out, { recursive: true });
      await Deno.remove(flow, { recursive: true });
    }
  },
});
