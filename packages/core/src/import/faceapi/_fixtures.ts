/**
 * Test fixtures: face-api's committed reference outputs (`testdata/faceapi/`, produced by
 * `tools/faceapi_reference.ts`) and the face crops they were computed on: cut by face-api from the sample
 * photos of the installed `@vladmandic/face-api` package and committed as JPEG (quality 95), so tests need
 * not decode the 1920-pixel photos (a few seconds each with jpeg-js).
 * @module
 */
import { tf } from "../../tf.ts";
import { decodeImage, type RgbImage } from "../../io/image.ts";
import { faceapiModelDir } from "./faceapi_weights.ts";
import { extractFace, faceapiPreprocess, type FaceBox } from "./faceapi_preprocess.ts";

/** One detected face with face-api's outputs on its crop. */
export interface FaceRef {
  /** Sample photo file name. */
  image: string;
  /** Index of the detection in that photo. */
  face: number;
  /** Detector score. */
  score: number;
  /** Detection box [x, y, width, height] in image pixels (fractional). */
  box: [number, number, number, number];
  /** The integer crop face-api's extractFaceTensors cut. */
  crop: FaceBox;
  /** The crop's JPEG in the testdata folder. */
  file: string;
  /** face-api's 128-d descriptor. */
  descriptor: number[];
  /** face-api's expression logits. */
  expressionLogits: number[];
  /** face-api's expression probabilities (softmax). */
  expressionProbabilities: number[];
}

/** The committed reference data folder. */
export const TESTDATA: URL = new URL("../../../testdata/faceapi/", import.meta.url);

let refs: FaceRef[] | undefined;
const photos = new Map<string, RgbImage>();
const crops = new Map<string, RgbImage>();

/** The committed per-face references. */
export async function faceRefs(): Promise<FaceRef[]> {
  refs ??= JSON.parse(await Deno.readTextFile(new URL("faces.json", TESTDATA))).faces as FaceRef[];
  return refs;
}

/** A sample photo of the installed face-api package, decoded with the core's decoder (cached). */
export async function samplePhoto(name: string): Promise<RgbImage> {
  let img = photos.get(name);
  if (!img) {
    img = decodeImage(await Deno.readFile(new URL(`../demo/${name}`, faceapiModelDir())), name);
    photos.set(name, img);
  }
  return img;
}

/** The committed crop of a reference face (what face-api's outputs were computed on), cached. */
export async function faceCrop(f: FaceRef): Promise<RgbImage> {
  let img = crops.get(f.file);
  if (!img) {
    img = decodeImage(await Deno.readFile(new URL(f.file, TESTDATA)), f.file);
    crops.set(f.file, img);
  }
  return img;
}

/** The committed crops of the reference faces, or a box cut out of each (in crop coordinates). */
export async function faceCrops(faces: FaceRef[], box?: (crop: RgbImage) => FaceBox): Promise<RgbImage[]> {
  return await Promise.all(faces.map(async (f) => {
    const c = await faceCrop(f);
    return box ? extractFace(c, box(c)) : c;
  }));
}

/** Preprocess crops into one NHWC batch tensor. */
export function batch(crops: RgbImage[], size: number): tf.Tensor4D {
  const per = size * size * 3;
  const all = new Float32Array(crops.length * per);
  crops.forEach((c, i) => all.set(faceapiPreprocess(c, size), i * per));
  return tf.tensor4d(all, [crops.length, size, size, 3]);
}

/** Max |a − b| over all elements. */
export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/**
 * Asserts that each node's gradient from tfjs autodiff equals the per-op VJP walk's, to 1e-4 of its largest
 * entry, and is not zero.
 * @param auto Gradients by node (tfjs autodiff).
 * @param walked Cotangents by node (the core's per-op walk).
 * @param nodes The nodes to compare.
 * @param label Prefix of the failure messages (e.g. the backend).
 */
export async function assertWalkEqualsAutodiff(
  auto: Map<string, tf.Tensor>,
  walked: Map<string, tf.Tensor>,
  nodes: string[],
  label: string,
): Promise<void> {
  for (const n of nodes) {
    const [a, b] = [await auto.get(n)!.data(), await walked.get(n)!.data()];
    const scale = maxAbs(a, new Float32Array(a.length));
    if (!(scale > 0)) throw new Error(`${label} ${n}: zero gradient`);
    const err = maxAbs(a, b);
    if (!(err <= 1e-4 * scale)) throw new Error(`${label} ${n}: ${err} (scale ${scale})`);
  }
}
