/**
 * Raised for TensorFlow.js content cnnlens cannot import: an unsupported layer, op or activation, a
 * missing or truncated weights file, a malformed `model.json`. The message is one line and starts with
 * `Cannot import TensorFlow.js model:`.
 * @example
 * ```ts
 * import { TfjsImportError } from "./tfjs_import_error.ts";
 * const e = new TfjsImportError("Cannot import TensorFlow.js model: unsupported layer 'l' (class LSTM)");
 * if (e.name !== "TfjsImportError") throw new Error("name");
 * ```
 */
export class TfjsImportError extends Error {
  override name = "TfjsImportError";
}
