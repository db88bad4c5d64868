// The Deno host: the same client API under Deno (node_modules/.bin/deno, the npm package), over
// the libc netlink socket of src/host/netlink-deno.ts. Three parts:
//   - `deno check` of the Deno entry and scripts, against Deno's own types;
//   - test/deno/socket.ts: the socket alone (batches into a WebAssembly.Memory, credentials as
//     nobody, multicast, truncation, EAGAIN, overrun, close);
//   - test/deno/agent.ts inside a fresh network namespace against the real rdma-core iwpmd
//     (under the LD_PRELOAD library, as in iwpmd.test.ts).
// Each part is skipped, with the reason printed, where Deno, root, namespaces or iwpmd are missing.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { IwpmError } from "../../src/core/errors.js";
import { NETLINK_USERSOCK, openNetlinkSocket } from "../../src/host/netlink-node.js";
import { openPortMapperClient } from "../../src/node.js";
import { ensureBuilt, randomClientPort } from "../support/agent.js";
import { startIwpmd } from "../support/iwpmd.js";
import { Lab } from "../support/lab.js";
import { canUseNamespaces, createNamespace, type JsonLine, settlesWithin } from "../support/netns.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DENO = path.join(ROOT, "node_modules", ".bin", "deno");
const SOCKET_SCRIPT = path.join(ROOT, "test", "deno", "socket.ts");
const AGENT_SCRIPT = path.join(ROOT, "test", "deno", "agent.ts");
const OPEN_SCRIPT = path.join(ROOT, "test", "deno", "open.ts");
/** The unprivileged sender: its uid and gid must reach the receiver as the kernel saw them. */
const NOBODY = 65534;
const DENO_RUN = ["run", "--sloppy-imports", "--allow-read", "--allow-ffi", "--allow-env"];

function denoSupport(): { ok: boolean; reason?: string } {
  if (process.platform !== "linux") return { ok: false, reason: "not Linux" };
  if (!existsSync(DENO)) return { ok: false, reason: `no deno binary at ${DENO} (npm install)` };
  const version = spawnSync(DENO, ["--version"], { encoding: "utf8", timeout: 30_000 });
  if (version.status !== 0)
    return { ok: false, reason: `${DENO} --version failed: ${(version.stderr || version.error?.message || "").trim()}` };
  return { ok: true };
}

// --- a Deno process speaking JSON lines --------------------------------------------------------

interface DenoProcess {
  readonly child: ChildProcess;
  /** Takes the first not yet taken line that matches, waiting up to timeoutMs. */
  next(predicate?: (line: JsonLine) => boolean, timeoutMs?: number): Promise<JsonLine>;
  /** Every line not taken yet that matches, without waiting. */
  drain(predicate?: (line: JsonLine) => boolean): JsonLine[];
  send(obj: unknown): void;
  stderr(): string;
  /** Exit code (null: ended by a signal) and when it came. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Ends stdin, then SIGKILL after a bounded wait: cleanup only. */
  kill(): Promise<void>;
}

function watch(child: ChildProcess, name: string): DenoProcess {
  const lines: JsonLine[] = [];
  const taken = new Set<number>();
  let errText = "";
  let ended = false;
  const wake: Array<() => void> = [];
  const notify = () => {
    for (const fn of wake.splice(0)) fn();
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.on("exit", (code, signal) => {
      ended = true;
      resolve({ code, signal, at: Date.now() });
      notify();
    });
    child.on("error", (err) => {
      errText += `spawn error: ${err.message}\n`;
      ended = true;
      resolve({ code: null, signal: null, at: Date.now() });
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
        if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object");
        lines.push(value as JsonLine);
        notify();
      } catch {
        errText += `stdout: ${line}\n`;
      }
    });
  }
  const take = (predicate: (line: JsonLine) => boolean) => {
    for (const [i, line] of lines.entries()) {
      if (!taken.has(i) && predicate(line)) {
        taken.add(i);
        return line;
      }
    }
    return undefined;
  };
  const failure = (what: string) =>
    new Error(
      `${what}\n--- stderr of ${name} ---\n${errText}--- lines not taken ---\n${lines
        .filter((_, i) => !taken.has(i))
        .map((l) => JSON.stringify(l))
        .join("\n")}`,
    );
  return {
    child,
    next: (predicate = () => true, timeoutMs = 10_000) =>
      new Promise<JsonLine>((resolve, reject) => {
        let done = false;
        const timer = setTimeout(() => {
          done = true;
          reject(failure(`no matching line within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (done) return;
          const hit = take(predicate);
          if (hit !== undefined || ended) {
            done = true;
            clearTimeout(timer);
            if (hit !== undefined) resolve(hit);
            else reject(failure("the process exited before a matching line"));
          } else {
            wake.push(check);
          }
        };
        check();
      }),
    drain: (predicate = () => true) => {
      const out: JsonLine[] = [];
      for (let hit = take(predicate); hit !== undefined; hit = take(predicate)) out.push(hit);
      return out;
    },
    send: (obj) => {
      child.stdin?.write(`${JSON.stringify(obj)}\n`);
    },
    stderr: () => errText,
    exited,
    kill: async () => {
      if (ended) return;
      child.stdin?.end();
      if (await settlesWithin(exited, 2000)) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** How long a Deno process may take to exit once its work is done (startup-free, so short). */
const EXIT_WITHIN_MS = 3000;

// --- deno check and the socket on its own ------------------------------------------------------

const deno = denoSupport();
if (!deno.ok) console.warn(`[interop/deno] skipped: ${deno.reason}`);
// Joining a NETLINK_USERSOCK multicast group (the multicast check) takes CAP_NET_ADMIN.
const socketReason = !deno.ok ? deno.reason : process.getuid?.() !== 0 ? "not root" : undefined;
if (deno.ok && socketReason !== undefined) console.warn(`[interop/deno] socket and iwpmd cases skipped: ${socketReason}`);

describe.skipIf(!deno.ok)("Deno host: types", () => {
  it("type-checks the Deno entry and scripts against Deno's own types", { timeout: 120_000 }, () => {
    const r = spawnSync(DENO, ["check", "src/deno.ts", "test/deno/socket.ts", "test/deno/agent.ts", "test/deno/open.ts"], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 110_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  });
});

describe.skipIf(!deno.ok)("Deno host: opening a client fails as on Node", () => {
  /** Runs test/deno/open.ts on `port` and returns its one line. */
  function denoOpen(port: number, flags = DENO_RUN): Record<string, unknown> {
    const r = spawnSync(DENO, [...flags, OPEN_SCRIPT, String(port)], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    expect(line, r.stderr).toMatch(/^\{/);
    return JSON.parse(line) as Record<string, unknown>;
  }

  it("a port another socket holds: SOCKET_ERROR with the same errno and syscall on both hosts", { timeout: 90_000 }, async () => {
    const holder = openNetlinkSocket({ protocol: NETLINK_USERSOCK, onReadable: () => {} });
    try {
      const onNode = await openPortMapperClient({ port: holder.port }).then(
        () => ({ opened: true }),
        (err: IwpmError) => ({ code: err.code, errno: err.errno, syscall: err.syscall }),
      );
      expect(onNode).toEqual({ code: "SOCKET_ERROR", errno: constants.errno.EADDRINUSE, syscall: "bind" });
      const onDeno = denoOpen(holder.port);
      expect({ code: onDeno.code, errno: onDeno.errno, syscall: onDeno.syscall }).toEqual(onNode);
    } finally {
      holder.close();
    }
  });

  it("no way to make sockets at all (Deno without --allow-ffi): NATIVE_UNAVAILABLE, naming the flag", { timeout: 60_000 }, () => {
    const r = denoOpen(
      0,
      DENO_RUN.filter((f) => f !== "--allow-ffi"),
    );
    expect(r.code).toBe("NATIVE_UNAVAILABLE");
    expect(r.message).toMatch(/--allow-ffi/);
  });
});

describe.skipIf(socketReason !== undefined)("Deno host: netlink socket", () => {
  it("netlink socket: batches into a WebAssembly.Memory, a mixed batch with a refused port, multicast once, truncation, EAGAIN per datagram, overrun, close lets Deno exit", {
    timeout: 60_000,
  }, async () => {
    const proc = watch(spawn(DENO, [...DENO_RUN, SOCKET_SCRIPT], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }), "socket.ts");
    try {
      const check = (name: string) => proc.next((l) => l.check === name);
      const open = await check("open");
      const [a, b, c] = open.ports as number[];
      expect(new Set([a, b, c]).size).toBe(3);
      for (const port of [a, b, c]) expect(port).toBeGreaterThan(0);

      // Three datagrams in one sendBatch, all three read by one recvBatch, each with its source
      // port and the sending process's credentials.
      const unicast = await check("unicast");
      expect(unicast.sent).toEqual({ result: 0, errnos: [0, 0, 0] });
      expect(unicast.seen).toBe(true);
      expect(unicast.calls).toEqual([3, 0]);
      expect(unicast.atB).toEqual([0, 1, 2].map((i) => ({ text: `a to b ${i}`, port: a, groups: 0 })));
      expect(unicast.lens).toEqual([8, 8, 8]);
      expect(unicast.credsAtB).toEqual([0, 1, 2].map(() => ({ creds: true, pid: unicast.pid })));
      expect(unicast.back).toEqual({ result: 0, errnos: [0] });
      expect(unicast.atA).toEqual([{ text: "b to a", port: b, groups: 0 }]);

      const grown = await check("grown");
      expect(grown).toMatchObject({ sent: { result: 0, errnos: [0] }, got: [{ text: "after grow", port: a, groups: 0 }] });

      // Refused in the middle (WASI ECONNREFUSED 14); the multicast to port 0 + group 5 counts as
      // sent and reaches the one member once; the rest goes out, in order.
      const mixed = await check("mixed");
      expect(mixed.sent).toEqual({ result: 0, errnos: [0, 14, 0, 0, 0] });
      expect(mixed.atB).toEqual(["m1", "m2", "m3"].map((t) => ({ text: t, port: a, groups: 0 })));
      expect(mixed.atC).toEqual([{ text: "to the group", port: a, groups: 1 << 4 }]);
      expect(mixed).toMatchObject({ atA: 0, sentCounted: 4, errorsCounted: 1 });

      // The first datagram went out alone (one good batch); the batch with a descriptor past the
      // memory sent nothing (WASI EFAULT 21), and a receive area past it read nothing.
      const fault = await check("fault");
      expect(fault).toMatchObject({ send: 21, recv: -21, arrived: 1, sentCounted: 0 });

      // 70,000 bytes into a 65,536-byte slot: the head, the real length, TRUNC; 100 bytes whole.
      const truncated = await check("truncated");
      expect(truncated).toMatchObject({
        sent: { result: 0, errnos: [0, 0] },
        seen: true,
        big: { len: 70_000, trunc: true, inSlot: 65_536 },
        small: { len: 100, trunc: false, inSlot: 100 },
        counted: 1,
      });

      // The kernel pushed back (WASI EAGAIN 6) on the datagrams past what the small queue took.
      const burst = await check("burst");
      expect(burst.result).toBe(0);
      expect(burst.errnos).toEqual([0, 6]);
      expect(burst.accepted).toBeGreaterThan(0);
      expect(burst).toMatchObject({ acceptedFirst: true, seen: true, received: burst.accepted, inOrder: true });

      const overrun = await check("overrun");
      expect(overrun.floodErrnos).toEqual([0]);
      expect(overrun.receivedOfFlood).toBeLessThan(200);
      expect(overrun.overruns).toBeGreaterThan(0);
      expect(overrun.reported).toEqual([overrun.overruns]);
      expect(overrun).toMatchObject({ later: { result: 0, errnos: [0] }, laterSeen: true, last: "after the overrun" });

      const closeInReadable = await check("closeInReadable");
      expect(closeInReadable).toEqual({ check: "closeInReadable", received: ["one", "two"], later: [14] });

      const close = await check("close");
      expect(close.recvAfterClose).toBe(-8); // -WASI EBADF
      expect(close.sendAfterClose).toBe(8);
      const counters = close.counters as Record<string, Record<string, number>>;
      // a: 3 + 1 + 4 of the mixed batch + 1 before the fault + 2 long + the burst's accepted + 200 multicasts + 1 + 2;
      // refused: 1 + the burst's EAGAINs + "three".
      const acceptedBurst = burst.accepted as number;
      expect(counters.a).toMatchObject({
        sent: 3 + 1 + 4 + 1 + 2 + acceptedBurst + 200 + 1 + 2,
        sendErrors: 1 + (200 - acceptedBurst) + 1,
        received: 1,
      });
      expect(counters.b).toMatchObject({ received: 10, truncated: 1, sent: 1, sendErrors: 0 });
      expect(counters.r).toMatchObject({ received: acceptedBurst, overruns: 0 });

      const done = await proc.next((l) => l.done === true);
      expect(done).toBeDefined();
      const doneAt = Date.now();
      // Every socket is closed and nothing else is pending: Deno must exit by itself, promptly.
      expect(await settlesWithin(proc.exited, EXIT_WITHIN_MS), "Deno still running after every socket closed").toBe(true);
      const exit = await proc.exited;
      expect(exit.code, proc.stderr()).toBe(0);
      expect(exit.at - doneAt).toBeLessThan(EXIT_WITHIN_MS);
      expect(proc.stderr()).toBe("");
    } finally {
      await proc.kill();
    }
  });

  it("netlink socket: each datagram carries the kernel's credentials of its sender (run as nobody)", { timeout: 30_000 }, async () => {
    // Everything nobody runs is copied where nobody can read it: the checkout may be private (a
    // clone under /root, mode 0700), Deno's binary included.
    const work = mkdtempSync(path.join(tmpdir(), "iwpm-deno-nobody-"));
    chmodSync(work, 0o755);
    for (const dir of ["src", path.join("test", "deno")]) cpSync(path.join(ROOT, dir), path.join(work, dir), { recursive: true });
    const deno = path.join(work, "deno");
    copyFileSync(realpathSync(DENO), deno);
    chmodSync(deno, 0o755);
    const cache = path.join(work, "cache");
    mkdirSync(cache);
    chownSync(cache, NOBODY, NOBODY);
    const script = path.join(work, path.relative(ROOT, SOCKET_SCRIPT));
    const proc = watch(
      spawn("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", deno, ...DENO_RUN, script, "creds"], {
        cwd: work,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, HOME: cache, DENO_DIR: cache },
      }),
      "socket.ts creds",
    );
    try {
      const line = await proc.next((l) => l.check === "creds", 20_000);
      expect(line.sent).toEqual({ result: 0, errnos: [0, 0] });
      expect(line.calls).toEqual([2, 0]);
      expect(line.got).toEqual(
        ["one", "two"].map((text) => ({ text, port: line.portA, pid: line.pid, uid: NOBODY, gid: NOBODY, creds: true })),
      );
      await proc.next((l) => l.done === true);
      expect((await proc.exited).code, proc.stderr()).toBe(0);
    } finally {
      await proc.kill();
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("netlink socket: an unref'd open socket does not keep Deno running", { timeout: 30_000 }, async () => {
    const proc = watch(
      spawn(DENO, [...DENO_RUN, SOCKET_SCRIPT, "unref"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }),
      "socket.ts unref",
    );
    try {
      const line = await proc.next((l) => l.check === "unref");
      expect(line.canUnref).toBe(true);
      await proc.next((l) => l.done === true);
      expect(await settlesWithin(proc.exited, EXIT_WITHIN_MS), "an unref'd socket kept Deno running").toBe(true);
      expect((await proc.exited).code, proc.stderr()).toBe(0);
    } finally {
      await proc.kill();
    }
  });
});

// --- the client under Deno against iwpmd ---------------------------------------------------------

// Not even probed without Deno or root (the probe creates a namespace).
const ns = socketReason === undefined ? canUseNamespaces() : { ok: false, reason: socketReason };
const iwpmdReason = socketReason ?? (ns.ok ? undefined : ns.reason);
if (socketReason === undefined && iwpmdReason !== undefined) console.warn(`[interop/deno] iwpmd cases skipped: ${iwpmdReason}`);

interface Addr {
  family: "ipv4" | "ipv6";
  address: string;
  port: number;
}
interface Mapping {
  local: Addr;
  mappedLocal: Addr;
}

const DEV = { devName: "siw0", ifName: "lo" };

describe.skipIf(iwpmdReason !== undefined)("PortMapperClient under Deno against iwpmd", () => {
  const lab = new Lab();

  beforeAll(() => {
    // The agent runs the sources, but the core is the build output (build/core/iwpm.wasm).
    ensureBuilt();
  }, 120_000);

  afterEach((ctx) => lab.end(ctx));

  let callId = 0;
  async function call<T = unknown>(agent: DenoProcess, name: string, ...args: unknown[]): Promise<JsonLine & { value: T }> {
    const id = ++callId;
    agent.send({ id, call: name, args });
    return (await agent.next((l) => l.id === id && typeof l.ok === "boolean", 30_000)) as JsonLine & { value: T };
  }

  it("HELLO, registerPid, IPv4 and IPv6 mappings, removal, duplicate rejected, close exits", { timeout: 90_000 }, async () => {
    const netns = await createNamespace("iwpm-deno");
    lab.namespace(netns);
    const P = randomClientPort();

    // The agent first, so iwpmd's start-up HELLO finds the client's port.
    const agent = watch(
      netns.spawn(DENO, [...DENO_RUN, AGENT_SCRIPT, String(P), "{}"], { cwd: ROOT, stdio: ["pipe", "pipe", "pipe"] }),
      "agent.ts",
    );
    lab.process(
      "deno agent stderr",
      () => agent.kill(),
      () => agent.stderr(),
    );
    const ready = await agent.next((l) => l.ready === true, 30_000);
    expect(ready.port).toBe(P);

    const daemon = await startIwpmd(netns, { clientPort: P });
    lab.daemon(daemon);

    // HELLO answered as a v4 kernel; iwpmd then asks for the mapinfo records (none).
    const hello = await agent.next((l) => l.event === "daemonHello");
    expect(hello).toMatchObject({ nlClient: 2, version: 4, offered: 4, port: daemon.port, answeredAsV3: false, status: 0 });
    const request = await agent.next((l) => l.event === "mapinfoRequest");
    expect(request).toMatchObject({ nlClient: 2, port: daemon.port, version: 4 });

    const registered = await call(agent, "registerPid", DEV);
    expect(registered).toMatchObject({ ok: true, value: { registered: true, abiVersion: 4 } });
    const state = await call<Record<string, unknown>>(agent, "state");
    expect(state.value).toMatchObject({ validPid: true, daemonPid: daemon.port, abiVersion: 4, registration: "VALID" });

    const mapped: Mapping[] = [];
    for (const [ip, family, text] of [
      ["127.0.0.1", "ipv4", "127.0.0.1:7001"],
      ["::1", "ipv6", "[::1]:7002"],
    ] as const) {
      const r = await call<Mapping>(agent, "addMapping", text);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      expect(r.value.local).toMatchObject({ family, address: ip });
      // iwpmd's mapped address: same address, a port it reserved.
      expect(r.value.mappedLocal.family).toBe(family);
      expect(r.value.mappedLocal.address).toBe(ip);
      expect(r.value.mappedLocal.port).toBeGreaterThan(0);
      expect(r.value.mappedLocal.port).not.toBe(r.value.local.port);
      mapped.push(r.value);
    }

    // A second ADD of a local address iwpmd already maps: IWPM_DUPLICATE_MAPPING_ERR (12).
    const duplicate = await call(agent, "addMapping", "127.0.0.1:7001");
    expect(duplicate).toMatchObject({ ok: false, code: "REJECTED", iwpmCode: 12 });

    // REMOVE has no reply; iwpmd reads our datagrams in order, so a new ADD after it is served.
    for (const m of mapped) {
      const text = m.local.family === "ipv6" ? `[${m.local.address}]:${m.local.port}` : `${m.local.address}:${m.local.port}`;
      expect(await call(agent, "removeMapping", text)).toMatchObject({ ok: true, value: null });
      const again = await call<Mapping>(agent, "addMapping", text);
      expect(again.ok, JSON.stringify(again)).toBe(true);
      expect(await call(agent, "removeMapping", text)).toMatchObject({ ok: true, value: null });
    }

    const after = await call<{ stats: { pending: number } }>(agent, "state");
    expect(after.value.stats.pending).toBe(0);
    expect(agent.drain((l) => l.event === "error")).toEqual([]);
    expect(await settlesWithin(daemon.exited, 0)).toBe(false);

    // Closing stdin closes the client; the Deno process must then exit by itself.
    agent.child.stdin?.end();
    await agent.next((l) => l.closed === true);
    const closedAt = Date.now();
    expect(await settlesWithin(agent.exited, EXIT_WITHIN_MS), "the Deno agent kept running after close()").toBe(true);
    const exit = await agent.exited;
    expect(exit.code, agent.stderr()).toBe(0);
    expect(exit.at - closedAt).toBeLessThan(EXIT_WITHIN_MS);
  });
});
