/**
 * Synthetic evaluation data for cnnlens: 64×64 images of one textured object on a cluttered background with
 * distractors, with class and box ground truth, from a seed; splits for classification (classes A) and
 * disjoint classes (B) for few-shot episodes and retrieval; model input conversion; a writer of PNG + JSONL
 * manifests.
 * @module
 */
export * from "./prng.ts";
export * from "./shapes.ts";
export * from "./scene.ts";
export * from "./synth_sample.ts";
export * from "./synth_input.ts";
export * from "./few_shot_episode.ts";
export * from "./write_synth_split.ts";
