import { modelOptions, modelOptionsHelp, parse, userPreprocessing } from "../args.ts";
import { type CliConfig, configDefaults } from "../config.ts";
import { UsageError } from "../errors.ts";
import { loadModel } from "../load.ts";

export const summary = "list every node of a model with its op, output shape and usability as a layer";
export const help = `cnnlens layers — ${summary}

Usage:
  cnnlens layers --model M [--json]

A node is usable as a layer (--layer NAME) by the map methods when its output is a spatial feature map
(C × H × W). Names are the model's own (ONNX node names or output tensor names, tfjs layer names, or
torchvision module paths for the zoo).

${modelOptionsHelp}

Examples:
  cnnlens layers --model zoo:resnet18
  cnnlens layers --model model.onnx --json
`;

/** The flags of \`layers\`. */
export const options = {
  ...modelOptions,
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export async function run(argv: string[], config?: CliConfig): Promise<number> {
  const { values } = parse(argv, options, configDefaults(config, "layers", options));
  if (!values.model) throw new UsageError("layers needs --model (a .onnx file, a model.json, or zoo:NAME)");
  const m = await loadModel(values.model, values.backend, await userPreprocessing(values, config));
  const rows = m.graph.nodes.map((n) => ({
    name: n.name,
    op: n.sourceOp ?? n.op,
    shape: n.shape,
    spatial: n.shape.length === 3 && n.op !== "input",
  }));
  if (values.json) console.log(JSON.stringify(rows, null, 2));
  else {
    const w = Math.max(...rows.map((r) => r.name.length)) + 2;
    console.log("name".padEnd(w) + "op".padEnd(16) + "shape".padEnd(18) + "layer?");
    for (const r of rows) {
      console.log(
        r.name.padEnd(w) + r.op.padEnd(16) + `[${r.shape.join(", ")}]`.padEnd(18) + (r.spatial ? "yes" : ""),
      );
    }
  }
  m.graph.dispose();
  return 0;
}
