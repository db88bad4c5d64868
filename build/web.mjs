#!/usr/bin/env node
// Builds the capture replay page into build/web/: index.html, style.css, main.js, worker.js
// (esbuild bundles of src/web/) and the core, iwpm.wasm (built by `npm run build`). The page is
// static and loads nothing from elsewhere.
import { copyFileSync, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "src", "web");
const out = join(root, "build", "web");
// The client core decodes and replays netlink; the daemon core replays the peers' UDP exchanges.
const CORES = ["iwpm.wasm", "iwpmd.wasm"];

for (const f of CORES) {
  if (!existsSync(join(root, "build", "core", f))) {
    console.error(`build/web.mjs: build/core/${f} is missing; run \`npm run build\` first`);
    process.exit(1);
  }
}
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { main: join(src, "main.ts"), worker: join(src, "worker.ts") },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["es2022", "chrome110", "firefox115", "safari16"],
  sourcemap: true,
  minify: true,
  logLevel: "warning",
});
for (const f of ["index.html", "style.css"]) copyFileSync(join(src, f), join(out, f));
for (const f of CORES) copyFileSync(join(root, "build", "core", f), join(out, f));
const size = (f) => `${f} ${(statSync(join(out, f)).size / 1024).toFixed(1)} KiB`;
console.log(`build/web: ${["main.js", "worker.js", ...CORES].map(size).join(", ")}`);
