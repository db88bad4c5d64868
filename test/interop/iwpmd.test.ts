// PortMapperClient (the built package, in a process of its own) against the real rdma-core iwpmd,
// each case in a fresh network namespace. iwpmd runs under the LD_PRELOAD library, which turns its
// NETLINK_RDMA socket into NETLINK_USERSOCK and redirects what it sends to the kernel (port 0:
// HELLO, MAPINFO requests, HANDLE_ERR, REMOTE_INFO) to the client's port. Root only; skipped, with
// the reason printed, where namespaces, ip, gcc or iwpmd are unavailable.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Agent, AgentCallError, type AgentOptions, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import { Lab } from "../support/lab.js";
import { canUseNamespaces, createNamespace, type Netns, settlesWithin } from "../support/netns.js";

const lab = new Lab();

interface Addr {
  family: "ipv4" | "ipv6";
  address: string;
  port: number;
}
interface Mapping {
  local: Addr;
  mappedLocal: Addr;
}
type Outcome = { ok: true; value: Mapping } | { ok: false; code: string; iwpmCode?: number };
interface State {
  validPid: boolean;
  daemonPid: number | null;
  abiVersion: number;
  registration: string;
  stats: { pending: number; drops: Record<string, number>; txDatagrams: number };
  mapinfo: number;
}

const DEV = { devName: "siw0", ifName: "lo" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- per-test resources, released even when a test fails -------------------------------------

async function freshNamespace(): Promise<Netns> {
  const ns = await createNamespace("iwpm-api");
  lab.namespace(ns);
  return ns;
}
async function daemonIn(ns: Netns, clientPort: number): Promise<Iwpmd> {
  const d = await startIwpmd(ns, { clientPort });
  lab.daemon(d);
  return d;
}
async function agentIn(ns: Netns, port: number, options: AgentOptions = {}): Promise<Agent> {
  const a = await startAgent(ns, port, options);
  lab.agent(a);
  return a;
}

/** Whether a TCP port of `ip` can be bound inside the namespace (false: someone holds it). */
async function tcpPortFree(ns: Netns, ip: string, port: number): Promise<boolean> {
  const script =
    'const s=require("net").createServer();s.on("error",e=>{console.log(e.code);process.exit(0)});' +
    's.listen({host:process.argv[1],port:+process.argv[2],exclusive:true},()=>{console.log("FREE");s.close()})';
  const out = (await ns.exec(process.execPath, ["-e", script, ip, String(port)])).trim();
  if (out !== "FREE" && out !== "EADDRINUSE") throw new Error(`bind probe of ${ip}:${port}: ${out}`);
  return out === "FREE";
}

async function state(agent: Agent): Promise<State> {
  return agent.call<State>("state");
}

async function expectFailure(p: Promise<unknown>): Promise<AgentCallError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AgentCallError);
    return err as AgentCallError;
  }
  throw new Error("the call succeeded, expected a failure");
}

/** Agent first, then iwpmd: the start-up handshake (HELLO answered, MAPINFO request seen). */
async function agentThenDaemon(options: AgentOptions = {}, beforeDaemon?: (a: Agent) => Promise<void>) {
  const ns = await freshNamespace();
  const P = randomClientPort();
  const agent = await agentIn(ns, P, options);
  await beforeDaemon?.(agent);
  const daemon = await daemonIn(ns, P);
  const hello = await agent.nextEvent("daemonHello", undefined, 10_000);
  expect(hello).toMatchObject({ nlClient: 2, version: 4, offered: 4, port: daemon.port, answeredAsV3: false, status: 0 });
  const request = await agent.nextEvent("mapinfoRequest", undefined, 10_000);
  expect(request).toMatchObject({ nlClient: 2, port: daemon.port, version: 4 });
  return { ns, P, agent, daemon };
}

/** iwpmd first, then the agent, registered by REG_PID multicast alone. */
async function registeredAgent(options: AgentOptions = {}) {
  const ns = await freshNamespace();
  const P = randomClientPort();
  const daemon = await daemonIn(ns, P);
  const agent = await agentIn(ns, P, options);
  expect(await agent.call("registerPid", DEV)).toEqual({ registered: true, abiVersion: 4 });
  return { ns, P, agent, daemon };
}

// --- tests -----------------------------------------------------------------------------------

const support = canUseNamespaces();
if (!support.ok) console.warn(`[interop/iwpmd] skipped: ${support.reason}`);

describe.skipIf(!support.ok)("PortMapperClient against iwpmd", () => {
  beforeAll(() => {
    ensureBuilt();
  }, 120_000);

  afterEach((ctx) => lab.end(ctx));

  describe("start-up", () => {
    it("answers iwpmd's HELLO with v4; with no mapping the MAPINFO request gets nothing back", { timeout: 30_000 }, async () => {
      const { agent, daemon } = await agentThenDaemon();
      await sleep(500);
      expect(agent.drainEvents("mapinfoResent")).toEqual([]);
      expect(agent.drainEvents("mapinfoAck")).toEqual([]);
      expect(await state(agent)).toMatchObject({
        validPid: true,
        daemonPid: daemon.port,
        abiVersion: 4,
        registration: "INCOMPL",
        mapinfo: 0,
        // Only the HELLO answer went out: nothing followed the MAPINFO request.
        stats: { txDatagrams: 1, drops: {} },
      });
      // INCOMPL: register again, then map. The reply's version 4 shows iwpmd kept v4 after our HELLO.
      expect(await agent.call("registerPid", DEV)).toEqual({ registered: true, abiVersion: 4 });
      const m = await agent.call<Mapping>("addMapping", "127.0.0.1:5555");
      expect(m.mappedLocal.address).toBe("127.0.0.1");
      expect(await settlesWithin(daemon.exited, 0)).toBe(false);
    });

    it("resends 500 mappings created before iwpmd started and gets them all acknowledged", { timeout: 60_000 }, async () => {
      const N = 500;
      const pairs = Array.from({ length: N }, (_, i) => [`127.0.0.1:${20_000 + i}`, `127.0.0.1:${30_000 + i}`]);
      const { ns, agent, daemon } = await agentThenDaemon({}, async (a) => {
        expect(await a.call("createMapinfoMany", pairs)).toBe(N);
      });
      const resent = await agent.nextEvent("mapinfoResent", undefined, 10_000);
      expect(resent).toMatchObject({ nlClient: 2, records: N, status: 0, port: daemon.port });
      expect(resent.datagrams).toBeGreaterThan(1);
      const ack = await agent.nextEvent("mapinfoAck", undefined, 10_000);
      expect(ack).toMatchObject({ nlClient: 2, sent: N, acked: N, port: daemon.port });
      expect(agent.drainEvents("mappingError")).toEqual([]);
      // iwpmd re-reserved the mapped ports.
      for (const port of [30_000, 30_000 + N / 2, 30_000 + N - 1]) {
        expect(await tcpPortFree(ns, "127.0.0.1", port)).toBe(false);
      }
    });
  });

  describe("mappings", () => {
    it("registerPid, then IPv4 and IPv6 mappings hold a real port until removed", { timeout: 30_000 }, async () => {
      const { ns, agent, daemon } = await registeredAgent();
      expect(await state(agent)).toMatchObject({ validPid: true, daemonPid: daemon.port, registration: "VALID", abiVersion: 4 });

      for (const [ip, text] of [
        ["127.0.0.1", "127.0.0.1:7001"],
        ["::1", "[::1]:7002"],
      ] as const) {
        const m = await agent.call<Mapping>("addMapping", text);
        expect(m.local.address).toBe(ip);
        expect(m.mappedLocal.family).toBe(m.local.family);
        expect(m.mappedLocal.address).toBe(ip);
        expect(m.mappedLocal.port).not.toBe(m.local.port);
        expect(m.mappedLocal.port).toBeGreaterThan(0);
        expect(await tcpPortFree(ns, ip, m.mappedLocal.port)).toBe(false);

        expect(await agent.call("removeMapping", text)).toBeNull();
        // REMOVE has no reply: wait until iwpmd has let the port go.
        const deadline = Date.now() + 5000;
        while (!(await tcpPortFree(ns, ip, m.mappedLocal.port))) {
          if (Date.now() > deadline) throw new Error(`iwpmd still holds ${ip}:${m.mappedLocal.port} after removeMapping`);
          await sleep(50);
        }
      }
    });

    it("NO_PORT_MAP keeps the local port and reserves nothing", { timeout: 30_000 }, async () => {
      const { ns, agent } = await registeredAgent();
      const m = await agent.call<Mapping>("addMapping", "127.0.0.1:7003", { noPortMap: true });
      expect(m.mappedLocal).toEqual(m.local);
      expect(await tcpPortFree(ns, "127.0.0.1", 7003)).toBe(true);
    });

    it("the same local address twice: the second is REJECTED with IWPM_DUPLICATE_MAPPING_ERR (12)", { timeout: 30_000 }, async () => {
      const { agent } = await registeredAgent();
      await agent.call("addMapping", "127.0.0.1:7004");
      const err = await expectFailure(agent.call("addMapping", "127.0.0.1:7004"));
      expect(err.code).toBe("REJECTED");
      expect(err.iwpmCode).toBe(12);
      expect(err.failure.message).toContain("IWPM_DUPLICATE_MAPPING_ERR");
    });

    it("a query to a listener of the same iwpmd: mapped remote, remoteInfo event, getRemoteInfo once then null", {
      timeout: 30_000,
    }, async () => {
      // One daemon plays both peers over its own UDP port 3935 (the two-host exchange on loopback).
      const { agent } = await registeredAgent();
      for (const [listen, connect] of [
        ["127.0.0.1:7020", "127.0.0.1:7021"],
        ["[::1]:7022", "[::1]:7023"],
      ] as const) {
        const rejected = await expectFailure(agent.call("addAndQueryMapping", connect, listen));
        expect(rejected.code).toBe("REMOTE_REJECTED"); // nobody listens there yet
        expect(rejected.iwpmCode).toBe(16);

        const listener = await agent.call<Mapping>("addMapping", listen);
        // The rejected query left its local mapping with iwpmd (reference §8.10); a query shares it.
        const q = await agent.call<Mapping & { remote: Addr; mappedRemote: Addr }>("addAndQueryMapping", connect, listen);
        expect(q.mappedRemote).toEqual(listener.mappedLocal);
        const info = await agent.nextEvent("remoteInfo", (l) => (l.local as Addr).port === listener.local.port, 10_000);
        expect(info).toMatchObject({ nlClient: 2, local: listener.local, mappedLocal: listener.mappedLocal, mappedRemote: q.mappedLocal });
        expect(info.remote).toEqual(q.local);
        expect(await agent.call("getRemoteInfo", info.mappedLocal, info.mappedRemote)).toEqual(q.local);
        expect(await agent.call("getRemoteInfo", info.mappedLocal, info.mappedRemote)).toBeNull();
      }
    });

    it("1,000 addMapping calls in flight at once all settle with their own mapped port", { timeout: 60_000 }, async () => {
      const { agent } = await registeredAgent();
      const N = 1000;
      const locals = Array.from({ length: N }, (_, i) => `127.0.0.1:${10_000 + i}`);
      const outcomes = await agent.call<Outcome[]>("addMappingMany", locals);
      expect(outcomes).toHaveLength(N);
      const mapped = new Set<number>();
      outcomes.forEach((o, i) => {
        expect(o, locals[i]).toMatchObject({ ok: true });
        const m = (o as { value: Mapping }).value;
        expect(m.local).toEqual({ family: "ipv4", address: "127.0.0.1", port: 10_000 + i });
        expect(m.mappedLocal.address).toBe("127.0.0.1");
        mapped.add(m.mappedLocal.port);
      });
      expect(mapped.size).toBe(N);
      const s = await state(agent);
      expect(s.stats.pending).toBe(0);
      expect(s.stats.drops).toEqual({});
    });
  });

  describe("faults", () => {
    it("no daemon: registerPid fails at once with DAEMON_UNAVAILABLE, sends nothing, and validPid stays false", {
      timeout: 30_000,
    }, async () => {
      const ns = await freshNamespace();
      // A timeout beyond the test's: only the look at the namespace's netlink sockets can settle it.
      const agent = await agentIn(ns, randomClientPort(), { timeoutMs: 600_000 });
      const err = await expectFailure(agent.call("registerPid", DEV));
      expect(err.code).toBe("DAEMON_UNAVAILABLE");
      expect(await state(agent)).toMatchObject({
        validPid: false,
        daemonPid: null,
        registration: "UNDEF",
        stats: { pending: 0, txDatagrams: 0 },
      });
      const noDaemon = await expectFailure(agent.call("addMapping", "127.0.0.1:1"));
      expect(noDaemon.code).toBe("DAEMON_UNAVAILABLE");
    });

    it("a HANDLE_ERR fails exactly the matching request while a concurrent one succeeds", { timeout: 30_000 }, async () => {
      const { agent } = await registeredAgent();
      await agent.call("addMapping", "127.0.0.1:7005");
      const [dup, fresh] = await agent.call<Outcome[]>("addMappingMany", ["127.0.0.1:7005", "127.0.0.1:7006"]);
      expect(dup).toMatchObject({ ok: false, code: "REJECTED", iwpmCode: 12 });
      expect(fresh).toMatchObject({ ok: true, value: { local: { port: 7006 } } });
    });

    it("iwpmd killed and restarted: HELLO and MAPINFO answered, mappings resent and acknowledged, then new mappings work", {
      timeout: 60_000,
    }, async () => {
      const { ns, P, agent, daemon: first } = await agentThenDaemon();
      expect(await agent.call("registerPid", DEV)).toEqual({ registered: true, abiVersion: 4 });
      // Map and record as iw_cm does: add, then create the mapinfo record.
      const kept: Mapping[] = [];
      for (const local of ["127.0.0.1:7007", "[::1]:7008"]) {
        const m = await agent.call<Mapping>("addMapping", local);
        await agent.call("createMapinfo", m.local, m.mappedLocal);
        kept.push(m);
      }
      const unmapped = await agent.call<Mapping>("addMapping", "127.0.0.1:7009", { noPortMap: true });
      await agent.call("createMapinfo", unmapped.local, unmapped.mappedLocal, { noPortMap: true });

      first.kill("SIGKILL");
      await first.exited;
      // The dead daemon's port refuses: the request fails with SEND_FAILED and the pid is forgotten.
      const refused = await expectFailure(agent.call("addMapping", "127.0.0.1:7010"));
      expect(refused.code).toBe("SEND_FAILED");
      expect(await state(agent)).toMatchObject({ validPid: false });

      const second = await daemonIn(ns, P);
      expect(second.pid).not.toBe(first.pid);
      expect(await agent.nextEvent("daemonHello", undefined, 10_000)).toMatchObject({ version: 4, port: second.port, status: 0 });
      expect(await agent.nextEvent("mapinfoRequest", undefined, 10_000)).toMatchObject({ port: second.port });
      expect(await agent.nextEvent("mapinfoResent", undefined, 10_000)).toMatchObject({
        records: 3,
        datagrams: 1,
        status: 0,
        port: second.port,
      });
      expect(await agent.nextEvent("mapinfoAck", undefined, 10_000)).toMatchObject({ sent: 3, acked: 3, port: second.port });
      expect(agent.drainEvents("mappingError")).toEqual([]);
      // The client registers again by itself with the names it last used.
      expect(await agent.nextEvent("resynced", (l) => l.port === second.port, 10_000)).toMatchObject({
        sent: 3,
        refused: 0,
        registered: true,
        port: second.port,
      });
      expect(await state(agent)).toMatchObject({ validPid: true, daemonPid: second.port, registration: "VALID" });
      // The new daemon holds the replayed mapped ports again.
      for (const m of kept) {
        expect(await tcpPortFree(ns, m.mappedLocal.address, m.mappedLocal.port)).toBe(false);
      }

      expect(await agent.call("registerPid", DEV)).toEqual({ registered: true, abiVersion: 4 });
      const after = await agent.call<Mapping>("addMapping", "127.0.0.1:7011");
      expect(after.mappedLocal.address).toBe("127.0.0.1");
      // The replayed mapping is known to the new daemon: adding it again is a duplicate.
      const dup = await expectFailure(agent.call("addMapping", kept[0]?.local));
      expect(dup.iwpmCode).toBe(12);
      expect(await state(agent)).toMatchObject({ validPid: true, daemonPid: second.port, registration: "VALID" });
    });
  });

  it("close() leaves nothing behind: the agent process exits by itself", { timeout: 30_000 }, async () => {
    const { agent } = await registeredAgent({ timeoutMs: 20_000 });
    await agent.call("addMapping", "127.0.0.1:7012");
    agent.proc.child.stdin?.end();
    expect(await settlesWithin(agent.proc.exited, 3000)).toBe(true);
    expect(await agent.proc.exited).toBe(0);
    expect(agent.proc.received().some((l) => l.closed === true)).toBe(true);
  });
});
