/**
 * The one place cnnlens imports TensorFlow.js from. Every package reaches tfjs through `@cnnlens/core`'s
 * `tf` export so that exactly one tfjs engine (and one set of registered backends) exists per process.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import "@tensorflow/tfjs-backend-webgpu";

// The "you are running in Node.js, install tfjs-node" banner is misleading under Deno; prod mode silences
// it (and skips debug-only checks, which cnnlens does not rely on).
tf.enableProdMode();

export { tf };
export type Tensor = tf.Tensor;
