/**
 * Test helper: the dashboard as users start it (`cnnlens serve --port 0`) in its own process. Keeping the
 * server out of the test process matters: under Deno, a Web Worker created in a process where
 * playwright-core has launched a browser never starts, and the server creates workers (at start and after a
 * cancelled job).
 */
export interface TestServer {
  url: string;
  close(): Promise<void>;
}

const root = new URL("../../", import.meta.url).pathname;

/** Start `cnnlens serve --port 0` and wait for its URL. */
export async function spawnServer(): Promise<TestServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${root}apps/cli/main.ts`, "serve", "--port", "0"],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`cnnlens serve exited before printing its URL: ${text}`);
    text += value;
    const m = /on (http:\/\/[^\s]+)/.exec(text);
    if (m) {
      // Keep draining stdout so the child never blocks on a full pipe.
      (async () => {
        try {
          while (!(await reader.read()).done) { /* drain */ }
        } catch { /* closed */ }
      })();
      return {
        url: m[1],
        async close() {
          child.kill("SIGTERM");
          await child.status;
        },
      };
    }
  }
}
