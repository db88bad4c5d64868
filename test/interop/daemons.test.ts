// One client suite, run against both port mappers: the real iwpmd and the project's own service
// (`iwpm serve`). Each case gets a fresh namespace with one daemon and one client (the built
// package, in a process of its own).

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Agent, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { type Daemon, type DaemonKind, iwpmd, iwpmServe } from "../support/daemons.js";
import { canUseNamespaces, createNamespace, type Netns } from "../support/netns.js";

interface Addr {
  family: string;
  address: string;
  port: number;
}

const support = canUseNamespaces();
if (!support.ok) console.warn(`[interop/daemons] skipped: ${support.reason}`);

describe.skipIf(!support.ok).each([iwpmd, iwpmServe])("a client against $name", (kind: DaemonKind) => {
  const cleanup: (() => Promise<void>)[] = [];
  beforeAll(() => {
    ensureBuilt();
  });
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c().catch(() => {});
  });

  /** Client first, then the daemon: the start-up handshake is part of every case. */
  async function pair(): Promise<{ ns: Netns; agent: Agent; daemon: Daemon }> {
    const ns = await createNamespace("iwpm-pair");
    cleanup.push(() => ns.destroy());
    const port = randomClientPort();
    const agent = await startAgent(ns, port, { timeoutMs: 5000 });
    cleanup.push(() => agent.close());
    const daemon = await kind.start(ns, port);
    cleanup.push(() => daemon.stop());
    expect(await agent.nextEvent("daemonHello", undefined, 10_000)).toMatchObject({ version: 4, port: daemon.port });
    await agent.nextEvent("mapinfoRequest", undefined, 10_000);
    expect(await agent.call("registerPid", { devName: "siw0", ifName: "lo" })).toEqual({ registered: true, abiVersion: 4 });
    return { ns, agent, daemon };
  }

  it("maps IPv4 and IPv6 addresses to another port, and NO_PORT_MAP keeps the port", { timeout: 30_000 }, async () => {
    const { agent } = await pair();
    const v4 = await agent.call<{ mappedLocal: Addr }>("addMapping", "127.0.0.1:5000");
    expect(v4.mappedLocal).toMatchObject({ address: "127.0.0.1" });
    expect(v4.mappedLocal.port).not.toBe(5000);
    const v6 = await agent.call<{ mappedLocal: Addr }>("addMapping", "[::1]:5001");
    expect(v6.mappedLocal).toMatchObject({ address: "::1" });
    expect(v6.mappedLocal.port).not.toBe(5001);
    const kept = await agent.call<{ mappedLocal: Addr }>("addMapping", "127.0.0.1:5002", { noPortMap: true });
    expect(kept.mappedLocal).toMatchObject({ address: "127.0.0.1", port: 5002 });
  });

  it("rejects the same local address twice with IWPM_DUPLICATE_MAPPING_ERR, and maps it again after removal", {
    timeout: 30_000,
  }, async () => {
    const { agent } = await pair();
    await agent.call("addMapping", "127.0.0.1:5010");
    expect(await agent.attempt("addMapping", "127.0.0.1:5010")).toMatchObject({ ok: false, code: "REJECTED", iwpmCode: 12 });
    await agent.call("removeMapping", "127.0.0.1:5010");
    expect(await agent.attempt("addMapping", "127.0.0.1:5010")).toMatchObject({ ok: true });
  });

  it("queries its own listener: both mapped addresses and REMOTE_INFO, consumed once", { timeout: 30_000 }, async () => {
    const { agent } = await pair();
    const listen = await agent.call<{ mappedLocal: Addr }>("addMapping", "127.0.0.1:7000");
    const q = await agent.call<{ mappedLocal: Addr; mappedRemote: Addr }>("addAndQueryMapping", "127.0.0.1:6000", "127.0.0.1:7000");
    expect(q.mappedRemote).toMatchObject({ address: "127.0.0.1", port: listen.mappedLocal.port });
    const info = await agent.nextEvent("remoteInfo", undefined, 10_000);
    expect(info).toMatchObject({ remote: { port: 6000 }, mappedRemote: { port: q.mappedLocal.port } });
    expect(await agent.call("getRemoteInfo", listen.mappedLocal, q.mappedLocal)).toMatchObject({ address: "127.0.0.1", port: 6000 });
    expect(await agent.call("getRemoteInfo", listen.mappedLocal, q.mappedLocal)).toBeNull();
  });

  it("a query for an address nobody listens on is rejected", { timeout: 30_000 }, async () => {
    const { agent } = await pair();
    expect(await agent.attempt("addAndQueryMapping", "127.0.0.1:6001", "127.0.0.1:7999")).toMatchObject({
      ok: false,
      code: "REMOTE_REJECTED",
    });
  });

  it("after a daemon restart the client resends its mapinfo and maps again", { timeout: 45_000 }, async () => {
    const { ns, agent, daemon } = await pair();
    const m = await agent.call<{ mappedLocal: Addr }>("addMapping", "127.0.0.1:5020");
    await agent.call("createMapinfo", "127.0.0.1:5020", m.mappedLocal);
    await daemon.stop();
    const again = await kind.start(ns, agent.port);
    cleanup.push(() => again.stop());
    await agent.nextEvent("daemonHello", (e) => e.port === again.port, 10_000);
    expect(await agent.nextEvent("mapinfoResent", undefined, 10_000)).toMatchObject({ records: 1, status: 0 });
    expect(await agent.nextEvent("mapinfoAck", undefined, 10_000)).toMatchObject({ sent: 1, acked: 1 });
    expect(await agent.call("registerPid", { devName: "siw0", ifName: "lo" })).toEqual({ registered: true, abiVersion: 4 });
    // The replayed record holds its port again: the same address is a duplicate for the new daemon.
    expect(await agent.attempt("addMapping", "127.0.0.1:5020")).toMatchObject({ ok: false, iwpmCode: 12 });
    expect(await agent.attempt("addMapping", "127.0.0.1:5021")).toMatchObject({ ok: true });
  });
});
