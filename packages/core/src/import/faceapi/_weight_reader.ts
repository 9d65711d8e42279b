/**
 * Takes weights by name from a dequantized face-api weight map, checking shapes and that every weight
 * was used exactly once.
 * @module
 */
import { tf } from "../../tf.ts";
import type { Tensor } from "../../tf.ts";
import type { FaceApiWeight, FaceApiWeights } from "./faceapi_weights.ts";

/** Reads a face-api weight map for one graph. */
export class WeightReader {
  readonly #weights: FaceApiWeights;
  readonly #used = new Set<string>();

  /**
   * @param weights The dequantized weights.
   * @param model Model name for messages.
   */
  constructor(weights: FaceApiWeights, readonly model: string) {
    this.#weights = weights;
  }

  /**
   * A weight's values; its rank (and, where given, its shape) must match.
   * @param name Manifest name.
   * @param shape Expected shape; `-1` matches any size.
   * @returns The weight.
   */
  take(name: string, shape: number[]): FaceApiWeight {
    const w = this.#weights.get(name);
    if (!w) throw new RangeError(`The ${this.model} weights lack '${name}'`);
    if (w.shape.length !== shape.length || shape.some((d, i) => d !== -1 && d !== w.shape[i])) {
      throw new RangeError(`Weight '${name}' of ${this.model} has shape [${w.shape}], expected [${shape}]`);
    }
    if (this.#used.has(name)) throw new RangeError(`Weight '${name}' of ${this.model} was used twice`);
    this.#used.add(name);
    return w;
  }

  /**
   * A weight as a tensor.
   * @param name Manifest name.
   * @param shape Expected shape (`-1` = any).
   * @returns A new tensor.
   */
  tensor(name: string, shape: number[]): Tensor {
    const w = this.take(name, shape);
    return tf.tensor(w.data, w.shape, "float32");
  }

  /** Throw if some weight of the map was never used (the graph would not be the model). */
  finish(): void {
    const left = [...this.#weights.keys()].filter((k) => !this.#used.has(k));
    if (left.length) {
      throw new RangeError(
        `The ${this.model} weights have entries no layer uses: ${left.slice(0, 5).join(", ")}`,
      );
    }
  }
}
