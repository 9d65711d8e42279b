/**
 * Jobs run in a Web Worker so the server keeps answering while tfjs computes. One job runs at a time; the
 * others queue. A job reports progress, can be long-polled, and can be cancelled:
 *
 * - a queued job is dropped from the queue;
 * - a running job is marked cancelled at once and told to stop through a shared flag that the worker
 *   checks before every tfjs kernel (so it stops between layers and between a method's steps, keeps its
 *   loaded models and is ready for the next job). If the worker does not acknowledge within `graceMs`
 *   (stuck outside tfjs), it is terminated and a fresh one is started; if the stopped job left tensors
 *   allocated, the worker is replaced as well, so memory never creeps up.
 *
 * Finished gAP trees can be grown node by node (`expand`): the expansion is a job of its own, and its
 * children are grafted into the parent job's stored tree.
 * @module
 */
import type { ExpandRequest, FromWorker, JobRequest, ToWorker } from "./work/protocol.ts";
import { type Expansion, graftExpansion, type NodeFigure, type TreeNodeJson } from "./islands/tree.ts";

export type { EpisodeRequest, ExpandRequest, ExplainRequest, JobRequest } from "./work/protocol.ts";

/** How a running job was stopped. */
export interface CancelInfo {
  /** `cooperative`: the worker stopped at a checkpoint; `terminated`: the worker was killed; `queued`. */
  mode: "queued" | "cooperative" | "terminated";
  /** Milliseconds from the cancel request to the stop. */
  stoppedMs?: number;
  /** Tensors the stopped job left allocated in the worker. */
  tensorsLeft?: number;
  /** Whether the worker was replaced afterwards. */
  replaced?: boolean;
}

/** A job's state as the API reports it. */
export interface JobState {
  id: string;
  status: "queued" | "running" | "done" | "failed" | "cancelled";
  progress: string;
  request: JobRequest;
  result?: unknown;
  error?: string;
  started: number;
  ms?: number;
  /** Which worker ran it (1 for the first; a higher number after a replacement). */
  worker?: number;
  /** Set once a cancelled job has stopped. */
  cancel?: CancelInfo;
}

/** Options of {@linkcode JobManager}. */
export interface JobManagerOptions {
  /** Jobs remembered (oldest forgotten first). @default 200 */
  maxJobs?: number;
  /** The worker module. @default ./worker.ts */
  workerUrl?: URL;
  /** How long a cancelled running job may take to stop before its worker is terminated. @default 5000 */
  graceMs?: number;
}

interface Running {
  id: string;
  seq: number;
  /** Set when a cancel was requested. */
  cancelAt?: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** Runs jobs one at a time in a worker; other requests are served meanwhile. */
export class JobManager {
  readonly jobs: Map<string, JobState> = new Map();
  readonly maxJobs: number;
  readonly graceMs: number;
  /** Workers started so far (the current one's number). */
  generation = 0;
  #workerUrl: URL;
  #queue: string[] = [];
  #worker?: Worker;
  #running?: Running;
  #waiters = new Map<string, ((s: JobState) => void)[]>();
  #next = 1;
  #seq = 0;
  #flag = new SharedArrayBuffer(4);
  #ready?: () => void;
  /** Whether the current worker has finished loading (jobs are posted only then). */
  #workerReady = false;
  #closed = false;

  constructor(options: JobManagerOptions | number = {}) {
    const o = typeof options === "number" ? { maxJobs: options } : options;
    this.maxJobs = o.maxJobs ?? 200;
    this.graceMs = o.graceMs ?? 5000;
    this.#workerUrl = o.workerUrl ?? new URL("./worker.ts", import.meta.url);
  }

  /**
   * Start the worker now and wait until it has loaded tfjs and the methods, so the first job starts at
   * once (and, under Deno, before anything else in the process — e.g. a test's browser — could hold up a
   * worker's start).
   * @param timeoutMs Give up waiting after this long (the worker keeps loading).
   */
  async warm(timeoutMs = 120_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = new Promise<void>((resolve) => {
      this.#ready = resolve;
      timer = setTimeout(resolve, timeoutMs);
    });
    this.#worker ??= this.#spawn();
    await ready;
    clearTimeout(timer);
  }

  #spawn(): Worker {
    const w = new Worker(this.#workerUrl, { type: "module" });
    this.generation++;
    this.#workerReady = false;
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      if (w === this.#worker) this.#onMessage(e.data);
    };
    w.onerror = (e) => {
      e.preventDefault();
      if (w !== this.#worker) return;
      w.terminate();
      this.#worker = undefined;
      const r = this.#running;
      if (r) {
        const stopping = r.cancelAt !== undefined
          ? { mode: "terminated" as const, stoppedMs: performance.now() - r.cancelAt, replaced: true }
          : undefined;
        this.#settle(r, { status: "failed", error: `The job worker crashed: ${e.message}` }, stopping);
      } else if (!this.#workerReady) {
        // It never started: fail the next job rather than retry forever.
        const id = this.#queue.shift();
        const job = id ? this.jobs.get(id) : undefined;
        if (job) {
          Object.assign(job, { status: "failed", error: `The job worker failed to start: ${e.message}` });
          this.#notify(job);
        }
        this.#ready?.();
      }
    };
    return w;
  }

  /** Terminate the current worker and start a fresh one (it loads while the server is idle). */
  #replaceWorker(): void {
    this.#worker?.terminate();
    this.#worker = this.#closed ? undefined : this.#spawn();
  }

  #onMessage(m: FromWorker): void {
    if (m.type === "ready") {
      this.#workerReady = true;
      this.#ready?.();
      this.#pump();
      return;
    }
    const r = this.#running;
    const job = this.jobs.get(m.id);
    if (!r || r.id !== m.id) return;
    if (m.type === "progress") {
      if (job && job.status === "running") {
        job.progress = m.text;
        this.#notify(job);
      }
      return;
    }
    if (r.cancelAt !== undefined) {
      // The worker acknowledged a cancel (or finished just before it saw it): the job stays cancelled.
      const replaced = m.left > 0;
      if (replaced) this.#replaceWorker();
      this.#settle(r, {}, {
        mode: "cooperative",
        stoppedMs: performance.now() - r.cancelAt,
        tensorsLeft: m.left,
        replaced,
      });
      return;
    }
    if (m.type === "done") this.#settle(r, { status: "done", result: m.result });
    else if (m.type === "error") this.#settle(r, { status: "failed", error: m.error });
    else this.#settle(r, { status: "cancelled", progress: "cancelled" });
  }

  /** The running job is over: record how, free the worker, start the next job. */
  #settle(r: Running, patch: Partial<JobState>, cancel?: CancelInfo): void {
    clearTimeout(r.timer);
    if (this.#running === r) this.#running = undefined;
    const job = this.jobs.get(r.id);
    if (job) {
      if (job.status === "running") Object.assign(job, patch, { ms: performance.now() - job.started });
      if (cancel) job.cancel = cancel;
      if (job.status === "done" && job.request.kind === "expand") this.#graft(job);
      this.#notify(job);
    }
    this.#pump();
  }

  #graft(job: JobState): void {
    const req = job.request as ExpandRequest;
    const parent = this.jobs.get(req.parent);
    const res = parent?.result as { data?: { tree?: TreeNodeJson }; figures?: NodeFigure[] } | undefined;
    if (res?.data) graftExpansion({ data: res.data, figures: res.figures }, job.result as Expansion);
  }

  #notify(job: JobState): void {
    for (const f of this.#waiters.get(job.id) ?? []) f(job);
    this.#waiters.delete(job.id);
  }

  #pump(): void {
    if (this.#closed || this.#running || !this.#queue.length) return;
    this.#worker ??= this.#spawn();
    if (!this.#workerReady) return; // posted when the worker says it is ready
    const id = this.#queue.shift();
    if (!id) return;
    const job = this.jobs.get(id);
    if (!job) return this.#pump();
    const seq = ++this.#seq;
    this.#running = { id, seq };
    job.status = "running";
    job.progress = "starting";
    job.started = performance.now();
    job.worker = this.generation;
    this.#worker.postMessage(
      { type: "job", id, seq, flag: this.#flag, request: job.request } satisfies ToWorker,
    );
    this.#notify(job);
  }

  /** Queue a job; returns its state at once. */
  submit(request: JobRequest): JobState {
    const id = `j${this.#next++}`;
    const job: JobState = { id, status: "queued", progress: "queued", request, started: performance.now() };
    this.jobs.set(id, job);
    while (this.jobs.size > this.maxJobs) {
      const oldest = [...this.jobs.keys()].find((k) => k !== this.#running?.id && !this.#queue.includes(k));
      if (!oldest) break;
      this.jobs.delete(oldest);
    }
    this.#queue.push(id);
    this.#pump();
    return job;
  }

  /**
   * Cancel a queued or running job. A running job is reported cancelled at once; `cancel` is filled in
   * when it has actually stopped.
   * @param id The job.
   * @returns Its state, or undefined for an unknown job.
   */
  cancel(id: string): JobState | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.status === "queued") {
      this.#queue = this.#queue.filter((q) => q !== id);
      job.status = "cancelled";
      job.progress = "cancelled";
      job.cancel = { mode: "queued" };
      this.#notify(job);
    } else if (job.status === "running" && this.#running?.id === id && this.#running.cancelAt === undefined) {
      const r = this.#running;
      r.cancelAt = performance.now();
      Atomics.store(new Int32Array(this.#flag), 0, r.seq);
      job.status = "cancelled";
      job.progress = "cancelled";
      job.ms = performance.now() - job.started;
      r.timer = setTimeout(() => {
        if (this.#running !== r) return;
        // The worker did not stop at a checkpoint: kill it and start a fresh one.
        this.#replaceWorker();
        this.#settle(r, {}, {
          mode: "terminated",
          stoppedMs: performance.now() - r.cancelAt!,
          replaced: true,
        });
      }, this.graceMs);
      this.#notify(job);
    }
    return job;
  }

  /** Resolve when the job changes state (long polling), or after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<JobState | undefined> {
    const job = this.jobs.get(id);
    const settled = job && (job.status === "done" || job.status === "failed" ||
      (job.status === "cancelled" && job.cancel));
    if (!job || settled) return Promise.resolve(job);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.jobs.get(id)), timeoutMs);
      const list = this.#waiters.get(id) ?? [];
      list.push((s) => {
        clearTimeout(t);
        resolve(s);
      });
      this.#waiters.set(id, list);
    });
  }

  /** Stop the worker. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#running?.timer);
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}
