// Our port mapper service against the real rdma-core iwpmd, across two network namespaces joined
// by a veth pair: on host A our service with our client, on host B iwpmd (under the preload
// library) with our client. A mapping query must complete in both directions with both mapped
// addresses, and the listening side must hear of the connecting peer through REMOTE_INFO.
// Root only; skipped where namespaces, ip, gcc or iwpmd are unavailable.

import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agent, ensureBuilt, randomClientPort, startAgent } from "../support/agent.js";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import {
  canUseNamespaces,
  createNamespace,
  type JsonLine,
  linkNamespaces,
  type Netns,
  type NsProcess,
  runInNamespace,
} from "../support/netns.js";

const SERVICE_AGENT = fileURLToPath(new URL("./fixtures/service-agent.mjs", import.meta.url));
const can = canUseNamespaces();
if (!can.ok) console.warn(`skipping service interop tests: ${can.reason}`);

interface Addr {
  family: string;
  address: string;
  port: number;
}

const A = { v4: "10.77.0.1", v6: "fd77::1" };
const B = { v4: "10.77.0.2", v6: "fd77::2" };

describe.skipIf(!can.ok)("our service and iwpmd as peers", () => {
  let nsA: Netns;
  let nsB: Netns;
  let service: NsProcess;
  let iwpmd: Iwpmd;
  let clientA: Agent;
  let clientB: Agent;

  beforeAll(async () => {
    ensureBuilt();
    nsA = await createNamespace("iwpm-svc-a");
    nsB = await createNamespace("iwpm-svc-b");
    await linkNamespaces(nsA, nsB, { v4: [`${A.v4}/24`, `${B.v4}/24`], v6: [`${A.v6}/64`, `${B.v6}/64`] });

    const portA = randomClientPort();
    clientA = await startAgent(nsA, portA);
    service = runInNamespace(nsA, SERVICE_AGENT, [JSON.stringify({ clientPort: portA })], { timeoutMs: 10_000 });
    await service.next((l) => l.ready === true);
    await clientA.nextEvent("mapinfoRequest", undefined, 10_000);

    const portB = randomClientPort();
    clientB = await startAgent(nsB, portB);
    iwpmd = await startIwpmd(nsB, { clientPort: portB });
    await clientB.nextEvent("mapinfoRequest", undefined, 10_000);

    for (const [agent, dev] of [
      [clientA, "siwA"],
      [clientB, "siwB"],
    ] as const) {
      expect(await agent.call("registerPid", { devName: dev, ifName: "lo" })).toMatchObject({ registered: true, abiVersion: 4 });
    }
  }, 60_000);

  afterAll(async () => {
    await clientA?.close();
    await clientB?.close();
    if (service) {
      await service.close();
      expect(await service.exited).toBe(0);
    }
    await iwpmd?.stop();
    await nsA?.destroy();
    await nsB?.destroy();
  });

  const addr = (l: JsonLine, key: string) => l[key] as Addr;

  for (const family of ["v4", "v6"] as const) {
    const at = (host: { v4: string; v6: string }, port: number) => (family === "v4" ? `${host.v4}:${port}` : `[${host.v6}]:${port}`);
    const ip = (host: { v4: string; v6: string }) => (family === "v4" ? host.v4 : host.v6);
    const base = family === "v4" ? 6000 : 8000;

    it(`IPv${family[1]}: our side connects to iwpmd's listener`, async () => {
      const listener = await clientB.call<{ mappedLocal: Addr }>("addMapping", at(B, base));
      const q = await clientA.call<{ mappedLocal: Addr; mappedRemote: Addr }>("addAndQueryMapping", at(A, base + 1), at(B, base));
      expect(q.mappedLocal).toMatchObject({ address: ip(A) });
      expect(q.mappedLocal.port).not.toBe(base + 1);
      expect(q.mappedRemote).toMatchObject({ address: ip(B), port: listener.mappedLocal.port });
      const info = await clientB.nextEvent("remoteInfo", (l) => addr(l, "local").port === base, 10_000);
      expect(addr(info, "remote")).toMatchObject({ address: ip(A), port: base + 1 });
      expect(addr(info, "mappedRemote")).toMatchObject({ address: ip(A), port: q.mappedLocal.port });
      expect(addr(info, "mappedLocal")).toMatchObject({ address: ip(B), port: listener.mappedLocal.port });
      const done = await service.next((l) => l.event === "queryDone" && addr(l, "local")?.port === base + 1);
      expect(done).toMatchObject({ status: 0 });
    });

    it(`IPv${family[1]}: iwpmd's side connects to our listener`, async () => {
      const listener = await clientA.call<{ mappedLocal: Addr }>("addMapping", at(A, base + 10));
      expect(listener.mappedLocal.port).not.toBe(base + 10);
      const q = await clientB.call<{ mappedLocal: Addr; mappedRemote: Addr }>("addAndQueryMapping", at(B, base + 11), at(A, base + 10));
      expect(q.mappedRemote).toMatchObject({ address: ip(A), port: listener.mappedLocal.port });
      const info = await clientA.nextEvent("remoteInfo", (l) => addr(l, "local").port === base + 10, 10_000);
      expect(addr(info, "remote")).toMatchObject({ address: ip(B), port: base + 11 });
      expect(addr(info, "mappedRemote")).toMatchObject({ address: ip(B), port: q.mappedLocal.port });
      expect(addr(info, "mappedLocal")).toMatchObject({ address: ip(A), port: listener.mappedLocal.port });
      const request = await service.next((l) => l.event === "peerRequest" && addr(l, "local")?.port === base + 10);
      expect(request).toMatchObject({ accepted: true, repeated: false });
    });

    it(`IPv${family[1]}: a query for an address nobody maps is rejected both ways`, async () => {
      await expect(clientA.call("addAndQueryMapping", at(A, base + 20), at(B, base + 21))).rejects.toMatchObject({
        code: "REMOTE_REJECTED",
      });
      await expect(clientB.call("addAndQueryMapping", at(B, base + 22), at(A, base + 23))).rejects.toMatchObject({
        code: "REMOTE_REJECTED",
      });
    });
  }
});
