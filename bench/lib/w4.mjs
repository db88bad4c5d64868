// W4 plumbing: a fresh network namespace per client, the real iwpmd inside it under the project's
// LD_PRELOAD library (docs/iwpmd-userspace.md), and the client started with `ip netns exec`.
// The same approach as test/support/netns.ts and test/support/iwpmd.ts, kept small: one daemon,
// one client, JSON lines from the client. Nothing here touches the host's namespace.

import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { accessSync, constants, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";

const NETLINK_USERSOCK = 2;
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function findExecutable(name) {
  for (const dir of [...(process.env.PATH ?? "").split(path.delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"]) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why W4 cannot run here, or null when it can. */
export function w4Unavailable() {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "not root (network namespaces and iwpmd's multicast groups need root)";
  for (const tool of ["ip", "iwpmd", "gcc"]) if (!findExecutable(tool)) return `${tool} not found`;
  const probe = `iwpm-bench-probe-${process.pid}-${randomBytes(3).toString("hex")}`;
  const add = spawnSync("ip", ["netns", "add", probe], { encoding: "utf8" });
  if (add.status !== 0) return `cannot create a network namespace: ${(add.stderr || add.error?.message || "").trim()}`;
  spawnSync("ip", ["netns", "del", probe]);
  return null;
}

const live = new Set();
process.on("exit", () => {
  for (const name of live) destroySync(name);
});

function pidsIn(name) {
  const r = spawnSync("ip", ["netns", "pids", name], { encoding: "utf8" });
  if (r.status !== 0) return [];
  return r.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
}

function killAll(pids, signal) {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

function destroySync(name) {
  // Only processes inside this benchmark's own namespace.
  killAll(pidsIn(name), "SIGKILL");
  spawnSync("ip", ["netns", "del", name]);
  live.delete(name);
}

async function createNamespace() {
  const name = `iwpm-bench-${process.pid}-${randomBytes(3).toString("hex")}`;
  execFileSync("ip", ["netns", "add", name]);
  live.add(name);
  execFileSync("ip", ["-n", name, "link", "set", "lo", "up"]);
  return {
    name,
    destroy: async () => {
      const pids = pidsIn(name);
      if (pids.length > 0) {
        killAll(pids, "SIGTERM");
        for (let i = 0; i < 20 && pidsIn(name).length > 0; i++) await sleep(50);
      }
      destroySync(name);
    },
  };
}

function hasNetlinkPort(pid) {
  try {
    return readFileSync(`/proc/${pid}/net/netlink`, "utf8")
      .split("\n")
      .slice(1)
      .some((line) => {
        const cols = line.trim().split(/\s+/);
        return Number(cols[1]) === NETLINK_USERSOCK && Number(cols[2]) === pid;
      });
  } catch {
    return false;
  }
}

/**
 * iwpmd -s in `ns`, LD_PRELOAD only for iwpmd itself. Its syslog lines (no /dev/log here: glibc
 * writes them to /dev/console) go to `consoleLog`, a file bind-mounted over /dev/console in the
 * private mount namespace that `ip netns exec` gives the command. Every step execs, so the
 * spawned pid is iwpmd's, which is also its netlink port.
 */
async function startIwpmd(ns, { clientPort, library, consoleLog }) {
  writeFileSync(consoleLog, "");
  const env = [`IWPM_CLIENT_PORT=${clientPort}`, "IWPM_PRELOAD_LOG=0", `LD_PRELOAD=${library}`];
  const script = 'mount --bind "$1" /dev/console || echo "[console capture unavailable]" >&2; shift; exec "$@"';
  const child = spawn(
    "ip",
    ["netns", "exec", ns.name, "sh", "-c", script, "sh", consoleLog, "env", ...env, findExecutable("iwpmd"), "-s"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.on("data", (b) => (log += b));
  child.stderr.on("data", (b) => (log += b));
  let exited = false;
  child.on("exit", () => (exited = true));
  const deadline = Date.now() + 5000;
  while (!hasNetlinkPort(child.pid)) {
    if (exited) throw new Error(`iwpmd exited before binding its netlink port: ${log}`);
    if (Date.now() > deadline) throw new Error(`iwpmd did not bind its netlink port within 5 s: ${log}`);
    await sleep(20);
  }
  return {
    pid: child.pid,
    log: () => log,
    /** iwpmd's CPU time so far (user + system), seconds. */
    cpuSeconds: () => {
      try {
        const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
        return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      } catch {
        return undefined;
      }
    },
    stop: async () => {
      if (exited) return;
      child.kill("SIGTERM");
      for (let i = 0; i < 60 && !exited; i++) await sleep(50);
      if (!exited) child.kill("SIGKILL");
    },
  };
}

/**
 * Runs one W4 client: namespace, client (bound first, so it receives iwpmd's HELLO), iwpmd,
 * then the client's JSON lines until {"done"} or {"error"}. Resolves { lines, log, iwpmdCpuS }
 * (iwpmd's CPU time from registration to the end of the client's run).
 */
export async function runW4Client({ command, args, library, consoleLog, timeoutMs }) {
  const ns = await createNamespace();
  const clientPort = 0x50000000 + randomInt(0, 0x0fffffff);
  let iwpmd;
  const lines = [];
  let stderr = "";
  try {
    const child = spawn("ip", ["netns", "exec", ns.name, command, ...args(clientPort)], { stdio: ["ignore", "pipe", "pipe"] });
    child.stderr.on("data", (b) => (stderr += b));
    let wake = () => {};
    let exited = false;
    child.on("exit", () => {
      exited = true;
      wake();
    });
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        lines.push(JSON.parse(line));
      } catch {
        stderr += `${line}\n`;
      }
      wake();
    });
    const waitFor = async (predicate, ms, what) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = lines.find(predicate);
        if (hit) return hit;
        const error = lines.find((l) => l.error);
        if (error) throw new Error(`${what}: client error: ${error.error}`);
        if (exited) throw new Error(`${what}: client exited: ${stderr.trim()}`);
        if (Date.now() > deadline) throw new Error(`${what}: timed out after ${ms} ms: ${stderr.trim()}`);
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
    };
    await waitFor((l) => l.ready, 10_000, "client start");
    iwpmd = await startIwpmd(ns, { clientPort, library, consoleLog });
    const registered = await waitFor((l) => l.registered, 10_000, "client registration");
    void registered;
    const cpuBefore = iwpmd.cpuSeconds();
    await waitFor((l) => l.done, timeoutMs, "client run");
    const cpuAfter = iwpmd.cpuSeconds();
    for (let i = 0; i < 40 && !exited; i++) await sleep(50);
    if (!exited) child.kill("SIGKILL");
    const iwpmdCpuS = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
    return { lines, log: iwpmd.log(), iwpmdCpuS };
  } finally {
    await iwpmd?.stop();
    await ns.destroy();
  }
}
