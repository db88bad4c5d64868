#!/usr/bin/env node
// Generates the protocol tables (build/generate.mjs), builds the core (build/core/iwpm.wasm, release, and iwpm.debug.wasm) and
// bundles the TypeScript entry points to build/dist/ for Node and the CLI.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { generate } from "./generate.mjs";
import { buildNative } from "./native.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = join(root, "node_modules", ".bin", "asc");

// The protocol description's copies for the core and the hosts come first: both builds read them.
for (const path of generate()) console.log(`generated ${path}`);

for (const target of ["release", "debug"]) {
  execFileSync(asc, ["--config", "asconfig.json", "--target", target], { cwd: root, stdio: "inherit" });
}
const wasm = join(root, "build", "core", "iwpm.wasm");
console.log(`build/core/iwpm.wasm: ${statSync(wasm).size} bytes`);

// The package's entry points: Node (library and CLI), Deno (its own sockets) and the browser
// (core and replay only); each finds iwpm.wasm next to itself.
const bundles = [
  ["index.ts", "node"],
  ["cli.ts", "node"],
  ["deno.ts", "neutral"],
  ["browser.ts", "browser"],
];
const outdir = join(root, "build", "dist");
mkdirSync(outdir, { recursive: true });
for (const [entry, platform] of bundles) {
  await build({
    entryPoints: [join(root, "src", entry)],
    outdir,
    bundle: true,
    format: "esm",
    platform,
    target: platform === "node" ? "node20" : "es2022",
    sourcemap: true,
    logLevel: "warning",
  });
}
copyFileSync(wasm, join(outdir, "iwpm.wasm"));

// The Node addon behind the sockets, prebuilt for linux-x64 and linux-arm64 (build/native.mjs).
buildNative({ requireAll: process.env.npm_lifecycle_event === "prepack" });

// The replay page (build/web/) uses the same core; it is static and quick to bundle.
execFileSync(process.execPath, [join(root, "build", "web.mjs")], { cwd: root, stdio: "inherit" });
