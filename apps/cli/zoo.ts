import {
  conv4,
  FACEAPI_ZOO,
  faceapiPreprocess,
  type Graph,
  importTfjsModel,
  resnet18,
  resnet50,
  type RgbImage,
  vgg16,
} from "@cnnlens/core";

/** A model the CLI can load by `zoo:NAME`. */
export interface ZooEntry {
  name: string;
  description: string;
  /** Input size [H, W]. */
  size: [number, number];
  /** Class names, for classifiers that have them. */
  labels?: readonly string[];
  /** Normalisation of [0, 1] pixels. @default ImageNet */
  mean?: [number, number, number];
  std?: [number, number, number];
  /** Exact input preparation (e.g. face-api's pad-to-square), NHWC [1, H, W, 3]; else resize + normalise. */
  preprocess?: (img: RgbImage) => Float32Array;
}

interface ZooImpl extends ZooEntry {
  /** Builds the graph; absent for entries that are a shipped TensorFlow.js model (`file`). */
  build?: () => Graph | Promise<Graph>;
  /**
   * A `model.json` shipped in the repository, loaded like `--model FILE` (its `userDefinedMetadata` gives
   * the class names and normalisation).
   */
  file?: string;
}

const evalModels = new URL("../../packages/eval/models/", import.meta.url).pathname;

/** The five models trained on the synthetic data (packages/eval/models/, see its README). */
const SYNTH: { name: string; dir: string; what: string }[] = [
  { name: "synth-vgg", dir: "vgg_bn", what: "VGG-style CNN with BatchNorm, 6 synthetic shape classes" },
  {
    name: "synth-resnet",
    dir: "resnet_small",
    what: "small ResNet (GAP + FC head), 6 synthetic shape classes",
  },
  {
    name: "synth-cnn6",
    dir: "iom_cnn6",
    what: "IOM's 6-conv CNN (our reading, no BN), 6 synthetic shape classes",
  },
  {
    name: "synth-conv4",
    dir: "conv4_leaky",
    what: "Conv4 (32 ch, BN, LeakyReLU 0.1), 6 synthetic shape classes",
  },
  {
    name: "synth-fewshot",
    dir: "fewshot_resnet",
    what: "ResNet embedding (64-d) for few-shot similarity over the disjoint synthetic classes B",
  },
];

const zoo: ZooImpl[] = [
  {
    name: "resnet18",
    description: "ResNet-18 (torchvision layout, seeded random weights, 1000 classes, 224×224)",
    size: [224, 224],
    build: () => resnet18(),
  },
  {
    name: "resnet50",
    description: "ResNet-50 (torchvision layout, seeded random weights, 1000 classes, 224×224)",
    size: [224, 224],
    build: () => resnet50(),
  },
  {
    name: "vgg16",
    description: "VGG-16 (torchvision layout, seeded random weights, 1000 classes, 224×224)",
    size: [224, 224],
    build: () => vgg16(),
  },
  {
    name: "conv4",
    description: "Conv4 few-shot backbone (4 × conv-BN-LeakyReLU 0.1-maxpool, 64 ch, 84×84, embedding)",
    size: [84, 84],
    build: () => conv4(),
  },
  ...SYNTH.map((m): ZooImpl => ({
    name: m.name,
    description: `${m.what} (trained here, 64×64; packages/eval/models/${m.dir})`,
    size: [64, 64],
    file: `${evalModels}${m.dir}/model.json`,
  })),
  ...FACEAPI_ZOO.map((z): ZooImpl => ({
    name: z.name,
    description: z.description,
    size: z.size,
    labels: z.labels,
    mean: z.preprocessing.mean as [number, number, number],
    std: z.preprocessing.std as [number, number, number],
    preprocess: (img) => faceapiPreprocess(img, z.size[0]),
    build: () => z.load(),
  })),
];

/** The zoo's entries (without builders). */
export function zooEntries(): ZooEntry[] {
  return zoo.map(({ name, description, size }) => ({ name, description, size }));
}

/**
 * Find a zoo entry by name.
 * @param name Name without the `zoo:` prefix.
 * @returns The entry (with `file` for shipped model.json files), or undefined.
 */
export function findZoo(name: string): (ZooEntry & { file?: string }) | undefined {
  return zoo.find((e) => e.name === name);
}

/**
 * Build a zoo model by name (entries with a `file` are loaded by `loadModel` like a model.json path).
 * @param name Name without the `zoo:` prefix.
 * @returns The graph and its entry, or undefined.
 */
export async function buildZoo(name: string): Promise<{ graph: Graph; entry: ZooEntry } | undefined> {
  const z = zoo.find((e) => e.name === name);
  if (!z) return undefined;
  if (z.file) {
    return { graph: await importTfjsModel(z.file), entry: z };
  }
  return { graph: await z.build!(), entry: z };
}
