/**
 * Writes `project.json` (Nx targets) for every workspace member listed in the root deno.json, so the
 * task graph is derived from the workspace rather than kept by hand. Run: `npx deno run -A tools/gen_projects.ts`.
 * `tools/check_repo_test.ts` fails if the committed files differ from what this would write.
 * @module
 */
export interface Member {
  root: string;
  name: string;
  deps: string[];
  hasBench: boolean;
  hasBuild: boolean;
  /** A build.ts script (e.g. the dashboard's island bundle) replaces the API-docs build. */
  buildScript?: boolean;
  /** The tests drive a browser: install Chromium first. */
  browser?: boolean;
  /** A reports/main.ts runner (the evaluation suite's reproduction reports into docs/results/). */
  reports?: boolean;
}

/** The project.json an Nx project gets for a workspace member. */
export function projectJson(m: Member): string {
  const targets: Record<string, unknown> = {
    test: {
      command: `${
        m.browser ? "bash tools/ensure_chromium.sh && " : ""
      }deno run -A tools/deno_test.ts -A --doc --quiet ${m.root}`,
      options: { cwd: "{workspaceRoot}" },
    },
    lint: { command: `deno lint ${m.root}`, options: { cwd: "{workspaceRoot}" } },
    fmt: { command: `deno fmt --check ${m.root}`, options: { cwd: "{workspaceRoot}" } },
    check: { command: `deno check ${m.root}`, options: { cwd: "{workspaceRoot}" } },
  };
  if (m.hasBench) {
    targets.bench = {
      command: `deno bench -A --no-check ${m.root}/bench`,
      options: { cwd: "{workspaceRoot}" },
    };
  }
  if (m.reports) {
    targets.reports = {
      command: `deno run -A ${m.root}/reports/main.ts --out docs/results`,
      options: { cwd: "{workspaceRoot}" },
    };
  }
  if (m.buildScript) {
    targets.build = { command: `deno run -A ${m.root}/build.ts`, options: { cwd: "{workspaceRoot}" } };
  } else if (m.hasBuild) {
    targets.build = {
      command: `deno doc --html --name=@cnnlens/${m.name} --output=dist/docs/${m.name} ${m.root}/mod.ts`,
      options: { cwd: "{workspaceRoot}" },
      outputs: [`{workspaceRoot}/dist/docs/${m.name}`],
    };
  }
  return JSON.stringify(
    {
      name: m.name,
      $schema: "../../node_modules/nx/schemas/project-schema.json",
      sourceRoot: m.root,
      implicitDependencies: m.deps,
      targets,
    },
    null,
    2,
  ) + "\n";
}

/** Workspace members with their @cnnlens dependencies (found by scanning imports). */
export function members(root = "."): Member[] {
  const cfg = JSON.parse(Deno.readTextFileSync(`${root}/deno.json`));
  return (cfg.workspace as string[]).map((w) => {
    const dir = w.replace(/^\.\//, "");
    const name = dir.split("/").pop()!;
    const deps = new Set<string>();
    const walk = (d: string) => {
      for (const e of Deno.readDirSync(`${root}/${d}`)) {
        if (e.isDirectory && !["testdata", "node_modules", "dist"].includes(e.name)) walk(`${d}/${e.name}`);
        else if (/\.tsx?$/.test(e.name)) {
          const src = Deno.readTextFileSync(`${root}/${d}/${e.name}`);
          for (const m of src.matchAll(/from "@cnnlens\/([a-z]+)/g)) if (m[1] !== name) deps.add(m[1]);
        }
      }
    };
    walk(dir);
    let hasBench = false;
    try {
      hasBench = Deno.statSync(`${root}/${dir}/bench`).isDirectory;
    } catch { /* no bench */ }
    let hasBuild = false;
    try {
      hasBuild = Deno.statSync(`${root}/${dir}/mod.ts`).isFile;
    } catch { /* no mod.ts */ }
    const exists = (p: string) => {
      try {
        return Deno.statSync(`${root}/${dir}/${p}`).isFile;
      } catch {
        return false;
      }
    };
    return {
      root: dir,
      name,
      deps: [...deps].sort(),
      hasBench,
      hasBuild,
      buildScript: exists("build.ts"),
      browser: exists("e2e_test.ts"),
      reports: exists("reports/main.ts"),
    };
  });
}

/** The tools folder is an Nx project too (repo checks and scripts), though not a Deno workspace member. */
export function allProjects(root = "."): Member[] {
  return [...members(root), { root: "tools", name: "tools", deps: [], hasBench: false, hasBuild: false }];
}

if (import.meta.main) {
  for (const m of allProjects()) {
    Deno.writeTextFileSync(`${m.root}/project.json`, projectJson(m));
    console.log(`wrote ${m.root}/project.json (deps: ${m.deps.join(", ") || "none"})`);
  }
}
