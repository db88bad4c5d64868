// A local user posing as iwpmd: the client (the built package, in a process of its own) paired with
// the real rdma-core iwpmd in a fresh namespace, and a forger (fixtures/forge.c, built here against
// the system headers) run as nobody, sending to the client's port every kind of message only the
// daemon may send. Root only; skipped, with the reason printed, where namespaces, gcc or iwpmd are
// unavailable.

import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Agent, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { buildTestProgram } from "../support/cc.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import { canUseNamespaces, createNamespace, findExecutable, type Netns } from "../support/netns.js";

interface Addr {
  family: "ipv4" | "ipv6";
  address: string;
  port: number;
}
interface State {
  daemonPid: number | null;
  registration: string;
  stats: { pending: number; drops: Record<string, number> };
  mapinfo: number;
}

const DEV = { devName: "siw0", ifName: "lo" };
const NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"];
// What forge.c puts in its REMOTE_INFO and ADD reply.
const FORGED_REMOTE = ["127.0.0.1:6000", "10.66.0.2:7000"] as const;
const FORGED_MAPPED_ADDRESS = "10.66.0.1";
// Every sequence number a fresh client can have used by then (its counter starts at 1), so the
// pending request's is among them: the forger knows it, the worst case.
const SEQS = 32;

// The checkout may be private: the forger lives where nobody can run it.
const dir = mkdtempSync(path.join(tmpdir(), "iwpm-forge-"));
const FORGE = path.join(dir, "forge");

interface Forger {
  /** How many datagrams it sent. */
  sent: number;
  /** Ends its wait; resolves how many datagrams reached its own port meanwhile. */
  received(): Promise<number>;
}

/** Runs the forger as nobody in `ns`; resolves once everything is sent. */
async function forge(ns: Netns, ...args: string[]): Promise<Forger> {
  const child: ChildProcess = ns.spawn("setpriv", [...NOBODY, FORGE, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  await until("the forger's sends", () => /sent \d+\n/.test(out) || gone);
  const sent = /sent (\d+)\n/.exec(out);
  if (sent === null) throw new Error(`forge ${args.join(" ")} failed: ${out}`);
  return {
    sent: Number(sent[1]),
    async received() {
      child.stdin?.end();
      const code = await exited;
      const m = /received (\d+)\n/.exec(out);
      if (code !== 0 || m === null) throw new Error(`forge ${args.join(" ")} exited ${code}: ${out}`);
      return Number(m[1]);
    },
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const untrusted = (s: State) => s.stats.drops.UNTRUSTED_SENDER ?? 0;

/** Waits until the client has counted `n` untrusted datagrams: it has read all the forger sent. */
async function untrustedReaches(agent: Agent, n: number): Promise<State> {
  let last: State | undefined;
  await until(`${n} UNTRUSTED_SENDER drops`, async () => {
    last = await agent.call<State>("state");
    return untrusted(last) >= n;
  });
  return last as State;
}

const support = canUseNamespaces();
const missing = !support.ok ? support.reason : findExecutable("setpriv") === undefined ? "setpriv not found" : undefined;
if (missing !== undefined) console.warn(`[interop/forgery] skipped: ${missing}`);

describe.skipIf(missing !== undefined)("a client paired with iwpmd, and nobody forging the daemon's messages", () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  const daemons: Iwpmd[] = [];
  const agents: Agent[] = [];

  beforeAll(() => {
    ensureBuilt();
    buildTestProgram(fileURLToPath(new URL("./fixtures/forge.c", import.meta.url)), FORGE);
    chmodSync(dir, 0o755);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async (ctx) => {
    if (ctx.task.result?.state === "fail") {
      for (const d of daemons) console.log(`--- iwpmd ${d.pid} ---\n${d.log()}`);
      for (const a of agents) console.log(`--- agent ${a.port} stderr ---\n${a.proc.stderr()}`);
    }
    daemons.length = 0;
    agents.length = 0;
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });

  it("takes none of HELLO, MAPINFO request, ADD reply, HANDLE_ERR and REMOTE_INFO, before or after iwpmd is known, and counts each", {
    timeout: 90_000,
  }, async () => {
    const ns = await createNamespace("iwpm-forge");
    cleanup.push(() => ns.destroy());
    const P = randomClientPort();
    const agent = await startAgent(ns, P, { timeoutMs: 30_000 }, 60_000);
    agents.push(agent);
    cleanup.push(() => agent.close());

    // No daemon known yet: a REMOTE_INFO and a HELLO.
    const fresh = await forge(ns, String(P), "fresh");
    expect(fresh.sent).toBe(2);
    let s = await untrustedReaches(agent, fresh.sent);
    expect(untrusted(s)).toBe(fresh.sent);
    expect(s.daemonPid).toBeNull();
    expect(await agent.call("getRemoteInfo", FORGED_REMOTE[0], FORGED_REMOTE[1])).toBeNull();
    expect(await fresh.received()).toBe(0);
    expect(agent.drainEvents("daemonHello")).toEqual([]);
    expect(agent.drainEvents("remoteInfo")).toEqual([]);

    // The real iwpmd starts and is taken as the daemon.
    const daemon = await startIwpmd(ns, { clientPort: P });
    daemons.push(daemon);
    cleanup.push(() => daemon.stop());
    expect(await agent.nextEvent("daemonHello", undefined, 10_000)).toMatchObject({ port: daemon.port });
    expect(await agent.nextEvent("mapinfoRequest", undefined, 10_000)).toMatchObject({ port: daemon.port });
    expect(await agent.call("registerPid", DEV)).toEqual({ registered: true, abiVersion: 4 });
    // A record a forged MAPINFO request would draw out.
    await agent.call("createMapinfo", "127.0.0.1:4000", "127.0.0.1:4000");

    // iwpmd stopped, an ADD is left pending; then every daemon-only message, and a reply and an
    // error for the pending sequence number.
    daemon.kill("SIGSTOP");
    let continued = false;
    cleanup.push(async () => {
      if (!continued) daemon.kill("SIGCONT");
    });
    const pending = agent.attempt<{ mappedLocal: Addr }>("addMapping", "127.0.0.1:5555");
    await until("the ADD pending", async () => (await agent.call<State>("state")).stats.pending === 1);
    const known = await forge(ns, String(P), "known", String(SEQS));
    expect(known.sent).toBe(2 + 2 * SEQS + 1);
    // The same again, every header naming iwpmd's port: the header is the sender's to write, the
    // credentials are the kernel's.
    const posing = await forge(ns, String(P), "known", String(SEQS), String(daemon.port));
    expect(posing.sent).toBe(known.sent);
    const forged = fresh.sent + known.sent + posing.sent;
    s = await untrustedReaches(agent, forged);
    expect(untrusted(s)).toBe(forged);
    expect(s.daemonPid).toBe(daemon.port);
    expect(s.stats.pending).toBe(1);
    expect(s.mapinfo).toBe(1);
    // The client answered neither the HELLO nor the MAPINFO request, and stored no remote info.
    expect(await known.received()).toBe(0);
    expect(await posing.received()).toBe(0);
    expect(await agent.call("getRemoteInfo", FORGED_REMOTE[0], FORGED_REMOTE[1])).toBeNull();

    daemon.kill("SIGCONT");
    continued = true;
    const outcome = await pending;
    expect(outcome).toMatchObject({ ok: true });
    const mapped = (outcome as { ok: true; value: { mappedLocal: Addr } }).value.mappedLocal;
    expect(mapped.address).toBe("127.0.0.1");
    expect(mapped.address).not.toBe(FORGED_MAPPED_ADDRESS);
    expect(mapped.port).toBeGreaterThan(1);

    s = await agent.call<State>("state");
    expect(s.daemonPid).toBe(daemon.port);
    expect(untrusted(s)).toBe(forged);
    expect(agent.drainEvents("daemonHello")).toEqual([]);
    expect(agent.drainEvents("mapinfoRequest")).toEqual([]);
    expect(agent.drainEvents("remoteInfo")).toEqual([]);
    expect(agent.drainEvents("mappingError")).toEqual([]);
  });
});
