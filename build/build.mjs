#!/usr/bin/env node
// Generates the protocol tables (build/generate.mjs), builds the two cores (build/core/iwpm.wasm,
// the client and codec; build/core/iwpmd.wasm, the daemon) and their test builds (*.debug.wasm:
// the same code with the exports only tests use), and bundles the TypeScript entry points to
// build/dist/ for Node and the CLI.
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

// [entry, output, asconfig.json target]. The test builds keep assertions and source maps; unoptimised
// they run the fuzz and million-mapping tests about as fast as the release (measured: 8.5 s
// against 7.2 s for a million mappings, the same for 6000 fuzzed datagrams), so they stay so.
const CORES = [
  ["assembly/client.ts", "iwpm.wasm", "release"],
  ["assembly/daemon.ts", "iwpmd.wasm", "release"],
  ["assembly/client.debug.ts", "iwpm.debug.wasm", "debug"],
  ["assembly/daemon.debug.ts", "iwpmd.debug.wasm", "debug"],
];
/** The release cores, shipped next to the bundles. */
const SHIPPED = ["iwpm.wasm", "iwpmd.wasm"];
for (const [entry, out, target] of CORES) {
  const outFile = join("build", "core", out);
  execFileSync(asc, [entry, "--config", "asconfig.json", "--target", target, "--outFile", outFile], { cwd: root, stdio: "inherit" });
  console.log(`${outFile}: ${statSync(join(root, outFile)).size} bytes`);
}

// The package's entry points: Node (library and CLI), Deno (its own sockets) and the browser
// (core and replay only); each finds the cores next to itself.
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
for (const name of SHIPPED) copyFileSync(join(root, "build", "core", name), join(outdir, name));

// The Node addon behind the sockets, prebuilt for linux-x64 and linux-arm64 (build/native.mjs).
buildNative({ requireAll: process.env.npm_lifecycle_event === "prepack" });

// The replay page (build/web/) uses the same core; it is static and quick to bundle.
execFileSync(process.execPath, [join(root, "build", "web.mjs")], { cwd: root, stdio: "inherit" });
