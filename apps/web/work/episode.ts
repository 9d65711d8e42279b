/**
 * The FAM episode view: an N-way K-shot episode classified by mean cosine similarity to each class's
 * support images (FAM Eq. 11) and explained with FAM (`episode` of @cnnlens/fam) — every query's
 * prediction, its similarity per class, and the maps of the query and of the explained class's supports.
 * Support and query images come from the synthetic generator's few-shot split (classes B, which the
 * `fewshot_resnet` embedding never saw) or from catalogued images.
 * @module
 */
import type { LoadedInput } from "@cnnlens/cli/input";
import { tf } from "@cnnlens/core";
import { episode, type SupportSet } from "@cnnlens/fam";
import { fewShotEpisode, synthClassNames, synthSamples } from "@cnnlens/eval/synth";
import type { EpisodeRequest } from "./protocol.ts";
import { getModel, imageInput, inputFor } from "./models.ts";
import { displaySize, heat, pngDataUrl } from "./render.ts";
import { checkpoint } from "./cancel.ts";

/** Synthetic pool: this many few-shot samples per class (so shots + queries ≤ this). */
export const POOL_PER_CLASS = 10;
/** Largest episode the dashboard runs. */
export const EPISODE_LIMITS = { ways: 6, shots: 5, queries: 5, images: 60 };

/**
 * Check an episode's sizes; throws a one-line RangeError.
 * @param r The request.
 */
export function checkEpisode(r: Pick<EpisodeRequest, "ways" | "shots" | "queries" | "source">): void {
  const L = EPISODE_LIMITS;
  for (const [k, v, max] of [["ways", r.ways, L.ways], ["shots", r.shots, L.shots]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max) throw new RangeError(`${k} must be 1..${max}, got ${v}`);
  }
  if (r.source === "synth") {
    if (!Number.isInteger(r.queries) || r.queries < 1 || r.queries > L.queries) {
      throw new RangeError(`queries must be 1..${L.queries}, got ${r.queries}`);
    }
    if (r.shots + r.queries > POOL_PER_CLASS) {
      throw new RangeError(`shots + queries must be ≤ ${POOL_PER_CLASS}, got ${r.shots + r.queries}`);
    }
  }
}

interface Item {
  input: LoadedInput;
  label?: string;
}

/**
 * Run an episode job.
 * @param req The request.
 * @param post Progress reporter.
 * @returns The view's JSON.
 */
export async function episodeJob(req: EpisodeRequest, post: (text: string) => void) {
  checkEpisode(req);
  post("loading model");
  const model = await getModel(req.model);
  checkpoint();
  post("preparing the episode");
  const classes: { label: string; items: Item[] }[] = [];
  const queries: Item[] = [];
  const made: LoadedInput[] = [];
  const keep = (i: LoadedInput) => (made.push(i), i);
  try {
    if (req.source === "synth") {
      const pool = synthSamples("fewshot", 6 * POOL_PER_CLASS);
      const names = synthClassNames("fewshot");
      const ep = fewShotEpisode(pool.map((s) => s.label), req.episode, {
        ways: req.ways,
        shots: req.shots,
        queries: req.queries,
        seed: 1,
      });
      ep.classes.forEach((c, j) => {
        classes.push({
          label: names[c],
          items: ep.support[j].map((i) => ({
            input: keep(imageInput(pool[i].image, model, `fewshot #${i}`)),
          })),
        });
        for (const i of ep.query[j]) {
          queries.push({ input: keep(imageInput(pool[i].image, model, `fewshot #${i}`)), label: names[c] });
        }
      });
    } else {
      const given = req.classes ?? [];
      if (given.length !== req.ways) {
        throw new RangeError(`Got ${given.length} classes for a ${req.ways}-way episode`);
      }
      for (const c of given) {
        if (c.images.length !== req.shots) {
          throw new RangeError(
            `Class '${c.label}' has ${c.images.length} support images, expected ${req.shots}`,
          );
        }
        const items: Item[] = [];
        for (const p of c.images) items.push({ input: keep(await inputFor(p, model)) });
        classes.push({ label: c.label, items });
      }
      if (!req.queryImages?.length) throw new RangeError("The episode needs at least one query image");
      for (const q of req.queryImages) {
        queries.push({ input: keep(await inputFor(q.path, model)), label: q.label });
      }
    }
    checkpoint();
    post(`classifying and explaining ${queries.length} queries`);
    const t0 = performance.now();
    const support: SupportSet[] = classes.map((c) => ({
      class: c.label,
      images: tf.concat(c.items.map((i) => i.input.tensor), 0),
    }));
    const qs = tf.concat(queries.map((q) => q.input.tensor), 0);
    const labelled = queries.every((q) => q.label !== undefined);
    let r;
    try {
      r = await episode(model.graph, support, qs, {
        labels: labelled ? queries.map((q) => q.label!) : undefined,
        explain: req.explain && req.explain !== "predicted" ? req.explain : "predicted",
      });
    } finally {
      tf.dispose([qs, ...support.map((s) => s.images)]);
    }
    const ms = performance.now() - t0;
    post("rendering");
    const shown = (i: Item) => displaySize(i.input.display, 128);
    return {
      kind: "episode",
      source: req.source,
      ways: req.ways,
      shots: req.shots,
      layer: r.queries[0]?.explanation?.layer ?? null,
      accuracy: r.accuracy,
      explain_ms: ms,
      backend: model.backend.name,
      classes: classes.map((c) => ({ label: c.label, supports: c.items.map((i) => pngDataUrl(shown(i))) })),
      queries: r.queries.map((q, n) => {
        const item = queries[n];
        const img = shown(item);
        const e = q.explanation;
        const explained = classes.find((c) => c.label === q.explained);
        return {
          index: q.index,
          label: item.label ?? null,
          prediction: String(q.prediction),
          correct: q.correct ?? null,
          explained: q.explained === null ? null : String(q.explained),
          scores: q.scores.map((s) => ({ class: String(s.class), similarity: s.similarity })),
          image: pngDataUrl(img),
          map: e ? pngDataUrl(heat(img, e.map, e.height, e.width)) : null,
          supportMaps: e && explained
            ? e.referenceMaps.map((m, k) =>
              pngDataUrl(heat(shown(explained.items[k]), m.map, m.height, m.width))
            )
            : [],
        };
      }),
    };
  } finally {
    for (const i of made) i.tensor.dispose();
  }
}
