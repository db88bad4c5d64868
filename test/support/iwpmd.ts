// The real rdma-core iwpmd inside a test namespace, under the LD_PRELOAD
// library (src/preload/iwpmd_preload.c): its NETLINK_RDMA socket becomes a
// NETLINK_USERSOCK socket and everything it addresses to the kernel (port 0)
// goes to the client port instead.

import { execFile } from "node:child_process";
import { constants as fsConstants, openSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { Socket } from "node:net";
import os from "node:os";
import path from "node:path";
import { buildPreload } from "../../build/preload.mjs";
import { findExecutable, type Netns, settlesWithin } from "./netns.js";

export interface Iwpmd {
  readonly pid: number;
  /** iwpmd's netlink port id; iwpmd binds it to its own pid. */
  readonly port: number;
  /** stdout, stderr (preload library lines) and syslog messages so far. */
  log(): string;
  kill(signal?: NodeJS.Signals): boolean;
  /** SIGTERM, wait for exit, SIGKILL after a bounded wait. Idempotent. */
  stop(): Promise<void>;
  /** Exit code, or null when ended by a signal. */
  readonly exited: Promise<number | null>;
}

export interface StartIwpmdOptions {
  /** Netlink port the client is bound to (IWPM_CLIENT_PORT). */
  clientPort: number;
  /** Extra environment for iwpmd (IWPM_PRELOAD_LOG defaults to "1"). */
  env?: Record<string, string>;
  /** How long to wait for iwpmd's netlink socket, ms (default 5000). */
  startTimeoutMs?: number;
}

const NETLINK_USERSOCK = 2;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whether pid has a NETLINK_USERSOCK socket bound at port == pid. Reads
 * /proc/<pid>/net/netlink, which lists the sockets of pid's namespace.
 * Columns: sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode, Pid decimal.
 */
async function hasNetlinkPort(pid: number): Promise<boolean> {
  let table: string;
  try {
    table = await readFile(`/proc/${pid}/net/netlink`, "utf8");
  } catch {
    return false;
  }
  return table
    .split("\n")
    .slice(1)
    .some((line) => {
      const cols = line.trim().split(/\s+/);
      return Number(cols[1]) === NETLINK_USERSOCK && Number(cols[2]) === pid;
    });
}

/**
 * iwpmd logs through syslog(3) with LOG_CONS; with no /dev/log it writes to
 * /dev/console. `ip netns exec` gives the command a mount namespace of its
 * own (a slave of the host's), so a FIFO bind-mounted over /dev/console
 * there captures those lines without touching the host. Read end opened
 * O_RDWR: the FIFO then never reports EOF between syslog's open/close
 * cycles and syslog's open for writing never blocks.
 */
async function openConsoleCapture(onText: (text: string) => void) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "iwpmd-console-"));
  const fifo = path.join(dir, "console");
  await new Promise<void>((resolve, reject) => execFile("mkfifo", ["-m", "600", fifo], (err) => (err ? reject(err) : resolve())));
  // A raw fd (not a FileHandle, which would close it on garbage collection);
  // the Socket owns it from here on.
  const fd = openSync(fifo, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  const reader = new Socket({ fd, readable: true, writable: false });
  reader.setEncoding("utf8");
  // syslog writes "message\n" then "\r\n" to the console: keep one newline.
  let atLineStart = true;
  reader.on("data", (chunk: string) => {
    let lines = chunk.replace(/\r/g, "").replace(/\n{2,}/g, "\n");
    if (atLineStart) lines = lines.replace(/^\n+/, "");
    if (lines === "") return;
    atLineStart = lines.endsWith("\n");
    onText(lines);
  });
  reader.on("error", () => {});
  return {
    fifo,
    close: async () => {
      reader.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function startIwpmd(ns: Netns, opts: StartIwpmdOptions): Promise<Iwpmd> {
  const library = await buildPreload();
  const iwpmd = findExecutable("iwpmd");
  if (!iwpmd) throw new Error("iwpmd not found");

  let text = "";
  const append = (chunk: string) => {
    text += chunk;
  };
  let capture: Awaited<ReturnType<typeof openConsoleCapture>> | undefined;
  try {
    capture = await openConsoleCapture(append);
  } catch (err) {
    append(`[console capture unavailable: ${(err as Error).message}]\n`);
  }

  // LD_PRELOAD only for iwpmd itself (set by env(1) at the end of the exec
  // chain), so `ip`, sh and mount run unmodified. Every step execs, so the
  // spawned pid is iwpmd's pid, which is also its netlink port.
  const daemonEnv = {
    IWPM_PRELOAD_LOG: "1",
    ...opts.env,
    IWPM_CLIENT_PORT: String(opts.clientPort),
    LD_PRELOAD: library,
  };
  const command = ["env", ...Object.entries(daemonEnv).map(([k, v]) => `${k}=${v}`), iwpmd, "-s"];
  const script = 'if [ -n "$1" ]; then mount --bind "$1" /dev/console || echo "[console capture unavailable]" >&2; fi; shift; exec "$@"';
  const child = ns.spawn("sh", ["-c", script, "sh", capture?.fifo ?? "", ...command], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", append);
  child.stderr?.on("data", append);

  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code, signal) => {
      exitCode = code;
      if (signal) append(`[iwpmd ended by ${signal}]\n`);
      else append(`[iwpmd exited with code ${code}]\n`);
      resolve(code);
    });
    child.on("error", (err) => {
      append(`[spawn error: ${err.message}]\n`);
      exitCode = null;
      resolve(null);
    });
  });
  // The capture stays open until iwpmd is gone: syslog opening a FIFO
  // without a reader would block iwpmd.
  void exited.then(() => capture?.close());

  const pid = child.pid ?? -1;
  let stopping: Promise<void> | undefined;
  const handle: Iwpmd = {
    pid,
    port: pid,
    log: () => text,
    kill: (signal = "SIGTERM") => exitCode === undefined && child.kill(signal),
    exited,
    stop: () => {
      stopping ??= (async () => {
        if (exitCode !== undefined) return;
        child.kill("SIGTERM");
        if (await settlesWithin(exited, 3000)) return;
        child.kill("SIGKILL");
        await exited;
      })();
      return stopping;
    },
  };

  const timeoutMs = opts.startTimeoutMs ?? 5000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(`iwpmd in ${ns.name} exited (${exitCode}) before binding its netlink port\n--- log ---\n${text}`);
    }
    if (pid > 0 && (await hasNetlinkPort(pid))) return handle;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`iwpmd in ${ns.name} did not bind netlink port ${pid} within ${timeoutMs} ms\n--- log ---\n${text}`);
    }
    await sleep(20);
  }
}
