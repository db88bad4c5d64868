#!/usr/bin/env node
// Builds the core: build/core/iwpm.wasm (release) and iwpm.debug.wasm.
import { execFileSync } from "node:child_process";
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const asc = join(root, "node_modules", ".bin", "asc");

for (const target of ["release", "debug"]) {
  execFileSync(asc, ["--config", "asconfig.json", "--target", target], { cwd: root, stdio: "inherit" });
}
const size = statSync(join(root, "build", "core", "iwpm.wasm")).size;
console.log(`build/core/iwpm.wasm: ${size} bytes`);
