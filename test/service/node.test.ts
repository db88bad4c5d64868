import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { PortMapperClient } from "../../src/api/client.js";
import { openPortMapperClient } from "../../src/node.js";
import { openPortMapperService } from "../../src/service/node.js";
import type { PortMapperService, PortMapperServiceEvents } from "../../src/service/service.js";

// The service and the project's client in one process, over real NETLINK_USERSOCK sockets, with
// real TCP port reservations. Joining the port mappers' multicast group needs CAP_NET_ADMIN, so
// this runs as root only.

const root = process.getuid?.() === 0;
const base = 0x51000000 + (process.pid % 0x10000) * 16;
let serial = 0;
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

async function pair() {
  const n = serial++ * 2;
  const clientPort = base + n;
  const servicePort = base + n + 1;
  const udpPort = 20000 + ((process.pid * 7 + n) % 20000);
  const client = await openPortMapperClient({ port: clientPort, timeoutMs: 3000 });
  open.push(client);
  const settled = settledHandshake(client);
  const service = await openPortMapperService({ port: servicePort, clientPort, udpPort });
  open.push(service);
  await settled;
  return { client, service, clientPort, servicePort, udpPort };
}

/**
 * A starting service greets the client (HELLO, then a MAPINFO request), and each greeting makes
 * the client register again before its next mapping, as the kernel does; tests start after it.
 */
function settledHandshake(client: PortMapperClient): Promise<unknown> {
  return new Promise((resolve) => client.once("mapinfoRequest", resolve));
}

function next<K extends keyof PortMapperServiceEvents>(service: PortMapperService, event: K): Promise<PortMapperServiceEvents[K]> {
  return new Promise((resolve) => service.once(event, resolve));
}

/** Whether a TCP port can be listened on right now (on the dual-stack wildcard). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

async function registered(client: PortMapperClient) {
  const r = await client.registerPid({ devName: "siw0", ifName: "lo" });
  expect(r).toEqual({ registered: true, abiVersion: 4 });
}

describe.skipIf(!root)("PortMapperService with PortMapperClient over NETLINK_USERSOCK", () => {
  it("registers the client and maps IPv4 and IPv6 addresses on really reserved ports", async () => {
    const { client, service, servicePort } = await pair();
    await registered(client);
    expect(client.daemonPid()).toBe(servicePort);
    expect(service.clientRegistered(2)).toBe(true);
    const a = await client.addMapping("127.0.0.1:5555");
    expect(a.mappedLocal).toMatchObject({ family: "ipv4", address: "127.0.0.1" });
    expect(a.mappedLocal.port).not.toBe(5555);
    expect(await portFree(a.mappedLocal.port)).toBe(false);
    const b = await client.addMapping("[::1]:5555");
    expect(b.mappedLocal).toMatchObject({ family: "ipv6", address: "::1" });
    expect(await portFree(b.mappedLocal.port)).toBe(false);
    expect(service.mappings().map((m) => [m.local?.port, m.mapped?.port, m.portHeld])).toEqual([
      [5555, b.mappedLocal.port, true],
      [5555, a.mappedLocal.port, true],
    ]);
  });

  it("maps NO_PORT_MAP to itself, refuses a duplicate with 12, and frees the port on remove", async () => {
    const { client, service } = await pair();
    await registered(client);
    const same = await client.addMapping("127.0.0.1:6001", { noPortMap: true });
    expect(same.mappedLocal).toEqual({ family: "ipv4", address: "127.0.0.1", port: 6001 });
    expect(service.mappings()[0]?.portHeld).toBe(false);
    const a = await client.addMapping("127.0.0.1:6002");
    await expect(client.addMapping("127.0.0.1:6002")).rejects.toMatchObject({ code: "REJECTED", iwpmCode: 12 });
    const removed = next(service, "mappingRemoved");
    client.removeMapping("127.0.0.1:6002");
    expect(await removed).toMatchObject({ refcount: 0 });
    expect(await portFree(a.mappedLocal.port)).toBe(true);
    expect(service.mappings()).toHaveLength(1);
  });

  it("takes the client's mappings back after a restart, on the same mapped ports", async () => {
    const { client, service, clientPort, servicePort, udpPort } = await pair();
    await registered(client);
    const a = await client.addMapping("127.0.0.1:7001");
    client.createMapinfo(a.local, a.mappedLocal);
    await service.close();
    open.splice(open.indexOf(service), 1);
    expect(await portFree(a.mappedLocal.port)).toBe(true);
    const settled = settledHandshake(client);
    const again = await openPortMapperService({ port: servicePort + 0x100000, clientPort, udpPort });
    open.push(again);
    const count = await next(again, "mapinfoCount");
    await settled;
    expect(count).toMatchObject({ sent: 1, acked: 1 });
    expect(again.mappings().map((m) => [m.local?.port, m.mapped?.port])).toEqual([[7001, a.mappedLocal.port]]);
    expect(await portFree(a.mappedLocal.port)).toBe(false);
    // The client registers again before its next mapping and keeps working with the new instance.
    await registered(client);
    await expect(client.addMapping("127.0.0.1:7001")).rejects.toMatchObject({ iwpmCode: 12 });
  });

  it("leaves no open handle after close", async () => {
    const { service } = await pair();
    await service.close();
    open.splice(open.indexOf(service), 1);
    expect(service.isClosed).toBe(true);
  });
});
