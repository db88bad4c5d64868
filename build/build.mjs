#!/usr/bin/env node
// Builds the core (build/core/iwpm.wasm, release, and iwpm.debug.wasm) and
// bundles the TypeScript entry points to build/dist/ for Node and the CLI.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = join(root, "node_modules", ".bin", "asc");

for (const target of ["release", "debug"]) {
  execFileSync(asc, ["--config", "asconfig.json", "--target", target], { cwd: root, stdio: "inherit" });
}
const wasm = join(root, "build", "core", "iwpm.wasm");
console.log(`build/core/iwpm.wasm: ${statSync(wasm).size} bytes`);

const entries = ["index.ts", "cli.ts"].map((f) => join(root, "src", f)).filter((f) => existsSync(f));
if (entries.length > 0) {
  const outdir = join(root, "build", "dist");
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: entries,
    outdir,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: ["netlink"],
    sourcemap: true,
    logLevel: "warning",
  });
  copyFileSync(wasm, join(outdir, "iwpm.wasm"));
}
