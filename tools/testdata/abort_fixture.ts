// Fixture for tools/deno_test_test.ts. As a test file: one test, which fails when CNNLENS_FIXTURE_FAIL is set
// and aborts the process (SIGABRT) inside the test when CNNLENS_FIXTURE_ABORT=during. Run as a script
// (`deno run`), it prints a `deno test` summary (failing when CNNLENS_FIXTURE_FAIL is set) and then aborts,
// as the software GL stack's teardown does at exit.
const fail = Boolean(Deno.env.get("CNNLENS_FIXTURE_FAIL"));
if (import.meta.main) {
  console.log("running 1 test from ./fixture.ts");
  console.log(
    fail ? "\nFAILED | 0 passed | 1 failed (1ms)" : "\n\x1b[32mok\x1b[0m | 1 passed | 0 failed (1ms)",
  );
  Deno.kill(Deno.pid, "SIGABRT");
} else {
  Deno.test("fixture", () => {
    if (Deno.env.get("CNNLENS_FIXTURE_ABORT") === "during") Deno.kill(Deno.pid, "SIGABRT");
    if (fail) throw new Error("fixture fails");
  });
}
