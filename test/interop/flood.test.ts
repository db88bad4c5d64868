// `iwpm serve` and a client (the built CLI and package, each in a process of its own) in a fresh
// namespace, flooded by nobody with 1,000,000 multicast datagrams to iwpm's group and 1,000,000
// unicast ones to each of them while both are stopped for 2 s (SIGSTOP: exactly a blocked event
// loop, as their sockets see it). The sender (test/native/c/nl-send.c, built here against the system
// headers) does not wait for its receivers. Root only; skipped, with the reason printed, where
// namespaces, gcc or setpriv are unavailable.

import { type ChildProcess, execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Agent, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { canUseNamespaces, createNamespace, findExecutable, type Netns } from "../support/netns.js";

const CLI = fileURLToPath(new URL("../../build/dist/cli.js", import.meta.url));
const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];
const NETLINK_USERSOCK = 2;
// iwpm's multicast group 2 (RDMA_NL_GROUP_IWPM) as a bitmask, where REG_PID goes.
const IWPM_GROUP_MASK = 1 << 1;
const FLOOD = 1_000_000;
const BLOCKED_MS = 2000;
const GARBAGE = "garbage from nobody";

// The checkout may be private: the sender lives where nobody can run it.
const dir = mkdtempSync(path.join(tmpdir(), "iwpm-flood-"));
const SENDER = path.join(dir, "nl-send");

interface AgentState {
  stats: { overruns: number; drops: Record<string, number> };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** `iwpm serve --stats` in `ns`; resolves once its start-up line is out. */
async function serve(ns: Netns) {
  const child: ChildProcess = ns.spawn(process.execPath, [CLI, "serve", "--protocol", "2", "--stats", "--log-target", "stdout"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  await until("the start-up line", () => /netlink port \d+/.test(out) || child.exitCode !== null);
  const m = /iwpm serve: .*netlink port (\d+)/.exec(out);
  if (m === null) throw new Error(`iwpm serve did not start:\n${out}`);
  return {
    port: Number(m[1]),
    child,
    out: () => out,
    exited,
    /** SIGUSR1 until a stats line satisfies `done`. */
    async stats(done: (line: string) => boolean): Promise<string> {
      let line = "";
      await until(`a stats line as awaited (last: ${line})`, async () => {
        const before = out.length;
        child.kill("SIGUSR1");
        await until("a stats line", () => /stats: .*\n/.test(out.slice(before)));
        line = /stats: (.*)\n/.exec(out.slice(before))?.[1] ?? "";
        return done(line);
      });
      return line;
    },
  };
}

/** The sender as nobody in `ns`: COUNT datagrams to (port, groups); resolves how many sends the kernel took. */
async function send(ns: Netns, port: number, groups: number, count: number): Promise<number> {
  const child = ns.spawn("setpriv", [...NOBODY, SENDER, String(NETLINK_USERSOCK), String(port), String(groups), String(count), GARBAGE], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const m = /^\d+ (\d+)\n$/.exec(out);
  if (code !== 0 || m === null) throw new Error(`nl-send to ${port}/${groups} exited ${code}: ${out}`);
  return Number(m[1]);
}

const counter = (line: string, name: string) => Number(new RegExp(`\\b${name}=(\\d+)`).exec(line)?.[1] ?? 0);
const sum = (drops: Record<string, number>) => Object.values(drops).reduce((a, b) => a + b, 0);

const support = canUseNamespaces();
const missing = !support.ok ? support.reason : findExecutable("setpriv") === undefined ? "setpriv not found" : undefined;
if (missing !== undefined) console.warn(`[interop/flood] skipped: ${missing}`);

describe.skipIf(missing !== undefined)("iwpm serve and a client flooded by nobody while their event loops are blocked", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  beforeAll(() => {
    ensureBuilt();
    execFileSync("gcc", ["-O2", "-Wall", "-Werror", "-o", SENDER, fileURLToPath(new URL("../native/c/nl-send.c", import.meta.url))]);
    chmodSync(dir, 0o755);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });

  it("both live, the service's overruns are counted and reported, nothing else is lost, and both serve a register and a mapping afterwards", {
    timeout: 120_000,
  }, async () => {
    const ns = await createNamespace("iwpm-flood");
    cleanup.push(() => ns.destroy());
    const svc = await serve(ns);
    cleanup.push(async () => {
      svc.child.kill("SIGCONT");
      svc.child.kill("SIGKILL");
    });
    const agent: Agent = await startAgent(ns, randomClientPort());
    cleanup.push(async () => {
      agent.proc.child.kill("SIGCONT");
      await agent.close();
    });

    const stopped = [svc.child, agent.proc.child];
    for (const p of stopped) p.kill("SIGSTOP");
    const blocked = new Promise((r) => setTimeout(r, BLOCKED_MS));
    // A group send also goes to port 0, where no socket is on NETLINK_USERSOCK: the kernel delivers
    // to the group, then refuses the unicast part, so the sender cannot count what was delivered.
    const [, toService, toClient] = await Promise.all([
      send(ns, 0, IWPM_GROUP_MASK, FLOOD),
      send(ns, svc.port, 0, FLOOD),
      send(ns, agent.port, 0, FLOOD),
    ]);
    await blocked;
    for (const p of stopped) p.kill("SIGCONT");

    // The service: the multicast overran its queue (a unicast from a process never does: the kernel
    // refuses it to the sender instead, so `toService` were all queued). The stats line and a
    // warning say so, and every datagram it did read is counted as refused.
    const read = (l: string) => counter(l, "untrusted") + counter(l, "badFrame");
    const line = await svc.stats((l) => counter(l, "overruns") > 0 && read(l) >= toService);
    expect(svc.out()).toMatch(/warning: netlink receive queue overran \(\d+ so far\)/);
    expect(counter(line, "mappings")).toBe(0);

    // The client is in no multicast group, and a unicast sender finds its full queue refusing
    // (EAGAIN) rather than overrunning it: so nobody cannot overrun it, and every datagram the
    // kernel took for it is read and counted, none lost.
    await until("the client's drops", async () => sum((await agent.call<AgentState>("state")).stats.drops) >= toClient);
    const s = await agent.call<AgentState>("state");
    expect(sum(s.stats.drops)).toBe(toClient);
    expect(s.stats.overruns).toBe(0);

    expect(svc.child.exitCode).toBeNull();
    expect(agent.proc.child.exitCode).toBeNull();
    expect(await agent.call("registerPid", { devName: "siw0", ifName: "lo" })).toEqual({ registered: true, abiVersion: 4 });
    expect(await agent.attempt("addMapping", "127.0.0.1:5000")).toMatchObject({ ok: true });
  });
});
