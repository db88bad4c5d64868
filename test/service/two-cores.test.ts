import { describe, expect, it } from "vitest";
import { instantiateCore } from "../../src/core/core.js";
import { IwpmError } from "../../src/core/errors.js";
import { createShim, type Datagram, type DatagramSocket, SocketMap } from "../../src/host/shim.js";
import { type AnyEvent, readAnyEvent } from "../../src/service/events.js";
import { instantiateDaemonCore } from "../../src/service/exports.js";
import { coreModule, daemonTestCoreModule, FakeClock } from "../support/core.js";
import { FakePorts } from "./harness.js";

// The client core and the daemon core in one process: each instance keeps its own memory, event
// queue and clock, and their messages cross through a loopback of two fake sockets.

const CLIENT_PORT = 5000;
const SERVICE_PORT = 6000;

class Loop implements DatagramSocket {
  peer: Loop | undefined;
  readonly inbox: Datagram[] = [];
  constructor(readonly port: number) {}
  sendTo(bytes: Uint8Array, port: number, groups: number): number {
    const to = this.peer as Loop;
    if (port !== to.port && groups === 0) return 14; // ECONNREFUSED: nobody bound there
    to.inbox.push({ bytes, port: this.port, groups: 0, creds: { pid: 1, uid: 0, gid: 0 } });
    return 0;
  }
  recvFrom(): Datagram | null {
    return this.inbox.shift() ?? null;
  }
}

describe("the client core and the daemon core in one process", () => {
  it("register and map through each other without sharing state", async () => {
    const client = new Loop(CLIENT_PORT);
    const service = new Loop(SERVICE_PORT);
    client.peer = service;
    service.peer = client;
    const ports = new FakePorts();
    const shim = (fd: number, socket: Loop) =>
      createShim({ sockets: new SocketMap([[fd, socket]]), ports, clock: new FakeClock(), random: (b) => b.fill(1), log: () => {} });
    const core = await instantiateCore(coreModule(), shim(3, client));
    const daemon = await instantiateDaemonCore(daemonTestCoreModule(), shim(4, service));
    const x = core.exports;
    const d = daemon.exports;
    x.setSocket(3);
    x.setPort(CLIENT_PORT);
    x.init(2);
    d.serviceConfigure(4, SERVICE_PORT, CLIENT_PORT);
    const events: AnyEvent[] = [];
    const drain = (view: DataView, q: { eventsPtr(): number; eventCount(): number; eventSize(): number; eventsClear(): void }) => {
      for (let i = 0; i < q.eventCount(); i++) events.push(readAnyEvent(view, q.eventsPtr() + i * q.eventSize()));
      q.eventsClear();
    };
    const run = () => {
      for (let i = 0; i < 8; i++) {
        d.servicePoll();
        x.poll();
      }
      drain(core.view(), x);
      drain(daemon.view(), d);
    };
    expect(d.serviceStart()).toBe(0);
    run();
    expect(core.daemonPid()).toBe(SERVICE_PORT);
    core.writeNames("siw0", "lo");
    const reg = x.registerPid(2);
    expect(reg).toBeGreaterThan(0);
    run();
    expect(x.registration(2)).toBe(2);
    core.writeAddr(0, { family: "ipv4", address: "127.0.0.1", port: 5555 });
    const seq = x.addMapping(2, 0);
    run();
    const done = events.find((e) => e.kind === "requestDone" && e.seq === seq);
    expect(done).toMatchObject({ status: 0, mappedLocal: { address: "127.0.0.1", port: 40000 } });
    expect(events.map((e) => e.kind)).toEqual(
      expect.arrayContaining(["daemonHello", "hello", "clientRegistered", "mappingAdded", "requestDone"]),
    );
    expect(d.serviceMappingCount()).toBe(1);
    expect(x.mapinfoSize()).toBe(0);
  });

  it("each host refuses the other role's core, naming the file it needs", async () => {
    const shim = () => createShim({ sockets: new SocketMap(), log: () => {} });
    const asDaemon = instantiateDaemonCore(coreModule(), shim());
    await expect(asDaemon).rejects.toThrow(IwpmError);
    await expect(asDaemon).rejects.toMatchObject({ code: "ABI_MISMATCH", message: expect.stringContaining("iwpmd.wasm") });
    const asClient = instantiateCore(daemonTestCoreModule(), shim());
    await expect(asClient).rejects.toMatchObject({ code: "ABI_MISMATCH", message: expect.stringContaining("load iwpm.wasm") });
  });
});
