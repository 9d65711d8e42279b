import {
  conv4,
  FACEAPI_ZOO,
  faceapiPreprocess,
  type Graph,
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
  build: () => Graph | Promise<Graph>;
}

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
 * Build a zoo model by name.
 * @param name Name without the `zoo:` prefix.
 * @returns The graph and its entry, or undefined.
 */
export async function buildZoo(name: string): Promise<{ graph: Graph; entry: ZooEntry } | undefined> {
  const z = zoo.find((e) => e.name === name);
  return z ? { graph: await z.build(), entry: z } : undefined;
}
