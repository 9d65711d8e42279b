/**
 * What the server asks the job worker for, and what the worker answers. Shared by `jobs.ts` (server side)
 * and `worker.ts`.
 * @module
 */

/** Explain one image with one method (the CLI's method adapters). */
export interface ExplainRequest {
  kind?: "explain";
  /** Model spec (a `zoo:` name or a server-side path from the catalog). */
  model: string;
  /** Image path (from the catalog). */
  image: string;
  method: string;
  layers?: string[];
  class?: number;
  /** Reference image paths (a similarity decision). */
  references?: string[];
  options?: Record<string, unknown>;
  /** The object's box `[x0, y0, x1, y1]` in the image's pixels, when known: adds the metrics panel. */
  box?: [number, number, number, number];
}

/** An N-way K-shot few-shot episode explained with FAM. */
export interface EpisodeRequest {
  kind: "episode";
  model: string;
  /** `synth`: drawn from the generator's few-shot split; `samples`: the given images. */
  source: "synth" | "samples";
  ways: number;
  shots: number;
  /** Queries per class (synth). */
  queries: number;
  /** Episode number (synth): which seeded episode to draw. */
  episode: number;
  /** Which class every query is explained against: `predicted` or a class label. */
  explain?: string;
  /** Support classes (samples): a label and K image paths each. */
  classes?: { label: string; images: string[] }[];
  /** Query image paths (samples), with their true labels when known. */
  queryImages?: { path: string; label?: string }[];
}

/** Decompose one node of a finished gAP tree into the next layer (the interactive tree). */
export interface ExpandRequest {
  kind: "expand";
  model: string;
  image: string;
  /** The gAP layers the tree was built with (empty: the default stage layers). */
  layers: string[];
  options?: Record<string, unknown>;
  /** The job whose tree holds the node. */
  parent: string;
  node: { id: string; layer: string; channel: number; position: [number, number]; contribution: number };
}

/** Any job. */
export type JobRequest = ExplainRequest | EpisodeRequest | ExpandRequest;

/**
 * Server → worker: one job at a time, posted only after the worker said it is ready. `flag` is the shared
 * cancel flag (the same buffer every time): the worker stops when it holds `seq`.
 */
export type ToWorker = { type: "job"; id: string; seq: number; flag: SharedArrayBuffer; request: JobRequest };

/** Worker → server. `left` counts tensors the job left allocated (0 for a clean job). */
export type FromWorker =
  | { type: "ready" }
  | { id: string; type: "progress"; text: string }
  | { id: string; type: "done"; result: unknown; left: number }
  | { id: string; type: "error"; error: string; left: number }
  | { id: string; type: "cancelled"; left: number };
