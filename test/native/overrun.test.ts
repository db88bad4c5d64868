/**
 * Receive-queue overrun, as an unprivileged local user causes it: `nobody` floods multicast group 2
 * while the receiving process's event loop is blocked. The receiver runs in a child process in a
 * network namespace of its own (netlink ports and groups are per namespace), so the flood reaches
 * no other process on this machine.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ADDON, helper, NOBODY } from "./support.js";

const FLOOD = 50_000;
const IWPM_GROUP_MASK = 1 << 1;
const SAFETY_TIMEOUT_MS = 60_000;

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], timeout: SAFETY_TIMEOUT_MS });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function script(name: string, source: string): string {
  const dir = mkdtempSync(join(tmpdir(), "iwpm-overrun-"));
  chmodSync(dir, 0o755);
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
}

// The receiver: joins group 2 with the smallest receive buffer, then blocks its event loop for
// exactly as long as the flood lasts (spawnSync of the sender). Once its loop runs again it must
// report the overrun, and then receive a unicast sent after the flood, proving the socket works on.
const RECEIVER = `
import { spawn, spawnSync } from "node:child_process";
const [addon, sender, nobody, flood, groups] = [process.argv[2], process.argv[3], JSON.parse(process.argv[4]), process.argv[5], process.argv[6]];
const m = { exports: {} };
process.dlopen(m, addon);
const n = m.exports;
const s = n.netlinkOpen(2, 0, Number(groups), 1, false);
const mem = new ArrayBuffer(64 * 32 + 64 * 256);
const overrunEvents = [];
// The marker goes again every 250 ms until it is read: one sent while the queue is still full of
// the flood is dropped as the flood was.
let marker;
n.netlinkStart(s.handle, (kind, value) => {
  if (kind === 2) {
    overrunEvents.push(value);
    marker ??= setInterval(() => spawn("setpriv", [...nobody, sender, "2", String(s.port), "0", "1", "after the flood"], { stdio: "ignore" }), 250);
  }
  if (kind !== 1) return;
  for (let count; (count = n.netlinkRecv(s.handle, mem, 0, 2048, 256, 64)) > 0; ) {
    for (let i = 0; i < count; i++) {
      const len = new DataView(mem).getUint32(i * 32, true);
      if (Buffer.from(mem, 2048 + i * 256, Math.min(len, 256)).toString() !== "after the flood") continue;
      clearInterval(marker);
      console.log(JSON.stringify({ overrunEvents, counters: n.netlinkCounters(s.handle), flood: floodResult }));
      n.netlinkClose(s.handle);
      return;
    }
  }
});
const floodResult = spawnSync("setpriv", [...nobody, sender, "2", "0", groups, flood, "garbage"], { encoding: "utf8" }).stdout.trim();
`;

describe("receive-queue overrun", () => {
  it(`survives ${FLOOD} multicast datagrams from nobody while blocked, reports the overrun and receives on`, async () => {
    const sender = helper("nl-send");
    const receiver = script("receiver.mjs", RECEIVER);
    const out = await run("unshare", [
      "--net",
      "--",
      process.execPath,
      receiver,
      ADDON,
      sender,
      JSON.stringify(NOBODY),
      String(FLOOD),
      String(IWPM_GROUP_MASK),
    ]);
    expect(out.stderr).toBe("");
    expect({ code: out.code, signal: out.signal }).toEqual({ code: 0, signal: null });
    const result = JSON.parse(out.stdout) as { overrunEvents: number[]; counters: { overruns: number; received: number }; flood: string };
    // The sender's own report: its port, and 0 accepted (each port-0 multicast "fails" after delivery).
    expect(result.flood).toMatch(/^\d+ 0$/);
    expect(result.overrunEvents.length).toBeGreaterThan(0);
    expect(result.overrunEvents[0]).toBeGreaterThan(0);
    expect(result.counters.overruns).toBe(result.overrunEvents.at(-1));
    // Some of the flood fit in the queue; most of it was dropped by the kernel.
    expect(result.counters.received).toBeGreaterThan(1);
    expect(result.counters.received).toBeLessThan(FLOOD);
  });
});
