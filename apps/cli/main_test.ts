import assert from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

/** Run the CLI as a subprocess, as users do. */
export async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${root}apps/cli/main.ts`, ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("cnnlens --help lists the commands and exits 0", async () => {
  const r = await cli("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Usage:/);
  assert.match(r.stdout, /models/);
  assert.match(r.stdout, /layers/);
});

Deno.test("cnnlens <command> --help prints usage with examples for every command", async () => {
  const { commands } = await import("./main.ts");
  for (const name of Object.keys(commands)) {
    const r = await cli(name, "--help");
    assert.equal(r.code, 0, name);
    assert.match(r.stdout, /Examples:/, name);
  }
});

Deno.test("cnnlens layers lists nodes with shapes; an unknown model is a one-line exit-2 error", async () => {
  const r = await cli("layers", "--model", "zoo:conv4", "--json", "--backend", "cpu");
  assert.equal(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout);
  const relu = rows.find((x: { name: string }) => x.name === "features.3.2");
  assert.deepEqual(relu.shape, [64, 10, 10]);
  assert.equal(relu.spatial, true);
  const bad = await cli("layers", "--model", "zoo:nope");
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  assert.match(bad.stderr, /Unknown model 'zoo:nope'/);
  const cmd = await cli("frobnicate");
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /Unknown command 'frobnicate'/);
});
