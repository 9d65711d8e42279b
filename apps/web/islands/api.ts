/**
 * The browser's side of the JSON API: requests with one-line errors, and jobs followed by long polling.
 * @module
 */

/** A job's state as `GET /api/jobs/:id` reports it. */
export interface JobStatus<T> {
  id: string;
  status: "queued" | "running" | "done" | "failed" | "cancelled";
  progress: string;
  result?: T;
  error?: string;
  cancel?: { mode: string; stoppedMs?: number };
}

/**
 * Call the API; throws the server's one-line error.
 * @param path The route.
 * @param init Fetch options.
 * @returns The JSON body.
 */
export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(path, init);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ?? `HTTP ${r.status}`);
  return body as T;
}

/**
 * Submit a job (`POST path` with a JSON body) and follow it until it ends.
 * @param path `/api/jobs` or `/api/jobs/:id/expand`.
 * @param body The request.
 * @param onStatus Called with every state seen (and first with the id, status "queued").
 * @returns The final state.
 */
export async function runJob<T>(
  path: string,
  body: unknown,
  onStatus: (s: JobStatus<T>) => void,
): Promise<JobStatus<T>> {
  const { id } = await api<{ id: string }>(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  onStatus({ id, status: "queued", progress: "queued" });
  for (;;) {
    const s = await api<JobStatus<T>>(`/api/jobs/${id}?wait=1000`);
    onStatus(s);
    if (s.status === "done" || s.status === "failed" || s.status === "cancelled") return s;
  }
}

/**
 * Cancel a job.
 * @param id The job.
 */
export async function cancelJob(id: string): Promise<void> {
  await api(`/api/jobs/${id}`, { method: "DELETE" });
}
