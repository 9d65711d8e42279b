/**
 * Produces the committed face-api reference data in `packages/core/testdata/faceapi/` with
 * `@vladmandic/face-api` itself, running under Deno on its own bundled TensorFlow.js (CPU backend):
 *
 * - `faces.json`: for every sample photo shipped in `@vladmandic/face-api/demo/`, the faces its
 *   SSD-MobileNetV1 detector finds (default options: minConfidence 0.5), the integer crop box face-api's
 *   `extractFaceTensors` cuts, and face-api's outputs on that crop: the 128-d descriptor
 *   (`faceRecognitionNet.computeFaceDescriptor`), the expression logits (`faceExpressionNet.runNet`) and
 *   probabilities (`faceExpressionNet.forward`, softmax).
 * - `<photo>_face<j>.jpg`: each crop, JPEG quality 95 (jpeg-js), so the tests need not decode the 1920-px
 *   photos; the outputs above are face-api's on the crop as decoded back from this file.
 * - `preprocess.json`: face-api's own input preprocessing (`NetInput.toBatchTensor(size, true)`, then
 *   `normalize(x, meanRgb) / 255`) on small seeded random images of assorted shapes.
 *
 * Run once (about a minute on two cores), from the repository root:
 *
 * ```sh
 * npx deno run -A packages/core/src/import/faceapi/tools/faceapi_reference.ts
 * ```
 *
 * Getting face-api to run under Deno: the bundle's tfjs sees Deno's `process` global, takes Node's platform
 * and fails on its stubbed `util` module, so `process` is hidden while the bundle loads and a small Deno
 * platform (fetch, now, text codecs) is installed; face-api's own environment gets dummy DOM classes (it
 * is only given tensors, never media elements). Images are decoded with the core's `decodeImage` (jpeg-js),
 * the same decoder the tests use, so both sides see the same pixels.
 * @module
 */
import jpeg from "jpeg-js";
import { decodeImage } from "../../../io/image.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const g = globalThis as Record<string, unknown>;
const processDescriptor = Object.getOwnPropertyDescriptor(g, "process");
Object.defineProperty(g, "process", { value: undefined, configurable: true, writable: true });
const faceapi: Any = await import(import.meta.resolve("@vladmandic/face-api/dist/face-api.esm.js"));
if (processDescriptor) Object.defineProperty(g, "process", processDescriptor);
else delete g.process;

const tf = faceapi.tf;
tf.setPlatform("deno", {
  fetch: (path: string, init?: RequestInit) => fetch(path, init),
  now: () => performance.now(),
  encode: (text: string) => new TextEncoder().encode(text),
  decode: (bytes: Uint8Array, encoding: string) => new TextDecoder(encoding).decode(bytes),
  isTypedArray: (a: unknown) =>
    a instanceof Float32Array || a instanceof Int32Array || a instanceof Uint8Array ||
    a instanceof Uint8ClampedArray,
  setTimeoutCustom: (f: () => void, delay: number) => setTimeout(f, delay),
});
class NoDom {}
const noDom = () => {
  throw new Error("face-api under Deno: no DOM, pass tensors");
};
faceapi.env.setEnv({
  Canvas: NoDom,
  CanvasRenderingContext2D: NoDom,
  Image: NoDom,
  ImageData: NoDom,
  Video: NoDom,
  createCanvasElement: noDom,
  createImageElement: noDom,
  createVideoElement: noDom,
  fetch: (url: string, init?: RequestInit) => fetch(url, init),
  readFile: (path: string) => Deno.readFile(path),
});
await tf.setBackend("cpu");
await tf.ready();

const pkg = new URL("./", import.meta.resolve("@vladmandic/face-api/package.json"));
const modelDir = new URL("model/", pkg).href;
await faceapi.nets.ssdMobilenetv1.loadFromUri(modelDir);
await faceapi.nets.faceRecognitionNet.loadFromUri(modelDir);
await faceapi.nets.faceExpressionNet.loadFromUri(modelDir);
const version = JSON.parse(await Deno.readTextFile(new URL("package.json", pkg))).version;
const out = new URL("../../../../testdata/faceapi/", import.meta.url);
await Deno.mkdir(out, { recursive: true });

const round = (x: number) => Number(x.toPrecision(9));
const arr = (a: ArrayLike<number>) => Array.from(a, round);

// --- faces.json -------------------------------------------------------------------------------------
const samples = [...Deno.readDirSync(new URL("demo/", pkg))]
  .map((e) => e.name)
  .filter((n) => /^sample\d+\.jpg$/.test(n))
  .sort();
const faces: unknown[] = [];
for (const name of samples) {
  const img = decodeImage(await Deno.readFile(new URL(`demo/${name}`, pkg)));
  const image = tf.tensor3d(img.data, [img.height, img.width, 3], "int32");
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  const detections = await faceapi.detectAllFaces(image, options);
  // face-api's pipeline (detection → crop → expression) as a cross-check of the crops recorded below.
  const pipeline = await faceapi.detectAllFaces(image, options).withFaceExpressions();
  for (const [j, det] of detections.entries()) {
    const box = det.forSize(img.width, img.height).box.clipAtImageBorders(img.width, img.height);
    const [cut] = await faceapi.extractFaceTensors(image, [det]);
    if (cut.shape[0] !== box.height || cut.shape[1] !== box.width) throw new Error("crop box mismatch");
    const rgb = await cut.data();
    const rgba = new Uint8Array(box.width * box.height * 4);
    for (let i = 0; i < box.width * box.height; i++) {
      rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = 255;
    }
    const file = `${name.replace(/\.jpg$/, "")}_face${j}.jpg`;
    const encoded = jpeg.encode({ data: rgba, width: box.width, height: box.height }, 95).data;
    await Deno.writeFile(new URL(file, out), encoded);
    const decoded = decodeImage(encoded);
    const crop = tf.tensor3d(decoded.data, [box.height, box.width, 3], "int32");
    const descriptor = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(crop);
    const logitsT = faceapi.nets.faceExpressionNet.runNet(await faceapi.toNetInput(crop));
    const probsT = await faceapi.nets.faceExpressionNet.forward(crop);
    const logits = await logitsT.data();
    const probs = await probsT.data();
    // face-api's own pipeline must give, on its crop, what its net gives on the crop recorded here.
    const cutProbsT = await faceapi.nets.faceExpressionNet.forward(cut);
    const cutProbs = await cutProbsT.data();
    cutProbsT.dispose();
    const viaPipeline = pipeline[j].expressions;
    const labels = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"];
    const diff = Math.max(...labels.map((l, k) => Math.abs(viaPipeline[l] - cutProbs[k])));
    if (diff > 1e-6) throw new Error(`${name} face ${j}: pipeline expressions differ by ${diff}`);
    const jpegDiff = Math.max(...labels.map((_, k) => Math.abs(cutProbs[k] - probs[k])));
    console.log(
      `  JPEG q95 crop vs exact crop: expression probabilities differ by ${jpegDiff.toExponential(2)}`,
    );
    faces.push({
      image: name,
      face: j,
      score: round(det.score),
      box: [det.box.x, det.box.y, det.box.width, det.box.height].map(round),
      crop: { x: box.x, y: box.y, width: box.width, height: box.height },
      file,
      descriptor: arr(descriptor),
      expressionLogits: arr(logits),
      expressionProbabilities: arr(probs),
    });
    tf.dispose([cut, crop, logitsT, probsT]);
    console.log(name, j, box.x, box.y, box.width, box.height, det.score.toFixed(3));
  }
  image.dispose();
}
await Deno.writeTextFile(
  new URL("faces.json", out),
  JSON.stringify(
    {
      producedBy: "packages/core/src/import/faceapi/tools/faceapi_reference.ts",
      faceApiVersion: version,
      tfjsVersion: tf.version_core,
      backend: tf.getBackend(),
      decoder: "core decodeImage (jpeg-js); crops re-encoded as JPEG quality 95 (jpeg-js) and decoded back",
      detector: "ssdMobilenetv1, minConfidence 0.5, maxResults 100",
      faces,
    },
    null,
    1,
  ) + "\n",
);

// --- preprocess.json -------------------------------------------------------------------------------
/** A tiny seeded generator (LCG), repeated in the test to regenerate the pixels. */
function pixels(seed: number, n: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
}
const cases = [
  { width: 9, height: 5, size: 12 }, // landscape, odd difference, upsample
  { width: 5, height: 9, size: 7 }, // portrait, odd difference, downsample
  { width: 4, height: 10, size: 6 }, // portrait, even difference
  { width: 8, height: 8, size: 8 }, // square, no resize
  { width: 13, height: 6, size: 5 }, // landscape, strong downsample
  { width: 6, height: 6, size: 11 }, // square, upsample
];
const meanRgb = [122.782, 117.001, 104.298];
const pre: unknown[] = [];
for (const [i, c] of cases.entries()) {
  const seed = 1000 + i;
  const data = pixels(seed, c.width * c.height * 3);
  const t = tf.tensor3d(data, [c.height, c.width, 3], "int32");
  const net = await faceapi.toNetInput(t);
  const batch = net.toBatchTensor(c.size, true);
  const normalized = tf.div(tf.sub(batch, tf.tensor1d(meanRgb)), 255);
  pre.push({ ...c, seed, output: arr(await normalized.data()) });
  tf.dispose([t, batch, normalized]);
}
await Deno.writeTextFile(
  new URL("preprocess.json", out),
  JSON.stringify(
    {
      producedBy: "packages/core/src/import/faceapi/tools/faceapi_reference.ts",
      faceApiVersion: version,
      note:
        "NetInput.toBatchTensor(size, true), minus meanRgb, divided by 255; pixels from the LCG in the tool",
      meanRgb,
      cases: pre,
    },
    null,
    1,
  ) + "\n",
);
console.log(`${faces.length} faces, ${pre.length} preprocessing cases written to ${out.pathname}`);
