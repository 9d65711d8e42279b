/**
 * End-to-end: the dashboard in Debian's headless Chromium, driven by playwright-core. Screenshots are
 * saved under $CNNLENS_ARTIFACTS (default: a temp folder) as artifacts.
 */
import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
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

async function textOf(page: Page, sel: string): Promise<string | null> {
  return await page.$(sel) ? await page.textContent(sel) : null;
}

async function noError(page: Page): Promise<void> {
  assert.equal(await page.$("#error"), null, `the job failed: ${await textOf(page, "#error")}`);
}

Deno.test({
  name:
    "dashboard e2e: flow scrubbing, lazy gAP tree, metrics panel, IOM perturbation, FAM episodes, upload, cancel (headless Chromium)",
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
      await noError(page);
      const first = await page.textContent("#layer-name");
      const max = Number(await page.getAttribute("#scrubber", "max"));
      assert.ok(max >= 2, `the flow has ${max + 1} layers`);
      await page.fill("#scrubber", String(max));
      await page.dispatchEvent("#scrubber", "input");
      const last = await page.textContent("#layer-name");
      assert.notEqual(first, last);
      await page.screenshot({ path: `${artifacts}/02-naflow-scrubbed.png` });

      // gAP: the evidence tree shows (one level); clicking a node selects its figure and, the tree being
      // lazy, asks the server to decompose it: its children appear.
      await page.selectOption("select[name=method]", "gap");
      await page.click("#run");
      await page.waitForSelector("#tree .node[data-node], #error", { timeout: 120_000 });
      await noError(page);
      const nodes = await page.$$("#tree .node[data-node]");
      assert.equal(nodes.length, 4, "the decision and its top 3 channels (depth 1)");
      assert.equal(await nodes[1].getAttribute("data-expandable"), "true");
      await nodes[1].click();
      assert.equal(await nodes[1].evaluate((e) => e.classList.contains("picked")), true);
      await page.waitForSelector('#tree .node[data-node="0.0"], #error', { timeout: 120_000 });
      await noError(page);
      const grown = await page.$$eval(
        "#tree .node[data-node]",
        (l) => l.map((e) => e.getAttribute("data-node")),
      );
      assert.deepEqual(grown, ["", "0", "0.0", "0.1", "0.2", "1", "2"]);
      assert.equal(await page.getAttribute('#tree .node[data-node="0"]', "data-expandable"), null);
      await page.click('#tree .node[data-node="0.1"]');
      assert.match((await page.textContent(".overlay .caption"))!, /^0\.1: /);
      await page.screenshot({ path: `${artifacts}/03-gap-tree-expanded.png` });

      // Metrics: a synthetic sample has a known box; its map is scored against it.
      await page.selectOption("select[name=model]", "eval:vgg_bn");
      await page.selectOption("select[name=image]", "synth:test-0");
      assert.ok(await page.$("#box-known"), "the picker says the box is known");
      await page.selectOption("select[name=method]", "gradcam");
      await page.click("#run");
      await page.waitForSelector("#metrics, #error", { timeout: 120_000 });
      await noError(page);
      for (const id of ["proportion", "iou", "ad"]) {
        const v = Number(await page.getAttribute(`#metric-${id}`, "data-value"));
        assert.ok(v >= 0 && v <= 1, `${id} = ${v}`);
      }
      assert.match((await page.textContent("#metric-ic"))!, /^(yes|no)$/);
      await page.locator("#metrics").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${artifacts}/04-metrics.png`, fullPage: true });

      // IOM: the perturbation view, (1 − M) ∘ X and the outputs before and after.
      await page.selectOption("select[name=model]", "eval:iom_cnn6");
      await page.selectOption("select[name=image]", "synth:test-1");
      await page.selectOption("select[name=method]", "iom");
      await page.click("#run");
      await page.waitForSelector("#perturbation, #error", { timeout: 120_000 });
      await noError(page);
      assert.ok(await page.$("#perturbed"));
      const rows = await page.$$eval(
        "#perturbation-table tbody tr",
        (l) => l.map((r) => [...r.querySelectorAll("[data-p]")].map((c) => Number(c.getAttribute("data-p")))),
      );
      assert.ok(rows.length >= 5, "top 5 classes");
      for (const r of rows) for (const p of r) assert.ok(p >= 0 && p <= 1);
      assert.ok(await page.$("#perturbation-table tr.decided"), "the decided class is marked");
      await page.locator("#perturbation").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${artifacts}/05-iom-perturbation.png`, fullPage: true });

      // FAM episode: 5-way 1-shot on the generator's few-shot classes with the few-shot embedding.
      await page.click("#tab-episode");
      await page.click("#ep-run");
      await page.waitForSelector("#episode, #ep-error", { timeout: 120_000 });
      assert.equal(await page.$("#ep-error"), null, `episode failed: ${await textOf(page, "#ep-error")}`);
      const classes = await page.$$eval(
        "#ep-supports .ep-class",
        (l) => l.map((e) => e.getAttribute("data-class")),
      );
      assert.equal(classes.length, 5);
      const queries = await page.$$eval(".ep-query", (l) =>
        l.map((q) => ({
          pred: q.querySelector(".ep-pred")!.textContent,
          scores: [...q.querySelectorAll(".ep-score")].map((s) => ({
            c: s.getAttribute("data-class"),
            v: Number(s.getAttribute("data-similarity")),
          })),
          maps: q.querySelectorAll(".ep-map").length,
          supportMaps: q.querySelectorAll(".ep-support-map").length,
        })));
      assert.equal(queries.length, 5, "one query per class");
      for (const q of queries) {
        assert.deepEqual(q.scores.map((s) => s.c), classes);
        const best = q.scores.reduce((a, b) => (b.v > a.v ? b : a));
        assert.equal(q.pred, best.c, "prediction = highest mean similarity");
        assert.equal(q.maps, 1);
        assert.equal(q.supportMaps, 1, "K = 1 support map of the explained class");
      }
      await page.screenshot({ path: `${artifacts}/06-episode-synth.png`, fullPage: true });

      // Episode from picked images: 2-way 2-shot, supports and a labelled query chosen in the page.
      await page.selectOption("select[name=ep-source]", "samples");
      await page.fill("input[name=ep-ways]", "2");
      await page.fill("input[name=ep-shots]", "2");
      const pickImg = async (name: string, id: string) => await page.selectOption(`select[name=${name}]`, id);
      await pickImg("ep-support-0-0", "synth:fewshot-0");
      await pickImg("ep-support-0-1", "synth:fewshot-6");
      await pickImg("ep-support-1-0", "synth:fewshot-3");
      await pickImg("ep-support-1-1", "synth:fewshot-9");
      await pickImg("ep-query-0", "synth:fewshot-3");
      await page.selectOption("select[name=ep-query-label-0]", "class 2");
      await page.click("#ep-run");
      await page.waitForFunction(
        () => document.querySelector("#ep-summary")?.textContent?.startsWith("2-way 2-shot"),
        null,
        {
          timeout: 120_000,
        },
      );
      assert.equal(await page.$("#ep-error"), null, `episode failed: ${await textOf(page, "#ep-error")}`);
      assert.equal(await page.textContent(".ep-pred"), "class 2", "the query is one of class 2's supports");
      assert.equal(await page.$$eval(".ep-support-map", (l) => l.length), 2);
      await page.screenshot({ path: `${artifacts}/07-episode-samples.png`, fullPage: true });
      await page.click("#tab-explain");

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
      await page.selectOption("select[name=model]", "fixture:resnet_basic_fused_op17.onnx");
      await page.selectOption("select[name=method]", "gradcam");
      await page.click("#run");
      await page.waitForFunction(
        () =>
          document.querySelector("#decision")?.textContent?.startsWith("gradcam") &&
          !document.querySelector("#metrics"),
        null,
        {
          timeout: 120_000,
        },
      );
      await page.screenshot({ path: `${artifacts}/08-upload-gradcam.png` });

      // Cancel a running job: the status says so at once and the next job runs.
      await page.selectOption("select[name=model]", "zoo:resnet18");
      await page.selectOption("select[name=method]", "scorecam");
      await page.click("#run");
      await page.waitForFunction(
        () => document.querySelector("#status")?.textContent === "running: running scorecam",
        null,
        {
          timeout: 120_000,
        },
      );
      await page.click("#cancel");
      await page.waitForFunction(
        () => document.querySelector("#status")?.textContent?.startsWith("cancelled"),
        null,
        {
          timeout: 30_000,
        },
      );
      assert.equal(await page.isEnabled("#run"), true);
      assert.ok(await page.$("#compare"), "compare view after several runs");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.close();
    }
  },
});
