/**
 * Cooperative cancellation inside the job worker. The server writes the sequence number of the job to stop
 * into a shared `Int32Array`; every tfjs kernel the worker launches (between layers, between the steps of
 * a method) first checks it and throws {@linkcode Cancelled}. A running job therefore stops within one
 * kernel, the worker keeps its loaded models, and the next job starts at once.
 * @module
 */
import { tf } from "@cnnlens/core";

/** Thrown inside a job that was cancelled. */
export class Cancelled extends Error {
  constructor() {
    super("cancelled");
    this.name = "Cancelled";
  }
}

let flag: Int32Array | undefined;
let current = 0;
let hooked = false;

/** True when the server asked to stop the current job. */
export function isCancelled(): boolean {
  return flag !== undefined && current !== 0 && Atomics.load(flag, 0) === current;
}

/** Throw {@linkcode Cancelled} if the current job was cancelled. */
export function checkpoint(): void {
  if (isCancelled()) throw new Cancelled();
}

/**
 * Use the shared flag and hook tfjs's kernel dispatch (once per worker).
 * @param buffer The server's 4-byte shared buffer.
 */
export function initCancel(buffer: SharedArrayBuffer): void {
  flag = new Int32Array(buffer);
  if (hooked) return;
  hooked = true;
  const engine = tf.engine() as unknown as { runKernel: (...args: unknown[]) => unknown };
  const run = engine.runKernel.bind(engine);
  engine.runKernel = (...args: unknown[]) => {
    checkpoint();
    return run(...args);
  };
}

/**
 * Mark which job runs now (0: none).
 * @param seq The job's sequence number.
 */
export function setCurrent(seq: number): void {
  current = seq;
}
