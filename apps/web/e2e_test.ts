/**
 * End-to-end: the dashboard in Debian's headless Chromium, driven by playwright-core. Screenshots are
 * saved under $CNNLENS_ARTIFACTS (default: a temp folder) as artifacts.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { spawnServer } from "./_testing.ts";

const artifacts = Deno.env.get("CNNLENS_ARTIFACTS") ?? await Deno.makeTempDir({ prefix: "cnnlens-e2e-" });
await Deno.mkdir(artifacts, { recursive: true });

function chromiumPath(): string | undefined {
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    try {
      if (Deno.statSync(p).isFile) return p;
    } catch { /* next */ }
  }
  return undefined;
}

const exe = chromiumPath();

Deno.test({
  name:
    "dashboard e2e: run an explanation, scrub the flow, expand the tree, upload an image (headless Chromium)",
  ignore: exe === undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const server = await spawnServer();
    const browser = await chromium.launch({
      executablePath: exe,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(server.url);
      await page.waitForSelector("#run");
      await page.screenshot({ path: `${artifacts}/01-loaded.png` });

      // NAFlow: run, then scrub the flow and check the layer name changes.
      await page.selectOption("select[name=model]", "fixture:resnet_basic_fused_op17.onnx");
      await page.selectOption("select[name=method]", "naflow");
      await page.click("#run");
      await page.waitForSelector("#scrubber, #error", { timeout: 120_000 });
      assert.equal(
        await page.$("#error"),
        null,
        `naflow failed: ${await page.$("#error") && await page.textContent("#error")}`,
      );
      const first = await page.textContent("#layer-name");
      const max = Number(await page.getAttribute("#scrubber", "max"));
      assert.ok(max >= 2, `the flow has ${max + 1} layers`);
      await page.fill("#scrubber", String(max));
      await page.dispatchEvent("#scrubber", "input");
      const last = await page.textContent("#layer-name");
      assert.notEqual(first, last);
      await page.screenshot({ path: `${artifacts}/02-naflow-scrubbed.png` });

      // gAP: the evidence tree shows; clicking a node selects its figure.
      await page.selectOption("select[name=method]", "gap");
      await page.click("#run");
      await page.waitForSelector("#tree .node[data-node], #error", { timeout: 120_000 });
      assert.equal(
        await page.$("#error"),
        null,
        `gap failed: ${await page.$("#error") && await page.textContent("#error")}`,
      );
      const nodes = await page.$$("#tree .node[data-node]");
      assert.ok(nodes.length >= 2);
      await nodes[1].click();
      assert.equal(await nodes[1].evaluate((e) => e.classList.contains("picked")), true);
      await page.screenshot({ path: `${artifacts}/03-gap-tree.png` });

      // Upload an image: it becomes selectable and explainable.
      const { encodePng } = await import("@cnnlens/core");
      const png = encodePng({ width: 32, height: 32, data: new Uint8Array(32 * 32 * 3).fill(128) });
      const file = `${artifacts}/upload.png`;
      await Deno.writeFile(file, png);
      await page.setInputFiles("input[name=upload]", file);
      await page.waitForFunction(() =>
        [...document.querySelectorAll("select[name=image] option")].some((o) =>
          o.textContent!.includes("uploaded")
        )
      );
      await page.selectOption("select[name=method]", "gradcam");
      await page.click("#run");
      await page.waitForFunction(
        () => document.querySelector("#decision")?.textContent?.startsWith("gradcam"),
        null,
        {
          timeout: 120_000,
        },
      );
      await page.screenshot({ path: `${artifacts}/04-upload-gradcam.png` });
      assert.ok(await page.$("#compare"), "compare view after several runs");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
