import { runForward, tf } from "@cnnlens/core";
import { parse } from "../args.ts";
import { UsageError } from "../errors.ts";
import { loadModel } from "../load.ts";
import { loadInput } from "../input.ts";
import { OutputDir } from "../output.ts";

export const summary = "run a model on an input: output.npy and result.json (top-5)";
export const help = `cnnlens predict — ${summary}

Usage:
  cnnlens predict --model M --input X [--out DIR] [--backend B] [--json]

--input is a PNG/JPEG (resized to the model's size, ImageNet-normalised) or a .npy tensor (1, C, H, W)
used exactly as given.

Examples:
  cnnlens predict --model zoo:resnet18 --input cat.png --out out/
  cnnlens predict --model model.onnx --input x.npy --json
`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parse(argv, {
    model: { type: "string" },
    input: { type: "string" },
    out: { type: "string" },
    backend: { type: "string", default: "auto" },
    json: { type: "boolean" },
    debug: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (!values.model) throw new UsageError("predict needs --model (a .onnx file, a model.json, or zoo:NAME)");
  if (!values.input) throw new UsageError("predict needs --input (a PNG/JPEG image or a .npy tensor)");
  const model = await loadModel(values.model, values.backend);
  const input = await loadInput(values.input, model);
  const out = await OutputDir.open(values.out);
  const t0 = performance.now();
  const tr = runForward(model.graph, input.tensor, { keep: [] });
  const y = tr.get(model.graph.output);
  const flat = tf.reshape(y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y, [-1]);
  const data = Float32Array.from(await flat.data() as Float32Array);
  const ms = performance.now() - t0;
  const shape = model.graph.node(model.graph.output).shape;
  await out.npy("output.npy", data, [1, ...shape]);
  const top = [...data.keys()].sort((a, b) => data[b] - data[a]).slice(0, 5).map((i) => ({
    class: i,
    score: data[i],
    label: model.labels?.[i] ?? null,
  }));
  const text = await out.result({
    model: model.source,
    input: input.source,
    backend: model.backend.name,
    output_shape: [1, ...shape],
    top5: top,
    timings: { forward_ms: ms },
  });
  if (values.json) console.log(text.trimEnd());
  else console.log(`top-1: class ${top[0].class} (${top[0].score.toFixed(4)}) — wrote ${out.dir}/`);
  flat.dispose();
  tr.dispose();
  input.tensor.dispose();
  model.graph.dispose();
  return 0;
}
