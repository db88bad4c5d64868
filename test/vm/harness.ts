// Runs test/vm/vm.sh from the tests: whether it can run here, one scenario per VM, and readers for
// the files a scenario leaves (docs/kernel-testing.md).

import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const VM = path.join(ROOT, "test/vm/vm.sh");
const CLI = path.join(ROOT, "build/dist/cli.js");

/** vm.sh's exit statuses of its own (a script's status is below 100). */
export const VM_EXIT = { usage: 100, missing: 101, setup: 102, boot: 103, timeout: 104, noStatus: 105 } as const;

/** Whether the harness's tools are installed; `reason` names the missing Debian packages. */
export function vmReadiness(): { ok: boolean; reason: string } {
  const r = spawnSync("bash", [VM, "--check"], { encoding: "utf8" });
  if (r.status === 0) return { ok: true, reason: "" };
  return { ok: false, reason: (r.stderr || r.error?.message || `vm.sh --check exited ${r.status}`).trim() };
}

/** Builds (or reuses) the cached siw modules and initramfs, so parallel runs do not each wait on it. */
export function buildVmArtifacts(): void {
  const r = spawnSync("bash", [VM, "--build"], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0) throw new Error(`test/vm/vm.sh --build failed (${r.status}):\n${r.stderr}`);
}

export interface VmRun {
  /** vm.sh's exit status: the script's own, or one of VM_EXIT. */
  status: number;
  /** vm.sh's stderr: its diagnosis and the console's last lines when something failed. */
  stderr: string;
  /** The run's directory (console.log, qemu.log) and the script's output directory in it (the VM's /vm/out). */
  dir: string;
  out: string;
  /** A file the script left, as text ("" when it is missing). */
  text(name: string): string;
  /** A NAME.status file as a number (NaN when missing). */
  exitOf(name: string): number;
  /** Why the run failed, with the script's output, for assertion messages. */
  explain(): string;
}

export interface VmOptions {
  siw?: "stock" | "mapped" | "none";
  args?: string[];
  testTimeoutS?: number;
}

/** Boots a VM, runs test/vm/scripts/SCRIPT inside and resolves when the VM is gone. */
export function runVm(script: string, options: VmOptions = {}): Promise<VmRun> {
  const dir = mkdtempSync(path.join(tmpdir(), `iwpm-vm-${script.replace(/\W/g, "")}-`));
  const args = [
    VM,
    "--siw",
    options.siw ?? "stock",
    "--test-timeout",
    String(options.testTimeoutS ?? 240),
    "--out",
    dir,
    path.join(ROOT, "test/vm/scripts", script),
    ...(options.args ?? []),
  ];
  return new Promise((resolve) => {
    execFile("bash", args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      const status = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
      const out = path.join(dir, "out");
      const text = (name: string) => {
        const file = path.join(out, name);
        return existsSync(file) ? readFileSync(file, "utf8") : "";
      };
      resolve({
        status,
        stderr,
        dir,
        out,
        text,
        exitOf: (name) => {
          const s = text(`${name}.status`).trim();
          return s === "" ? Number.NaN : Number(s);
        },
        explain: () => `vm.sh exited ${status} (files in ${out})\n${stderr}\n--- test.log:\n${text("test.log")}`,
      });
    });
  });
}

/**
 * Removes the runs' directories when every test passed; after a failure they stay for a look
 * (their paths are in the failures' messages).
 */
export function keepFailedRuns(): { failed: () => void; cleanUp: (runs: VmRun[]) => void } {
  let anyFailed = false;
  return {
    failed: () => {
      anyFailed = true;
    },
    cleanUp: (runs) => {
      if (anyFailed) return;
      for (const run of runs) rmSync(run.dir, { recursive: true, force: true });
    },
  };
}

/** One message of `iwpm decode --json` (the fields these tests read). */
export interface Decoded {
  index: number;
  kind: "iwpm" | "done" | "error" | "control" | "invalid";
  direction: "to_daemon" | "to_client";
  part: number;
  len: number;
  type: number;
  seq: number;
  pid: number;
  status: number;
  statusName: string;
  label: string;
  opName?: string;
  attrs: Record<string, string | number>;
  unknownAttrs?: unknown[];
  control?: { value?: number };
}

/** `iwpm decode --json FILE`, as a user runs it: its exit status, messages and stderr. */
export function decodeCapture(file: string): { status: number | null; messages: Decoded[]; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, "decode", "--json", file], { encoding: "utf8" });
  const messages = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Decoded);
  return { status: r.status, messages, stderr: r.stderr };
}

export interface ReplayMapping {
  client: number;
  local: string;
  mapped: string;
  flags: number;
}

/** `iwpm replay --json FILE`: the state at the end of the capture. */
export function replayCapture(file: string): {
  status: number | null;
  state: { mappings: ReplayMapping[]; anomalies: { severity?: string; text?: string }[]; daemon: { pid: number } | null };
  stderr: string;
} {
  const r = spawnSync(process.execPath, [CLI, "replay", "--json", file], { encoding: "utf8" });
  return { status: r.status, state: r.status === 0 ? JSON.parse(r.stdout).state : null, stderr: r.stderr };
}

/** tshark's reading of a netlink capture: each message's family, type and sequence number, in order. */
export function tsharkNetlink(file: string): {
  status: number | null;
  messages: { family: number; type: number; seq: number }[];
  stderr: string;
} {
  const fields = ["netlink.family", "netlink.hdr_type", "netlink.hdr_seq"].flatMap((f) => ["-e", f]);
  const r = spawnSync("tshark", ["-r", file, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", ...fields], { encoding: "utf8" });
  const messages: { family: number; type: number; seq: number }[] = [];
  for (const line of (r.stdout ?? "").split("\n")) {
    if (line.trim() === "") continue;
    // One line per datagram; a datagram holding several messages lists their fields comma-separated.
    const [family = "", types = "", seqs = ""] = line.split("\t");
    const t = types.split(",");
    const s = seqs.split(",");
    for (let i = 0; i < t.length; i++) messages.push({ family: Number(family), type: Number(t[i]), seq: Number(s[i]) });
  }
  return { status: r.status, messages, stderr: r.stderr ?? "" };
}

/**
 * The project's Wireshark dissector (`iwpm dissector`) on a capture: the iwpm op of every message
 * tshark dissects, in order, and the frames it calls malformed.
 */
export function tsharkDissected(file: string, luaDir: string): { status: number | null; ops: number[]; malformed: number; stderr: string } {
  const lua = path.join(luaDir, "iwpm.lua");
  writeFileSync(lua, spawnSync(process.execPath, [CLI, "dissector"], { encoding: "utf8" }).stdout);
  const args = ["-X", `lua_script:${lua}`, "-2", "-r", file, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "iwpm.op"];
  const r = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 1 << 26 });
  const ops = (r.stdout ?? "")
    .split("\n")
    .flatMap((line) => line.split(","))
    .filter((v) => v.trim() !== "")
    .map(Number);
  const bad = spawnSync("tshark", ["-X", `lua_script:${lua}`, "-2", "-r", file, "-Y", "_ws.malformed"], { encoding: "utf8" });
  const malformed = (bad.stdout ?? "").split("\n").filter((l) => l.trim() !== "").length;
  return { status: r.status, ops, malformed, stderr: `${r.stderr ?? ""}${bad.stderr ?? ""}` };
}

/** The port of an "ip:port" address. */
export const portOf = (address: string | number | undefined): number => Number(String(address).split(":").pop());
