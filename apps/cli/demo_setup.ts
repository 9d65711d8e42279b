import { decodeImage, encodePng, extractFace } from "@cnnlens/core";
import { join } from "node:path";
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
 * What the demo runs: face-api's pretrained expression classifier and recognition network on face crops
 * from its sample photos (cut by its own detector; see packages/core/src/import/faceapi/README.md).
 * @param workDir Where to put generated inputs (the reframed second view of the face).
 */
export async function demoSetup(workDir: string): Promise<{ tasks: DemoTask[] }> {
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
