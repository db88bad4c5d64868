// Two hosts: two network namespaces joined by a veth pair, an iwpmd and a PortMapperClient in
// each. B listens (addMapping), A connects (addAndQueryMapping): the two iwpmds agree over UDP
// 3935, A learns both mapped addresses and B's client is told who is coming (REMOTE_INFO), once.

import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Agent, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import { canUseNamespaces, createNamespace, linkNamespaces, type Netns } from "../support/netns.js";

interface Addr {
  family: "ipv4" | "ipv6";
  address: string;
  port: number;
}

const namespaces: Netns[] = [];
const daemons: Iwpmd[] = [];
const agents: Agent[] = [];

async function host(name: string): Promise<{ ns: Netns; agent: Agent; daemon: Iwpmd }> {
  const ns = await createNamespace(`iwpm-${name}`);
  namespaces.push(ns);
  const port = randomClientPort();
  const daemon = await startIwpmd(ns, { clientPort: port });
  daemons.push(daemon);
  const agent = await startAgent(ns, port, { timeoutMs: 15_000 });
  agents.push(agent);
  return { ns, agent, daemon };
}

const support = canUseNamespaces();
if (!support.ok) console.warn(`[interop/two-hosts] skipped: ${support.reason}`);

describe.skipIf(!support.ok)("two hosts, an iwpmd on each", () => {
  beforeAll(() => {
    ensureBuilt();
  });

  afterEach(async () => {
    await Promise.allSettled(agents.splice(0).map((a) => a.close()));
    await Promise.allSettled(daemons.splice(0).map((d) => d.stop()));
    await Promise.allSettled(namespaces.splice(0).map((n) => n.destroy()));
  });

  it.each([
    ["IPv4", "10.77.0.1", "10.77.0.2"],
    ["IPv6", "fd77::1", "fd77::2"],
  ] as const)("%s: A queries B's listener; B gets REMOTE_INFO and consumes it once", { timeout: 60_000 }, async (_family, ipA, ipB) => {
    const a = await host("a");
    const b = await host("b");
    await linkNamespaces(a.ns, b.ns);
    const dev = { devName: "siw0", ifName: "lo" };
    await a.agent.call("registerPid", dev);
    await b.agent.call("registerPid", dev);

    const listen = await b.agent.call<{ local: Addr; mappedLocal: Addr }>("addMapping", { address: ipB, port: 7000 });
    expect(listen.mappedLocal.address).toBe(ipB);
    expect(listen.mappedLocal.port).not.toBe(7000);

    const connect = await a.agent.call<{ mappedLocal: Addr; mappedRemote: Addr }>(
      "addAndQueryMapping",
      { address: ipA, port: 6000 },
      { address: ipB, port: 7000 },
    );
    expect(connect.mappedLocal.address).toBe(ipA);
    expect(connect.mappedLocal.port).not.toBe(6000);
    expect(connect.mappedRemote).toMatchObject({ address: ipB, port: listen.mappedLocal.port });

    const info = await b.agent.nextEvent("remoteInfo", undefined, 15_000);
    expect(info).toMatchObject({
      nlClient: 2,
      local: { address: ipB, port: 7000 },
      remote: { address: ipA, port: 6000 },
      mappedLocal: { port: listen.mappedLocal.port },
      mappedRemote: { address: ipA, port: connect.mappedLocal.port },
    });
    const remote = await b.agent.call<Addr | null>("getRemoteInfo", listen.mappedLocal, connect.mappedLocal);
    expect(remote).toMatchObject({ address: ipA, port: 6000 });
    expect(await b.agent.call("getRemoteInfo", listen.mappedLocal, connect.mappedLocal)).toBeNull();
    // A is the connecting side: nobody told it of a connection.
    expect(a.agent.drainEvents("remoteInfo")).toEqual([]);
  });

  it("a query for an address nobody listens on is rejected by the peer", { timeout: 60_000 }, async () => {
    const a = await host("a");
    const b = await host("b");
    await linkNamespaces(a.ns, b.ns);
    await a.agent.call("registerPid", { devName: "siw0", ifName: "lo" });
    const r = await a.agent.attempt("addAndQueryMapping", { address: "10.77.0.1", port: 6001 }, { address: "10.77.0.2", port: 7999 });
    expect(r).toMatchObject({ ok: false, code: "REMOTE_REJECTED", status: 16 });
  });
});
