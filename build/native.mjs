// Builds the Node addon (src/native/iwpm_native.c) for the platforms the package ships prebuilt:
// build/native/linux-x64/ with gcc and build/native/linux-arm64/ with Debian's cross compiler
// (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross). Node-API is ABI-stable, so one binary per
// architecture serves every Node version; its napi_* symbols stay undefined until Node loads it.
//
// A missing compiler skips that target with a note (the package then builds the addon on first
// use), except when packing: a package must not ship without both binaries.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export const NATIVE_SOURCE = join(root, "src", "native", "iwpm_native.c");
export const NATIVE_CFLAGS = ["-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror", "-DNAPI_VERSION=8"];

const TARGETS = [
  { key: "linux-x64", compiler: "x86_64-linux-gnu-gcc", hostArch: "x64", debian: "gcc-x86-64-linux-gnu libc6-dev-amd64-cross" },
  { key: "linux-arm64", compiler: "aarch64-linux-gnu-gcc", hostArch: "arm64", debian: "gcc-aarch64-linux-gnu libc6-dev-arm64-cross" },
];

/** Node's own headers (node_api.h, uv.h) next to the running node binary. */
export function nodeIncludeDir() {
  return join(dirname(process.execPath), "..", "include", "node");
}

function hasCompiler(compiler) {
  return spawnSync(compiler, ["--version"], { stdio: "ignore" }).status === 0;
}

/** Compiles every target whose compiler is present; throws when `requireAll` and one is missing. */
export function buildNative({ requireAll = false } = {}) {
  const include = nodeIncludeDir();
  if (!existsSync(join(include, "node_api.h"))) {
    throw new Error(
      `build/native.mjs: no node_api.h in ${include}; install Node with its headers (the official tarball, or Debian's libnode-dev)`,
    );
  }
  for (const target of TARGETS) {
    // The host's own gcc builds the host's binary, whatever its name in TARGETS.
    const compiler = process.platform === "linux" && process.arch === target.hostArch ? "gcc" : target.compiler;
    if (!hasCompiler(compiler)) {
      const note = `build/native.mjs: ${compiler} not found, so build/native/${target.key}/ is not built (Debian: apt-get install ${target.debian})`;
      if (requireAll) throw new Error(note);
      console.warn(note);
      continue;
    }
    const outDir = join(root, "build", "native", target.key);
    mkdirSync(outDir, { recursive: true });
    const out = join(outDir, "iwpm_native.node");
    // Written next to the target and renamed, so a running process never loads a half-written file.
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync(compiler, [...NATIVE_CFLAGS, "-I", include, "-o", tmp, NATIVE_SOURCE], { stdio: "inherit" });
    renameSync(tmp, out);
    console.log(`build/native/${target.key}/iwpm_native.node`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildNative({ requireAll: process.argv.includes("--all") || process.env.npm_lifecycle_event === "prepack" });
}
