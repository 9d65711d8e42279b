import assert from "node:assert/strict";
import { runTests, verdict } from "./deno_test.ts";

const fixture = new URL("./testdata/abort_fixture.ts", import.meta.url).pathname;
const deno = Deno.execPath();

/** The exit code runTests() gives `args` (a deno command) with `env` set; the child's output is dropped, so
 * its summaries do not reach this test run's log (CI counts those). */
async function run(args: string[], env: Record<string, string> = {}): Promise<number> {
  return await withEnv(env, () => runTests([deno, ...args], { stdout: async () => {}, stderr: "null" }));
}

async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(env).map((k) => [k, Deno.env.get(k)] as const);
  for (const [k, v] of Object.entries(env)) Deno.env.set(k, v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
}

Deno.test("deno_test: a crash after a clean summary passes; a crash before it, or after failures, does not", async () => {
  // A process that prints a clean summary, then dies by SIGABRT (what the GL stack's teardown does).
  assert.equal(await run(["run", "-A", fixture]), 0);
  // The same crash after a summary with a failure.
  assert.notEqual(await run(["run", "-A", fixture], { CNNLENS_FIXTURE_FAIL: "1" }), 0);
  // Real `deno test`: passing, failing, and aborting inside a test (no summary at all).
  assert.equal(await run(["test", "-A", "--quiet", fixture]), 0);
  assert.equal(await run(["test", "-A", "--quiet", fixture], { CNNLENS_FIXTURE_FAIL: "1" }), 1);
  assert.notEqual(await run(["test", "-A", "--quiet", fixture], { CNNLENS_FIXTURE_ABORT: "during" }), 0);
});

Deno.test("deno_test: verdict() reads only the last line, and only an ok summary with tests", () => {
  const abort = { success: false, code: 134, signal: "SIGABRT" as const };
  const segv = { success: false, code: 139, signal: "SIGSEGV" as const };
  assert.equal(verdict(abort, "x\nok | 81 passed | 0 failed (39s)\n\n").code, 0);
  assert.equal(verdict(segv, "ok | 6 passed (5 steps) | 0 failed (43s)\n").code, 0);
  assert.equal(verdict(abort, "ok | 0 passed | 0 failed (1ms)\n").code, 134, "no test ran");
  assert.equal(verdict(abort, "FAILED | 80 passed | 1 failed (39s)\n").code, 134);
  assert.equal(verdict(abort, "ok | 81 passed | 0 failed (39s)\nrunning 1 test from ./x.ts\n").code, 134);
  assert.equal(verdict(abort, "running 1 test from ./x.ts\n").code, 134);
  assert.equal(verdict({ success: false, code: 1, signal: null }, "ok | 3 passed | 0 failed\n").code, 1);
  assert.equal(verdict({ success: true, code: 0, signal: null }, "").code, 0);
  assert.match(verdict(abort, "ok | 2 passed | 0 failed (1s)\n").notice!, /SIGABRT.*2 passed, 0 failed/);
});
