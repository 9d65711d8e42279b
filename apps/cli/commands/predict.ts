import { runForward, tf } from "@cnnlens/core";
import { modelOptions, modelOptionsHelp, parse, userPreprocessing } from "../args.ts";
import { type CliConfig, configDefaults } from "../config.ts";
import { UsageError } from "../errors.ts";
import { loadModel } from "../load.ts";
import { loadInput } from "../input.ts";
import { OutputDir } from "../output.ts";

export const summary = "run a model on an input: output.npy and result.json (top-5)";
export const help = `cnnlens predict — ${summary}

Usage:
  cnnlens predict --model M --input X [--out DIR] [--backend B] [--json]

--input is a PNG/JPEG (resized to the model's size and normalised: --mean/--std, else the model's
metadata, else ImageNet) or a .npy tensor (1, C, H, W) used exactly as given. result.json has the top-5
with class names where known (--labels, the config, or the model's metadata).

${modelOptionsHelp}

Examples:
  cnnlens predict --model zoo:resnet18 --input cat.png --out out/
  cnnlens predict --model model.onnx --input x.npy --json
  cnnlens predict --model synth-vgg --input shape.png
  cnnlens predict --config cnnlens.json --input photo.jpg
`;

/** The flags of \`predict\`. */
export const options = {
  ...modelOptions,
  input: { type: "string" },
  out: { type: "string" },
  json: { type: "boolean" },
  debug: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function run(argv: string[], config?: CliConfig): Promise<number> {
  const { values } = parse(argv, options, configDefaults(config, "predict", options));
  if (!values.model) throw new UsageError("predict needs --model (a .onnx file, a model.json, or zoo:NAME)");
  if (!values.input) throw new UsageError("predict needs --input (a PNG/JPEG image or a .npy tensor)");
  const model = await loadModel(values.model, values.backend, await userPreprocessing(values, config));
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
  else {
    const name = (t: (typeof top)[number]) => `class ${t.class}${t.label === null ? "" : ` (${t.label})`}`;
    console.log(`top-1: ${name(top[0])} ${top[0].score.toFixed(4)} — wrote ${out.dir}/`);
    for (const t of top.slice(1)) console.log(`       ${name(t)} ${t.score.toFixed(4)}`);
  }
  flat.dispose();
  tr.dispose();
  input.tensor.dispose();
  model.graph.dispose();
  return 0;
}
