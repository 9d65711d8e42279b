import { classLogit, cosineSimilarity, type Decision, runForward, tf } from "@cnnlens/core";
import type { Tensor } from "@cnnlens/core";
import { UsageError } from "./errors.ts";
import type { LoadedModel } from "./load.ts";
import type { LoadedInput } from "./input.ts";

/** The decision being explained, plus what result.json says about it. */
export interface ResolvedDecision {
  decision: Decision;
  info: Record<string, unknown>;
  /** Reference embeddings [K, D] for similarity decisions (owned; dispose with the decision). */
  references?: Tensor;
  dispose(): void;
}

async function flatOutput(model: LoadedModel, x: Tensor, node: string): Promise<Float32Array> {
  const tr = runForward(model.graph, x, { keep: [node], until: node });
  const v = tr.get(node);
  const t = v.rank === 4 ? tf.transpose(v, [0, 3, 1, 2]) : v;
  const data = Float32Array.from(await t.data() as Float32Array);
  if (t !== v) t.dispose();
  tr.dispose();
  return data;
}

/**
 * Resolve `--class C` / `--top1` / `--reference R… [--embedding NAME]` into a core decision.
 * @param model The model.
 * @param input The query input.
 * @param opts Parsed flags.
 * @param references Loaded reference inputs (for similarity decisions).
 * @returns The decision.
 */
export async function resolveDecision(
  model: LoadedModel,
  input: LoadedInput,
  opts: { class?: string; embedding?: string },
  references: LoadedInput[] = [],
): Promise<ResolvedDecision> {
  if (references.length) {
    const node = model.graph.node(opts.embedding ?? model.graph.output).name;
    const embs: Float32Array[] = [];
    for (const r of references) embs.push(await flatOutput(model, r.tensor, node));
    const q = await flatOutput(model, input.tensor, node);
    const refs = tf.tensor2d(embs.map((e) => Array.from(e)));
    const sims = embs.map((e) => cosine(q, e));
    return {
      decision: cosineSimilarity(refs, node),
      info: { kind: "similarity", metric: "cosine", embedding: node, similarities: sims, score: mean(sims) },
      references: refs,
      dispose: () => refs.dispose(),
    };
  }
  const out = await flatOutput(model, input.tensor, model.graph.output);
  let c: number;
  if (opts.class !== undefined) {
    c = Number(opts.class);
    if (!Number.isInteger(c) || c < 0 || c >= out.length) {
      throw new UsageError(`Class ${opts.class} is out of range: the model has classes 0..${out.length - 1}`);
    }
  } else c = [...out.keys()].reduce((a, b) => out[b] > out[a] ? b : a, 0);
  return {
    decision: classLogit(c),
    info: {
      kind: "class",
      class: c,
      label: model.labels?.[c] ?? null,
      score: out[c],
      predicted: [...out.keys()].reduce((a, b) => out[b] > out[a] ? b : a, 0),
    },
    dispose: () => {},
  };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return d / Math.sqrt(na * nb);
}

function mean(v: number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}
