import type { RgbImage } from "@cnnlens/core";
import type { LoadedModel } from "../load.ts";
import type { LoadedInput } from "../input.ts";
import type { ResolvedDecision } from "../decision.ts";
import type { OutputDir } from "../output.ts";

/** Everything a method needs to explain one input. */
export interface ExplainContext {
  model: LoadedModel;
  input: LoadedInput;
  decision: ResolvedDecision;
  /** `--layer` values (may be empty: the method picks its default). */
  layers: string[];
  /** Reference inputs (similarity decisions). */
  references: LoadedInput[];
  /** Method-specific flags, raw. */
  options: Record<string, unknown>;
}

/** A picture for the report: a title and an image. */
export interface Figure {
  title: string;
  /** The picture (usually the map over the input). */
  image: RgbImage;
  /** The colour-mapped map alone at the input's size, for interactive opacity. */
  heat?: RgbImage;
  /** Figures of one group form a sequence (e.g. NAFlow's layers, shallow to deep). */
  group?: string;
  /** For trees (gAP): the node id this figure belongs to. */
  node?: string;
}

/** What a method's run produced: kept in memory, written by `write`. */
export interface MethodRun {
  /** Write the contract's files; return extra result.json fields. */
  write(out: OutputDir): Promise<Record<string, unknown>>;
  /** Pictures for HTML reports. */
  figures(): Figure[];
  /**
   * The method's main map for metrics (`cnnlens eval`): [H, W] at the map's own resolution, or [C, H, W]
   * at the input's (IOM).
   */
  map?(): { data: Float32Array; shape: number[] };
  /** Structured data for interactive views (e.g. gAP's tree), JSON-serialisable. */
  data?(): Record<string, unknown>;
  /** Release tensors, if any are held. */
  dispose?(): void;
}

/** A method as the CLI sees it. */
export interface MethodAdapter {
  id: string;
  summary: string;
  /** Flags the method accepts beyond the common ones (parseArgs specs). */
  flags?: Record<string, { type: "string" | "boolean"; multiple?: boolean; default?: string | boolean }>;
  /** Compute the explanation (timed; must not write files). */
  explain(ctx: ExplainContext): Promise<MethodRun>;
}
