// The package as users get it: `npm pack`, installed into an empty folder, imported, its types
// checked under the default and the browser conditions, its preload builder imported, its
// examples run against `iwpm serve`, and its `iwpm demo` run from node_modules/.bin.

import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canUseNamespaces, createNamespace, type Netns } from "../support/netns.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), "iwpm-pack-"));
const app = path.join(work, "app");
const installed = path.join(app, "node_modules", "iwpm");
const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(cmd, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
const tsc = (project: string) => run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", project], app);
/** The compiler's report for a project that must not type-check. */
function tscErrors(project: string): string {
  try {
    tsc(project);
  } catch (err) {
    return (err as { stdout: string }).stdout;
  }
  throw new Error(`${project} type-checked; it must not`);
}
const udpPort = () => String(20000 + Math.floor(Math.random() * 20000));

const namespaces = canUseNamespaces();
if (!namespaces.ok) console.warn(`[package] examples skipped: ${namespaces.reason}`);

/** Compiler options of a user's project that has no @types/node and checks our .d.ts files too. */
const userCompilerOptions = { module: "nodenext", target: "es2022", strict: true, noEmit: true, types: [], skipLibCheck: false };

interface NpmTree {
  dependencies?: Record<string, NpmTree>;
}

/** The packages that depend on `name` anywhere in an `npm ls --json` tree. */
function dependents(tree: NpmTree, name: string, parent = "(root)"): string[] {
  return Object.entries(tree.dependencies ?? {}).flatMap(([dep, sub]) => [
    ...(dep === name ? [parent] : []),
    ...dependents(sub, name, dep),
  ]);
}

describe("npm pack", () => {
  beforeAll(() => {
    run("npm", ["pack", "--pack-destination", work], ROOT);
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    run("npm", ["install", "--no-audit", "--no-fund", path.join(work, tarball as string)], app);
  }, 240_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("installs with its licence and metadata, imports, type-checks and runs the demo", { timeout: 120_000 }, () => {
    expect(readFileSync(path.join(installed, "LICENSE"), "utf8")).toMatch(/^MIT License[\s\S]*iwpm contributors/);
    const meta = JSON.parse(readFileSync(path.join(installed, "package.json"), "utf8")) as Record<string, unknown>;
    expect(meta).toMatchObject({ license: "MIT", repository: { type: "git" }, bugs: { url: expect.any(String) } });
    expect(meta.homepage).toEqual(expect.any(String));

    const exported = run(process.execPath, ["-e", 'import("iwpm").then((m) => console.log(Object.keys(m).sort().join(" ")))'], app);
    expect(exported).toMatch(/\bopenPortMapperClient\b/);
    expect(exported).toMatch(/\bopenPortMapperService\b/);
    // Both release cores, each under its package export; the test builds stay out of the package.
    const resolve = (spec: string) =>
      run(process.execPath, ["--input-type=module", "-e", `console.log(import.meta.resolve(${JSON.stringify(spec)}))`], app).trim();
    for (const name of ["iwpm.wasm", "iwpmd.wasm"]) {
      const file = fileURLToPath(resolve(`iwpm/${name}`));
      expect(file).toBe(path.join(installed, "build", "dist", name));
      expect(readFileSync(file).subarray(0, 4)).toEqual(Buffer.from("\0asm"));
    }
    expect(readdirSync(installed, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".wasm") && f.includes("debug"))).toEqual(
      [],
    );
    const browser = run(process.execPath, ["-e", 'import("iwpm/browser").then((m) => console.log(Object.keys(m).join(" ")))'], app);
    expect(browser).toMatch(/\binstantiateCore\b/);
    expect(browser).not.toMatch(/openPortMapperClient/);

    writeFileSync(
      path.join(app, "use.ts"),
      [
        'import { openPortMapperClient, type SockAddr, IwpmError } from "iwpm";',
        'import { buildPreload } from "iwpm/preload";',
        "const c = await openPortMapperClient({ timeoutMs: 1000 });",
        "const a: SockAddr = (await c.addMapping('127.0.0.1:1', { signal: AbortSignal.timeout(100), timeoutMs: 50 })).mappedLocal;",
        "if (a instanceof IwpmError) throw a;",
        "const library: string = await buildPreload();",
        "console.log(library);",
        "await c.close();",
      ].join("\n"),
    );
    writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({ compilerOptions: userCompilerOptions, files: ["use.ts"] }));
    tsc(".");

    // No compiler on PATH (only node's own directory): the shipped prebuilt socket addon serves.
    const noCompiler = { ...process.env, PATH: path.dirname(process.execPath), XDG_CACHE_HOME: path.join(work, "empty-cache") };
    const demo = run(
      process.execPath,
      [path.join(installed, "build", "dist", "cli.js"), "demo", "--no-capture", "--udp-port", udpPort()],
      app,
      noCompiler,
    );
    expect(demo).toMatch(/register registered=true ABI v4/);
    expect(demo).toMatch(/consumed: 127\.0\.0\.1:6000/);
  });

  it("resolves the Node types by default and the browser types with --customConditions browser", { timeout: 60_000 }, () => {
    // Each file type-checks only under its own conditions: the Node entry has the netlink client,
    // the browser entry has not.
    writeFileSync(
      path.join(app, "node-types.ts"),
      ['import { openPortMapperClient } from "iwpm";', "export const open: () => Promise<unknown> = openPortMapperClient;"].join("\n"),
    );
    writeFileSync(
      path.join(app, "browser-types.ts"),
      [
        'import * as iwpm from "iwpm";',
        "export const core = iwpm.instantiateCore;",
        "// @ts-expect-error the browser entry has no netlink client",
        "export const open = iwpm.openPortMapperClient;",
      ].join("\n"),
    );
    const project = (name: string, file: string, extra: object) =>
      writeFileSync(path.join(app, name), JSON.stringify({ compilerOptions: { ...userCompilerOptions, ...extra }, files: [file] }));
    project("tsconfig.node.json", "node-types.ts", {});
    project("tsconfig.browser.json", "browser-types.ts", { customConditions: ["browser"] });
    project("tsconfig.browser-as-node.json", "browser-types.ts", {});
    project("tsconfig.node-as-browser.json", "node-types.ts", { customConditions: ["browser"] });
    tsc("tsconfig.node.json");
    tsc("tsconfig.browser.json");
    // The crossed pairs must fail, or the two checks above prove nothing.
    expect(tscErrors("tsconfig.browser-as-node.json")).toMatch(/TS2578/);
    expect(tscErrors("tsconfig.node-as-browser.json")).toMatch(/TS2305|TS2724/);
  });

  it("exports the preload builder, which builds the library from the installed sources", { timeout: 120_000 }, () => {
    const script = 'const { buildPreload } = await import("iwpm/preload"); console.log(await buildPreload());';
    const library = run(process.execPath, ["--input-type=module", "-e", script], app).trim();
    expect(library).toBe(path.join(installed, "build", "preload", "libiwpmd_preload.so"));
    expect(existsSync(library)).toBe(true);
  });

  it("brings no @types/node into a user's install", { timeout: 60_000 }, () => {
    let tree: NpmTree;
    try {
      tree = JSON.parse(run("npm", ["ls", "@types/node", "--all", "--json"], app)) as NpmTree;
    } catch (err) {
      // npm ls exits 1 on an empty match in some versions; its JSON is still on stdout.
      tree = JSON.parse((err as { stdout: string }).stdout || "{}") as NpmTree;
    }
    expect(dependents(tree, "@types/node")).toEqual([]);
  });

  it.skipIf(!namespaces.ok)("ships examples that import iwpm and run against iwpm serve", { timeout: 120_000 }, async () => {
    const shipped = readdirSync(path.join(installed, "examples")).filter((f) => f.endsWith(".mjs"));
    expect(shipped.length).toBeGreaterThan(0);
    const ns: Netns = await createNamespace("iwpm-pkg");
    try {
      const serve = ns.spawn(path.join(app, "node_modules", ".bin", "iwpm"), ["serve", "--protocol", "2", "--udp-port", udpPort()], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      for (const stream of [serve.stdout, serve.stderr]) {
        stream?.setEncoding("utf8").on("data", (d: string) => {
          output += d;
        });
      }
      // The start-up line names the netlink port once every socket is open.
      while (!/iwpm serve: .*netlink port \d+/.test(output)) {
        if (serve.exitCode !== null) throw new Error(`iwpm serve exited: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const file of shipped) {
        // As a user would: the example copied into the application, importing the installed package.
        const copy = path.join(app, file);
        copyFileSync(path.join(installed, "examples", file), copy);
        expect(readFileSync(copy, "utf8")).toMatch(/from "iwpm"/);
        const out = await ns.exec(process.execPath, [copy]);
        expect(out, file).toMatch(/127\.0\.0\.1/);
      }
    } finally {
      await ns.destroy();
    }
  });
});
