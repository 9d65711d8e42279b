/**
 * Explanation jobs run in a Web Worker so the server keeps answering while tfjs computes; a job reports
 * progress, can be cancelled (the worker is terminated and replaced), and keeps its result for lazy
 * follow-ups (gAP node expansion).
 * @module
 */

/** What the browser asks for. */
export interface JobRequest {
  model: string;
  image: string;
  method: string;
  layers?: string[];
  class?: number;
  references?: string[];
  options?: Record<string, unknown>;
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
}

type WorkerMsg =
  | { id: string; type: "ready" }
  | { id: string; type: "progress"; text: string }
  | { id: string; type: "done"; result: unknown }
  | { id: string; type: "error"; error: string };

/** Runs jobs one at a time in a worker; other requests are served meanwhile. */
export class JobManager {
  readonly jobs: Map<string, JobState> = new Map();
  #queue: string[] = [];
  #worker?: Worker;
  #running?: string;
  #waiters = new Map<string, ((s: JobState) => void)[]>();
  #next = 1;

  constructor(readonly maxJobs = 200) {}

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
    const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    w.onmessage = (e: MessageEvent<WorkerMsg>) => this.#onMessage(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      if (this.#running) this.#finish(this.#running, { status: "failed", error: e.message });
      this.#worker?.terminate();
      this.#worker = undefined;
    };
    return w;
  }

  #ready?: () => void;

  #onMessage(m: WorkerMsg): void {
    if (m.type === "ready") {
      this.#ready?.();
      return;
    }
    const job = this.jobs.get(m.id);
    if (!job || job.status !== "running") return;
    if (m.type === "progress") {
      job.progress = m.text;
      this.#notify(job);
    } else if (m.type === "done") this.#finish(m.id, { status: "done", result: m.result });
    else this.#finish(m.id, { status: "failed", error: m.error });
  }

  #finish(id: string, patch: Partial<JobState>): void {
    const job = this.jobs.get(id);
    if (job) {
      Object.assign(job, patch, { ms: performance.now() - job.started });
      this.#notify(job);
    }
    if (this.#running === id) this.#running = undefined;
    this.#pump();
  }

  #notify(job: JobState): void {
    for (const f of this.#waiters.get(job.id) ?? []) f(job);
    this.#waiters.delete(job.id);
  }

  #pump(): void {
    if (this.#running) return;
    const id = this.#queue.shift();
    if (!id) return;
    const job = this.jobs.get(id)!;
    this.#running = id;
    job.status = "running";
    job.started = performance.now();
    this.#worker ??= this.#spawn();
    this.#worker.postMessage({ id, request: job.request });
  }

  /** Queue a job; returns its id at once. */
  submit(request: JobRequest): JobState {
    const id = `j${this.#next++}`;
    const job: JobState = { id, status: "queued", progress: "queued", request, started: performance.now() };
    this.jobs.set(id, job);
    if (this.jobs.size > this.maxJobs) this.jobs.delete(this.jobs.keys().next().value!);
    this.#queue.push(id);
    this.#pump();
    return job;
  }

  /** Cancel a queued or running job (a running one stops its worker). */
  cancel(id: string): JobState | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.status === "queued") {
      this.#queue = this.#queue.filter((q) => q !== id);
      job.status = "cancelled";
      this.#notify(job);
    } else if (job.status === "running") {
      this.#worker?.terminate();
      this.#worker = undefined;
      this.#finish(id, { status: "cancelled", progress: "cancelled" });
    }
    return job;
  }

  /** Resolve when the job changes state (long polling), or after `timeoutMs`. */
  wait(id: string, timeoutMs: number): Promise<JobState | undefined> {
    const job = this.jobs.get(id);
    if (!job || job.status === "done" || job.status === "failed" || job.status === "cancelled") {
      return Promise.resolve(job);
    }
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
    this.#worker?.terminate();
    this.#worker = undefined;
  }
}
