/**
 * The job worker's message loop: runs one job at a time with the given runners, reports progress, the
 * result or a one-line error, and — for a cancelled job — that it stopped, with the number of tensors the
 * job left allocated (beyond what the model cache legitimately gained).
 * @module
 */
import { tf } from "@cnnlens/core";
import type { EpisodeRequest, ExpandRequest, ExplainRequest, FromWorker, ToWorker } from "./protocol.ts";
import { Cancelled, initCancel, isCancelled, setCurrent } from "./cancel.ts";
import { held, resetHeld } from "./models.ts";

type Post = (text: string) => void;

/** The job kinds a worker runs. */
export interface Runners {
  explain(req: ExplainRequest, post: Post): Promise<unknown>;
  episode(req: EpisodeRequest, post: Post): Promise<unknown>;
  expand(req: ExpandRequest, post: Post): Promise<unknown>;
}

/**
 * Serve jobs in this worker, then say it is ready.
 * @param runners What runs each kind of job.
 */
export function serve(runners: Runners): void {
  const scope = self as unknown as {
    postMessage(m: FromWorker): void;
    onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  };
  const send = (m: FromWorker) => scope.postMessage(m);
  scope.onmessage = async (e) => {
    const { id, seq, flag, request } = e.data;
    initCancel(flag);
    const post = (text: string) => send({ id, type: "progress", text });
    resetHeld();
    const before = tf.memory().numTensors;
    const left = () => tf.memory().numTensors - before - held.tensors;
    setCurrent(seq);
    try {
      const result = request.kind === "episode"
        ? await runners.episode(request, post)
        : request.kind === "expand"
        ? await runners.expand(request, post)
        : await runners.explain(request, post);
      setCurrent(0);
      send({ id, type: "done", result, left: left() });
    } catch (err) {
      const stopped = err instanceof Cancelled || isCancelled();
      setCurrent(0);
      if (stopped) send({ id, type: "cancelled", left: left() });
      else send({ id, type: "error", error: (err as Error).message.split("\n")[0], left: left() });
    }
  };
  send({ type: "ready" });
}
