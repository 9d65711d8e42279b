import assert from "node:assert/strict";
import { allProjects, projectJson } from "./gen_projects.ts";

const root = new URL("../", import.meta.url).pathname;

Deno.test("every project.json is what tools/gen_projects.ts derives from the workspace", () => {
  for (const m of allProjects(root)) {
    const committed = Deno.readTextFileSync(`${root}${m.root}/project.json`);
    assert.equal(
      committed,
      projectJson(m),
      `${m.root}/project.json is stale: run npx deno run -A tools/gen_projects.ts`,
    );
  }
});

Deno.test("README Quick start holds exactly two commands, and .ci/run runs the second", () => {
  const readme = Deno.readTextFileSync(`${root}README.md`);
  const block = readme.split("## Quick start")[1].split("```")[1].split("\n").slice(1).filter((l) =>
    l.trim()
  );
  assert.equal(block.length, 2);
  assert.match(block[0], /cnnlens/);
  assert.match(block[1], /nx run-many/);
  const ci = Deno.readTextFileSync(`${root}.ci/run`);
  assert.match(ci, /Quick start/);
});

Deno.test("every workspace package has a README and a deno.json named @cnnlens/<name>", () => {
  for (const m of allProjects(root).filter((p) => p.name !== "tools")) {
    const cfg = JSON.parse(Deno.readTextFileSync(`${root}${m.root}/deno.json`));
    assert.equal(cfg.name, `@cnnlens/${m.name}`);
    assert.ok(Deno.statSync(`${root}${m.root}/README.md`).isFile, `${m.root}/README.md`);
  }
});
