// The package as users get it: `npm pack`, installed into an empty folder, imported, its types
// checked, and its `iwpm demo` run from node_modules/.bin.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const work = mkdtempSync(path.join(tmpdir(), "iwpm-pack-"));
const app = path.join(work, "app");
const run = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

describe("npm pack", () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("installs into an empty folder, imports, type-checks and runs the demo", { timeout: 240_000 }, () => {
    run("npm", ["pack", "--pack-destination", work], ROOT);
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBeDefined();
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    run("npm", ["install", "--no-audit", "--no-fund", path.join(work, tarball as string)], app);

    const exported = run(process.execPath, ["-e", 'import("iwpm").then((m) => console.log(Object.keys(m).sort().join(" ")))'], app);
    expect(exported).toMatch(/\bopenPortMapperClient\b/);
    expect(exported).toMatch(/\bopenPortMapperService\b/);
    const browser = run(process.execPath, ["-e", 'import("iwpm/browser").then((m) => console.log(Object.keys(m).join(" ")))'], app);
    expect(browser).toMatch(/\binstantiateCore\b/);
    expect(browser).not.toMatch(/openPortMapperClient/);

    writeFileSync(
      path.join(app, "use.ts"),
      [
        'import { openPortMapperClient, type SockAddr, IwpmError } from "iwpm";',
        "const c = await openPortMapperClient({ timeoutMs: 1000 });",
        "const a: SockAddr = (await c.addMapping('127.0.0.1:1')).mappedLocal;",
        "if (a instanceof IwpmError) throw a;",
        "await c.close();",
      ].join("\n"),
    );
    writeFileSync(
      path.join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "nodenext", target: "es2022", strict: true, noEmit: true, types: [], skipLibCheck: false },
      }),
    );
    run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], app);

    const port = String(20000 + Math.floor(Math.random() * 20000));
    const demo = run(path.join(app, "node_modules", ".bin", "iwpm"), ["demo", "--no-capture", "--udp-port", port], app);
    expect(demo).toMatch(/register registered=true ABI v4/);
    expect(demo).toMatch(/consumed: 127\.0\.0\.1:6000/);
  });
});
