/// <reference lib="deno.worker" />
/**
 * The job worker, off the server's main thread: explanations (the CLI's method adapters, plus the
 * dashboard's metrics and perturbation views), FAM episodes and gAP node expansions. Jobs arrive one at a
 * time; a cancelled job stops at its next tfjs kernel (`work/cancel.ts`).
 * @module
 */
import { serve } from "./work/dispatch.ts";
import { explainJob } from "./work/explain.ts";
import { episodeJob } from "./work/episode.ts";
import { expandJob } from "./work/expand.ts";

serve({ explain: explainJob, episode: episodeJob, expand: expandJob });
