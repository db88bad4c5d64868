// Builds the LD_PRELOAD library that lets the standard iwpmd run without
// NETLINK_RDMA (see docs/iwpmd-userspace.md).
//
//   node build/preload.mjs        builds (if needed) and prints the .so path
//   import { buildPreload } ...   same, for tests and other build scripts

import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Source file, relative to the repository root. */
export const PRELOAD_SOURCE = "src/preload/iwpmd_preload.c";
/** Built library, relative to the repository root. */
export const PRELOAD_LIBRARY = "build/preload/libiwpmd_preload.so";

const run = (cmd, args) =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: root, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${cmd} ${args.join(" ")} failed:\n${stderr || err.message}`));
      } else {
        resolve(stdout);
      }
    });
  });

const mtime = async (file) => {
  try {
    return (await stat(path.join(root, file))).mtimeMs;
  } catch {
    return undefined;
  }
};

let pending;

/**
 * Compiles the preload library unless it is newer than its source, and
 * returns its absolute path. Concurrent callers (parallel test files) are
 * safe: gcc writes a private temporary file that is renamed into place, so
 * nobody ever loads a half-written library.
 */
export function buildPreload() {
  pending ??= build().finally(() => {
    pending = undefined;
  });
  return pending;
}

async function build() {
  const output = path.join(root, PRELOAD_LIBRARY);
  const built = await mtime(PRELOAD_LIBRARY);
  const source = await mtime(PRELOAD_SOURCE);
  if (source === undefined) throw new Error(`missing ${PRELOAD_SOURCE}`);
  if (built !== undefined && built > source) return output;

  await mkdir(path.dirname(output), { recursive: true });
  const tmp = `${PRELOAD_LIBRARY}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await run("gcc", ["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", tmp, PRELOAD_SOURCE, "-ldl"]);
    await rename(path.join(root, tmp), output);
  } finally {
    await rm(path.join(root, tmp), { force: true });
  }
  return output;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildPreload().then(
    (file) => {
      console.log(file);
    },
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}
