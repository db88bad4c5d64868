/**
 * Golden iwpm netlink vectors produced by test/golden/golden.c, a C program
 * built against the system's <rdma/rdma_netlink.h> and <linux/netlink.h>.
 * The C program is compiled with gcc on first use and its JSON output is
 * cached for the rest of the process.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync } from "node:fs";
import { platform } from "node:os";
import { fileURLToPath } from "node:url";

export interface GoldenAttr {
  id: number;
  kind: "u32" | "u16" | "fstr" | "cstr" | "addr";
  value?: number | string;
  size?: number;
  family?: number;
  port?: number;
  address?: string;
  flowinfo?: number;
  scopeId?: number;
}

export interface GoldenMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  client?: number;
  op?: number;
  control: null | "done" | "error";
  error?: number;
  doneStatus?: number;
  orig?: { type: number; flags: number; seq: number; pid: number; len: number };
  attrs: GoldenAttr[];
}

export interface GoldenVector {
  name: string;
  dir: "to_daemon" | "to_client";
  version: 3 | 4;
  messages: GoldenMessage[];
  hex: string;
}

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const source = `${repoRoot}test/golden/golden.c`;
const outDir = `${repoRoot}build/golden`;
const binary = `${outDir}/golden`;

let cached: GoldenVector[] | undefined;

function build(): void {
  mkdirSync(outDir, { recursive: true });
  // Several test workers may build at once, and one may be running the
  // binary while another replaces it: compile to a private name, then
  // rename over the shared one (atomic within one directory).
  const tmp = `${binary}.${process.pid}.${Date.now()}.tmp`;
  try {
    execFileSync("gcc", ["-O1", "-Wall", "-Werror", "-o", tmp, source], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "pipe"],
    });
    renameSync(tmp, binary);
  } catch (err) {
    rmSync(tmp, { force: true });
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? "";
    throw new Error(`building ${source} failed: ${String(err)}\n${stderr}`);
  }
}

function parse(json: string): GoldenVector[] {
  const data = JSON.parse(json) as { vectors?: unknown };
  if (!Array.isArray(data.vectors) || data.vectors.length === 0) {
    throw new Error("golden output has no vectors");
  }
  for (const v of data.vectors as GoldenVector[]) {
    if (
      typeof v.name !== "string" ||
      (v.dir !== "to_daemon" && v.dir !== "to_client") ||
      (v.version !== 3 && v.version !== 4) ||
      !Array.isArray(v.messages) ||
      typeof v.hex !== "string" ||
      !/^(?:[0-9a-f]{2})+$/.test(v.hex)
    ) {
      throw new Error(`malformed golden vector ${JSON.stringify(v).slice(0, 200)}`);
    }
  }
  return data.vectors as GoldenVector[];
}

/** Build (once per process) and run the C generator; return its vectors. */
export function loadGoldenVectors(): GoldenVector[] {
  if (cached) return cached;
  if (platform() !== "linux") {
    throw new Error("golden vectors need Linux headers (<rdma/rdma_netlink.h>)");
  }
  build();
  const out = execFileSync(binary, [], { cwd: repoRoot, encoding: "utf8" });
  cached = parse(out);
  return cached;
}
