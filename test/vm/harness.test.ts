// test/vm/vm.sh itself: a script's status and files come back; a script that never ends, a missing
// tool and a bad command line each end the run with vm.sh's own status and a message that says
// what to do. Skipped like the kernel tests (docs/kernel-testing.md).

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildVmArtifacts, keepFailedRuns, runVm, VM_EXIT, type VmRun, vmReadiness } from "./harness.js";

const VM = fileURLToPath(new URL("./vm.sh", import.meta.url));
const required = process.env.IWPM_VM === "1";
const readiness = vmReadiness();
if (!readiness.ok && !required) console.warn(`[vm/harness] skipped (set IWPM_VM=1 to make this a failure): ${readiness.reason}`);

describe.skipIf(!readiness.ok && !required)("the VM harness", () => {
  const runs: VmRun[] = [];
  const runDirs = keepFailedRuns();
  beforeEach(({ onTestFailed }) => onTestFailed(runDirs.failed));
  afterAll(() => runDirs.cleanUp(runs));
  beforeAll(() => {
    if (!readiness.ok) throw new Error(`the VM harness cannot run here (IWPM_VM=1): ${readiness.reason}`);
    buildVmArtifacts();
  }, 900_000);

  it("boots the Debian kernel, runs the script and brings back its status and files", { timeout: 600_000 }, async () => {
    const status = 1 + Math.floor(Math.random() * 90);
    const run = await runVm("probe.sh", { siw: "none", args: ["status", String(status)] });
    runs.push(run);
    expect(run.status, run.explain()).toBe(status);
    expect(run.text("status").trim()).toBe(String(status));
    expect(run.text("argument.txt").trim()).toBe(String(status));
    // The guest runs the kernel vm.sh picked, not the host's.
    const kernel = spawnSync("bash", [VM, "--check"], { encoding: "utf8" }).stdout.match(/kernel (\S+),/)?.[1];
    expect(run.text("kernel.txt").trim()).toBe(kernel);
    expect(run.text("test.log")).toMatch(new RegExp(`exiting ${status}`));
    expect(run.text("dmesg.txt")).toMatch(/Linux version/);
  });

  it("stops a script that outlives --test-timeout and says so", { timeout: 600_000 }, async () => {
    const run = await runVm("probe.sh", { siw: "none", args: ["hang"], testTimeoutS: 5 });
    runs.push(run);
    expect(run.status, run.explain()).toBe(VM_EXIT.timeout);
    expect(run.stderr).toMatch(/did not finish within 5s/);
    expect(run.text("test.log")).toMatch(/hanging/);
  });

  it("names the Debian package of a missing tool", () => {
    const r = spawnSync("bash", [VM, "--check"], { encoding: "utf8", env: { ...process.env, IWPM_VM_QEMU: "qemu-system-absent" } });
    expect(r.status).toBe(VM_EXIT.missing);
    expect(r.stderr).toMatch(/missing: qemu-system-x86 \(for qemu-system-absent\)/);
    expect(r.stderr).toMatch(/apt-get install -y --no-install-recommends qemu-system-x86/);
  });

  it("refuses a bad command line before booting anything", () => {
    const full = mkdtempSync(path.join(tmpdir(), "iwpm-vm-full-"));
    writeFileSync(path.join(full, "left-over"), "");
    const cases: [string[], RegExp][] = [
      [["--siw", "other", "--out", full, "x"], /--siw is stock, mapped or none/],
      [["--test-timeout", "soon", "--out", full, "x"], /timeouts are whole seconds/],
      [["--out", full, VM], /must be empty or new/],
      [["--out", full], /no test script given/],
    ];
    try {
      for (const [args, message] of cases) {
        const r = spawnSync("bash", [VM, ...args], { encoding: "utf8" });
        expect(r.status, args.join(" ")).toBe(VM_EXIT.usage);
        expect(r.stderr).toMatch(message);
      }
    } finally {
      rmSync(full, { recursive: true, force: true });
    }
  });
});
