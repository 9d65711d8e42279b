/**
 * The face-api models of the zoo (`zoo:faceapi-recognition`, `zoo:faceapi-expression`): what a model
 * loader needs to list, load and feed them.
 * @module
 */
import type { Graph } from "../../graph/graph.ts";
import type { FaceApiLoadOptions } from "./faceapi_weights.ts";
import {
  FACE_EXPRESSION_PREPROCESSING,
  FACE_RECOGNITION_PREPROCESSING,
  type FaceApiPreprocessing,
} from "./faceapi_preprocess.ts";
import { faceRecognitionNet } from "./face_recognition_net.ts";
import { FACE_EXPRESSION_LABELS, faceExpressionNet } from "./face_expression_net.ts";

/** One face-api zoo model. */
export interface FaceApiZooEntry {
  /** Zoo name, used as `zoo:<name>`. */
  name: string;
  /** One line for `cnnlens models`. */
  description: string;
  /** Input size [H, W]. */
  size: [number, number];
  /** `embedding` (compare outputs by similarity) or `classifier` (logits of `labels`). */
  kind: "embedding" | "classifier";
  /** Class names of a classifier's outputs. */
  labels?: readonly string[];
  /** How images become input (use {@linkcode faceapiPreprocess} for face-api's exact padding). */
  preprocessing: FaceApiPreprocessing;
  /** Build the graph from the installed package's weights. */
  load: (options?: FaceApiLoadOptions) => Promise<Graph>;
}

/**
 * The face-api zoo models.
 * @example
 * ```ts
 * import { useBackend } from "@cnnlens/core";
 * import { FACEAPI_ZOO } from "./faceapi_zoo.ts";
 * await useBackend("cpu");
 * const expr = FACEAPI_ZOO.find((z) => z.name === "faceapi-expression")!;
 * const g = await expr.load();
 * if (g.node(g.output).shape[0] !== expr.labels!.length) throw new Error("one logit per label");
 * g.dispose();
 * ```
 */
export const FACEAPI_ZOO: readonly FaceApiZooEntry[] = Object.freeze([
  {
    name: "faceapi-recognition",
    description:
      "face-api face recognition ResNet (29 convs, 5.6 M parameters, 150×150 face crop → 128-d descriptor; embedding)",
    size: [150, 150],
    kind: "embedding",
    preprocessing: FACE_RECOGNITION_PREPROCESSING,
    load: (options?: FaceApiLoadOptions) => faceRecognitionNet(options),
  },
  {
    name: "faceapi-expression",
    description:
      "face-api facial expression net (4 dense blocks of separable convs, 112×112 face crop → 7 expressions)",
    size: [112, 112],
    kind: "classifier",
    labels: FACE_EXPRESSION_LABELS,
    preprocessing: FACE_EXPRESSION_PREPROCESSING,
    load: (options?: FaceApiLoadOptions) => faceExpressionNet(options),
  },
] as FaceApiZooEntry[]);
