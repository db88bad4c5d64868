// Network namespaces for root-only integration tests.
//
// Every test that runs iwpmd gets namespaces of its own: iwpmd binds UDP 3935
// on all addresses of its namespace (one daemon per namespace), and
// NETLINK_USERSOCK port ids are per namespace, so a client talking to that
// daemon must open its socket inside the same namespace (runInNamespace).
// Nothing here ever configures the host namespace: veth pairs are created
// directly inside the namespaces and vanish with them.

import { type ChildProcess, execFile, type SpawnOptions, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { accessSync, constants as fsConstants } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";

export interface Netns {
  /** Namespace name as known to `ip netns` (unique per call). */
  readonly name: string;
  /** Runs `ip netns exec <name> cmd ...args`; resolves stdout, rejects with stderr. */
  exec(cmd: string, args?: readonly string[]): Promise<string>;
  /** Starts `cmd` inside the namespace; the child's pid is the command's own pid. */
  spawn(cmd: string, args?: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Adds an address to a device of this namespace (IPv6 without DAD). */
  addAddress(dev: string, cidr: string): Promise<void>;
  /** Kills what still runs inside, then deletes the namespace (and its veths). Idempotent. */
  destroy(): Promise<void>;
}

export interface LinkAddresses {
  /** [address of a, address of b], CIDR notation */
  v4?: readonly [string, string];
  v6?: readonly [string, string];
}

export interface NamespaceLink {
  /** Device name of the veth end inside a and inside b. */
  devA: string;
  devB: string;
}

const execFileAsync = (cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<string> =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) {
        const detail = stderr.trim() || err.message;
        reject(new Error(`${cmd} ${args.join(" ")}: ${detail}`));
      } else {
        resolve(stdout);
      }
    });
  });

const ip = (args: readonly string[]): Promise<string> => execFileAsync("ip", args);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Absolute path of an executable found in PATH or the sbin directories, else undefined. */
export function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

let capability: { ok: boolean; reason?: string } | undefined;

/**
 * Whether namespace tests can run here: root, `ip`, `iwpmd` and `gcc` (the
 * preload library is compiled on demand) present, and a namespace can
 * actually be created (root inside a restricted container may not).
 */
export function canUseNamespaces(): { ok: boolean; reason?: string } {
  if (capability) return capability;
  capability = probe();
  return capability;
}

function probe(): { ok: boolean; reason?: string } {
  if (process.platform !== "linux") return { ok: false, reason: "not Linux" };
  if (process.getuid?.() !== 0) return { ok: false, reason: "not root" };
  for (const tool of ["ip", "iwpmd", "gcc"]) {
    if (!findExecutable(tool)) return { ok: false, reason: `${tool} not found` };
  }
  const name = `iwpm-probe-${process.pid}-${randomBytes(3).toString("hex")}`;
  const add = spawnSync("ip", ["netns", "add", name], { encoding: "utf8" });
  if (add.status !== 0) {
    return {
      ok: false,
      reason: `cannot create a network namespace: ${(add.stderr || add.error?.message || "").trim()}`,
    };
  }
  spawnSync("ip", ["netns", "del", name]);
  return { ok: true };
}

// Namespaces still alive in this process, removed synchronously if the
// process exits without destroying them (a crashed test must not leak).
const live = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const name of live) destroySync(name);
  });
}

function pidsIn(name: string): number[] {
  const out = spawnSync("ip", ["netns", "pids", name], { encoding: "utf8" });
  if (out.status !== 0) return [];
  return out.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0 && pid !== process.pid);
}

function killAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function destroySync(name: string): void {
  // Only processes inside this test-created namespace are killed.
  killAll(pidsIn(name), "SIGKILL");
  spawnSync("ip", ["netns", "del", name]);
  live.delete(name);
}

let counter = 0;

function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${randomBytes(3).toString("hex")}`;
}

/**
 * Creates a fresh namespace with `lo` up. The name is unique across
 * processes (pid, counter and random suffix), so test files can run in
 * parallel.
 */
export async function createNamespace(prefix = "iwpm"): Promise<Netns> {
  const name = uniqueName(prefix);
  await ip(["netns", "add", name]);
  installExitHook();
  live.add(name);
  try {
    await ip(["-n", name, "link", "set", "lo", "up"]);
  } catch (err) {
    destroySync(name);
    throw err;
  }

  let destroyed: Promise<void> | undefined;
  const ns: Netns = {
    name,
    exec: (cmd, args = []) => execFileAsync("ip", ["netns", "exec", name, cmd, ...args]),
    spawn: (cmd, args = [], opts = {}) =>
      // `ip netns exec` enters the namespace and execs without forking,
      // so the child's pid is the command's.
      spawn("ip", ["netns", "exec", name, cmd, ...args], opts),
    addAddress: async (dev, cidr) => {
      const v6 = cidr.includes(":");
      await ip(["-n", name, ...(v6 ? ["-6"] : ["-4"]), "addr", "add", cidr, "dev", dev, ...(v6 ? ["nodad"] : [])]);
    },
    destroy: () => {
      destroyed ??= (async () => {
        if (!live.has(name)) return;
        const pids = pidsIn(name);
        if (pids.length > 0) {
          killAll(pids, "SIGTERM");
          for (let i = 0; i < 20 && pidsIn(name).length > 0; i++) await sleep(50);
          killAll(pidsIn(name), "SIGKILL");
        }
        try {
          await ip(["netns", "del", name]);
        } finally {
          live.delete(name);
        }
      })();
      return destroyed;
    },
  };
  return ns;
}

let linkCounter = 0;

/**
 * Connects two namespaces with a veth pair, assigns the given addresses
 * (first to a, second to b), brings both ends up and waits until the link
 * is up and no address is tentative. DAD is switched off on both ends
 * (`nodad` plus accept_dad=0 for the link-local address) so the addresses
 * are usable at once.
 */
export async function linkNamespaces(
  a: Netns,
  b: Netns,
  addrs: LinkAddresses = {
    v4: ["10.77.0.1/24", "10.77.0.2/24"],
    v6: ["fd77::1/64", "fd77::2/64"],
  },
): Promise<NamespaceLink> {
  linkCounter += 1;
  const tag = `${linkCounter.toString(36)}${randomBytes(2).toString("hex")}`;
  // Interface names are at most 15 characters and only need to be unique
  // inside each namespace; the pair is created inside a, so the host never
  // sees either end.
  const devA = `va${tag}`.slice(0, 15);
  const devB = `vb${tag}`.slice(0, 15);
  await ip(["-n", a.name, "link", "add", devA, "type", "veth", "peer", "name", devB, "netns", b.name]);
  const ends: [Netns, string][] = [
    [a, devA],
    [b, devB],
  ];
  for (const [ns, dev] of ends) {
    await ns.exec("sysctl", ["-q", "-w", `net.ipv6.conf.${dev}.accept_dad=0`]);
  }
  for (const [i, [ns, dev]] of ends.entries()) {
    if (addrs.v4) await ns.addAddress(dev, addrs.v4[i] as string);
    if (addrs.v6) await ns.addAddress(dev, addrs.v6[i] as string);
    await ip(["-n", ns.name, "link", "set", dev, "up"]);
  }
  await waitLinkReady(a, devA);
  await waitLinkReady(b, devB);
  return { devA, devB };
}

async function waitLinkReady(ns: Netns, dev: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    last = await ip(["-n", ns.name, "addr", "show", "dev", dev]);
    const up = /[<,]LOWER_UP[,>]/.test(last) && /\bstate UP\b/.test(last);
    if (up && !/\btentative\b/.test(last)) return;
    if (Date.now() > deadline) {
      throw new Error(`${dev} in ${ns.name} not ready after ${timeoutMs} ms:\n${last}`);
    }
    await sleep(25);
  }
}

// ---------------------------------------------------------------------------
// A Node script inside a namespace, speaking JSON lines.

/** One parsed JSON line of a script's stdout (scripts print objects). */
export type JsonLine = { [key: string]: unknown };

export interface NsProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Every JSON line printed so far and still to come, in order (each iteration starts at the first). */
  readonly lines: AsyncIterable<JsonLine>;
  /** All JSON lines printed so far. */
  received(): readonly JsonLine[];
  /**
   * Takes the first not yet taken line that matches, waiting up to
   * timeoutMs. Lines skipped over stay available to later calls. Rejects on
   * timeout or when the process exits first, with its stderr. A type-guard
   * predicate narrows the result.
   */
  next<T extends JsonLine>(predicate: (line: JsonLine) => line is T, timeoutMs?: number): Promise<T>;
  next(predicate?: (line: JsonLine) => boolean, timeoutMs?: number): Promise<JsonLine>;
  /** Takes every not yet taken line that matches, without waiting. */
  drain(predicate?: (line: JsonLine) => boolean): JsonLine[];
  /** Writes one JSON line to the script's stdin. */
  send(obj: unknown): void;
  /** What the script wrote to stderr (and non-JSON stdout lines). */
  stderr(): string;
  /** Exit code, or null when ended by a signal. */
  readonly exited: Promise<number | null>;
  /** Ends stdin, waits for exit (SIGTERM, then SIGKILL after a bounded wait). */
  close(): Promise<void>;
}

export interface RunOptions {
  env?: Record<string, string>;
  /** Default timeout of next(), ms. */
  timeoutMs?: number;
}

export function runInNamespace(ns: Netns, scriptPath: string, args: readonly string[] = [], opts: RunOptions = {}): NsProcess {
  const child = ns.spawn(process.execPath, [scriptPath, ...args], {
    env: { ...process.env, ...opts.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const all: JsonLine[] = [];
  const taken = new Set<number>();
  let errText = "";
  let exitCode: number | null | undefined;
  let wake: Array<() => void> = [];
  const notify = () => {
    const waiting = wake;
    wake = [];
    for (const fn of waiting) fn();
  };

  const exited = new Promise<number | null>((resolve) => {
    child.on("exit", (code) => {
      exitCode = code;
      resolve(code);
      notify();
    });
    child.on("error", (err) => {
      errText += `spawn error: ${err.message}\n`;
      exitCode = null;
      resolve(null);
      notify();
    });
  });

  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    errText += chunk;
  });
  if (child.stdout) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.trim()) return;
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value !== "object" || value === null || Array.isArray(value)) {
          throw new Error("not an object");
        }
        all.push(value as JsonLine);
        notify();
      } catch {
        errText += `stdout: ${line}\n`;
      }
    });
  }

  const describeFailure = (what: string) =>
    new Error(
      `${what}\n--- stderr of ${path.basename(scriptPath)} (pid ${child.pid}) ---\n${errText}` +
        `--- lines not taken ---\n${all
          .filter((_, i) => !taken.has(i))
          .map((l) => JSON.stringify(l))
          .join("\n")}`,
    );

  const takeMatching = (predicate: (line: JsonLine) => boolean): JsonLine | undefined => {
    for (const [i, line] of all.entries()) {
      if (!taken.has(i) && predicate(line)) {
        taken.add(i);
        return line;
      }
    }
    return undefined;
  };

  const proc: NsProcess = {
    child,
    pid: child.pid ?? -1,
    lines: {
      [Symbol.asyncIterator]: async function* () {
        let i = 0;
        for (;;) {
          while (i < all.length) yield all[i++];
          if (exitCode !== undefined) return;
          await new Promise<void>((resolve) => wake.push(resolve));
        }
      },
    },
    received: () => all.slice(),
    next: (predicate: (line: JsonLine) => boolean = () => true, timeoutMs = opts.timeoutMs ?? 5000) =>
      new Promise<JsonLine>((resolve, reject) => {
        const deadline = setTimeout(() => {
          check.done = true;
          reject(describeFailure(`no matching line within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = Object.assign(
          () => {
            if (check.done) return;
            const hit = takeMatching(predicate);
            if (hit !== undefined) {
              check.done = true;
              clearTimeout(deadline);
              resolve(hit);
            } else if (exitCode !== undefined) {
              check.done = true;
              clearTimeout(deadline);
              reject(describeFailure(`process exited (${exitCode}) before a matching line`));
            } else {
              wake.push(check);
            }
          },
          { done: false },
        );
        check();
      }),
    drain: (predicate = () => true) => {
      const out: JsonLine[] = [];
      for (let hit = takeMatching(predicate); hit !== undefined; hit = takeMatching(predicate)) {
        out.push(hit);
      }
      return out;
    },
    send: (obj) => {
      child.stdin?.write(`${JSON.stringify(obj)}\n`);
    },
    stderr: () => errText,
    exited,
    close: async () => {
      if (exitCode !== undefined) return;
      child.stdin?.end();
      if (await settlesWithin(exited, 2000)) return;
      child.kill("SIGTERM");
      if (await settlesWithin(exited, 2000)) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
  return proc;
}

/** True if p settles within ms. */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
