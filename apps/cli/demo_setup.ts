import { decodeImage, encodePng, extractFace } from "@cnnlens/core";
import { join } from "node:path";
import { synthSample } from "@cnnlens/eval/synth";
import { methodIds } from "./methods/registry.ts";

/** One model/input pair of the demo and the methods run on it. */
export interface DemoTask {
  title: string;
  model: string;
  input: string;
  references?: string[];
  methods: string[];
}

const root = new URL("../../", import.meta.url).pathname;
const faces = `${root}packages/core/testdata/faceapi/`;

/**
 * What `demo --quick` runs: the small models trained on synthetic shapes (packages/eval/models), on
 * images drawn by the same generator — a classification (why "star"?) and a few-shot similarity between
 * two images of one unseen class (why the same class?).
 * @param workDir Where to write the generated images.
 */
async function quickSetup(workDir: string): Promise<{ tasks: DemoTask[] }> {
  await Deno.mkdir(workDir, { recursive: true });
  const write = async (name: string, split: "test" | "fewshot", i: number) => {
    const path = join(workDir, name);
    await Deno.writeFile(path, encodePng(synthSample(split, i).image));
    return path;
  };
  const query = await write("synth_test_2_star.png", "test", 2);
  // Sample i of a split has class i mod 6: fewshot 3 and 9 are both "heart" (a class the model never saw).
  const fsQuery = await write("synth_fewshot_3_heart.png", "fewshot", 3);
  const fsRef = await write("synth_fewshot_9_heart.png", "fewshot", 9);
  const all = methodIds();
  return {
    tasks: [
      {
        title: "Synthetic shapes (synth-vgg, trained here): why 'star'?",
        model: "zoo:synth-vgg",
        input: query,
        methods: all.filter((m) => m !== "fam"),
      },
      {
        title: "Few-shot embedding (synth-fewshot): why the same unseen class?",
        model: "zoo:synth-fewshot",
        input: fsQuery,
        references: [fsRef],
        methods: ["fam", "naflow", "gradcam"],
      },
    ],
  };
}

/**
 * What the demo runs: face-api's pretrained expression classifier and recognition network on face crops
 * from its sample photos (cut by its own detector; see packages/core/src/import/faceapi/README.md).
 * @param workDir Where to put generated inputs (the reframed second view of the face).
 * @param opts `quick`: the small synthetic-shapes models instead (seconds, not a minute).
 */
export async function demoSetup(
  workDir: string,
  opts: { quick?: boolean } = {},
): Promise<{ tasks: DemoTask[] }> {
  if (opts.quick) return await quickSetup(workDir);
  const query = `${faces}sample1_face0.jpg`;
  // A second photo of the same face: the same crop, reframed (inner 85 %, off centre), so the verification
  // decision is "same person".
  const img = decodeImage(await Deno.readFile(query), query);
  const w = Math.round(img.width * 0.85);
  const h = Math.round(img.height * 0.85);
  const reframed = extractFace(img, {
    x: img.width - w,
    y: Math.round((img.height - h) / 3),
    width: w,
    height: h,
  });
  const refPath = join(workDir, "reference_same_person.png");
  await Deno.mkdir(workDir, { recursive: true });
  await Deno.writeFile(refPath, encodePng(reframed));
  const all = methodIds();
  return {
    tasks: [
      {
        title: "Face expression (face-api, pretrained): why 'happy'?",
        model: "zoo:faceapi-expression",
        input: query,
        methods: all.filter((m) => m !== "fam"),
      },
      {
        title: "Face verification (face-api recognition ResNet): why the same person?",
        model: "zoo:faceapi-recognition",
        input: query,
        references: [refPath],
        methods: ["fam", "naflow", "gradcam"],
      },
    ],
  };
}
