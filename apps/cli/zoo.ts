import { conv4, type Graph, resnet18, resnet50, vgg16 } from "@cnnlens/core";

/** A model the CLI can load by `zoo:NAME`. */
export interface ZooEntry {
  name: string;
  description: string;
  /** Input size [H, W]. */
  size: [number, number];
}

interface ZooImpl extends ZooEntry {
  build: () => Graph;
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
export function buildZoo(name: string): { graph: Graph; entry: ZooEntry } | undefined {
  const z = zoo.find((e) => e.name === name);
  return z ? { graph: z.build(), entry: z } : undefined;
}
