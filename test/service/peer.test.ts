import { describe, expect, it } from "vitest";
import type { SockAddr } from "../../src/core/sockaddr.js";
import { readSockaddr } from "../../src/core/sockaddr.js";
import { type AnyEvent, readAnyEvent } from "../../src/service/events.js";
import { fromHex, hex, parseDatagram, u16, u32 } from "../support/nl.js";
import { loadService, peer4, type ServiceHarness, UDP } from "./harness.js";
import { addMapping, queryMapping, regPid, removeMapping } from "./messages.js";
import { answer, MT, readWire, wire } from "./wire.js";

// The peer protocol on UDP (reference §5.4, §5.5): what goes on the wire,
// retransmission on ticks, and the netlink messages each answer produces.

const NOTIFY = 777;
const v4 = (address: string, port: number): SockAddr => ({ family: "ipv4", address, port });

async function registered(): Promise<ServiceHarness> {
  const h = await loadService({ port: 1234, clientPort: NOTIFY });
  h.core.exports.serviceStart();
  h.feed(regPid(1, "siw0"));
  h.nl.take();
  drain(h);
  return h;
}

function drain(h: ServiceHarness): AnyEvent[] {
  const x = h.core.exports;
  const out: AnyEvent[] = [];
  for (let i = 0; i < x.eventCount(); i++) out.push(readAnyEvent(h.core.view(), x.eventsPtr() + i * x.eventSize()));
  x.eventsClear();
  return out;
}

const addr = (b: Uint8Array | undefined) => readSockaddr(new DataView((b as Uint8Array).slice().buffer), 0);

function tick(h: ServiceHarness): number {
  h.clock.advance(1000);
  return h.core.exports.serviceTick();
}

/** A QUERY from 10.0.0.1:5555 to 10.0.0.2:6000 with mapped port 40000 and the reference's assochandle. */
async function querying(configure?: (h: ServiceHarness) => void) {
  const h = await registered();
  configure?.(h);
  h.core.exports.serviceSetAssocHandle(0x5566, 0x77889900);
  h.feed(queryMapping(300, v4("10.0.0.1", 5555), v4("10.0.0.2", 6000)));
  const [request] = h.udpSent.splice(0);
  return { h, request: request as NonNullable<typeof request> };
}

describe("active side", () => {
  it("sends the reference's wire REQUEST byte for byte from the ephemeral IPv4 socket to port 3935", async () => {
    const { h, request } = await querying();
    expect(hex(request.bytes)).toBe(
      hex(
        fromHex(`04 00 9c 40 17 70 15 b3 00 00 55 66 77 88 99 00
                 0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
                 0a 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00
                 0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00`),
      ),
    );
    expect(request.fd).toBe(UDP.v4client);
    expect(request.to).toEqual(peer4("10.0.0.2", 3935));
    expect(h.nl.sent).toHaveLength(0);
  });

  /** The REQUEST goes out on each of `resends` ticks; the next tick answers the QUERY with a rejection. */
  async function unanswered(resends: number, configure?: (h: ServiceHarness) => void) {
    const { h, request } = await querying(configure);
    const x = h.core.exports;
    expect(x.serviceNextTimeoutMs()).toBe(1000);
    for (let t = 1; t <= resends; t++) {
      expect(tick(h)).toBe(1);
      expect(
        h.udpSent.splice(0).map((s) => hex(s.bytes)),
        `tick ${t}`,
      ).toEqual([hex(request.bytes)]);
      expect(h.nl.sent, `tick ${t}`).toHaveLength(0);
    }
    drain(h);
    expect(tick(h)).toBe(1);
    expect(h.udpSent).toHaveLength(0);
    expect(x.serviceExchangeCount()).toBe(0);
    expect(x.serviceNextTimeoutMs()).toBe(-1);
    const [reply, ...more] = h.nl.take().flatMap((d) => parseDatagram(d.bytes).map((m) => ({ ...m, to: d.port })));
    expect(more).toHaveLength(0);
    // The QUERY reply a peer's REJECT would bring: error 16, the remote unmapped.
    expect(reply).toMatchObject({ type: 0x802, to: 4321 });
    expect(u32(reply?.attrs.get(1))).toBe(300);
    expect(addr(reply?.attrs.get(4))).toEqual(v4("10.0.0.1", 40000));
    expect(addr(reply?.attrs.get(5))).toEqual(v4("10.0.0.2", 6000));
    expect(u16(reply?.attrs.get(6))).toBe(16);
    expect(drain(h)).toEqual([expect.objectContaining({ kind: "queryDone", status: 16, seq: 300, port: 4321 })]);
    expect(x.serviceDropCount(11)).toBe(1);
  }

  it("re-sends the REQUEST on 4 ticks, then answers the QUERY with IWPM_REMOTE_QUERY_REJECT (default schedule)", async () => {
    await unanswered(4);
  });

  it("keeps iwpmd's 10-tick schedule when told to, and still answers at its end", async () => {
    await unanswered(9, (h) => h.core.exports.serviceSetQueryTicks(10));
  });

  it("answers nothing for a query whose mapping the client removed meanwhile", async () => {
    const { h } = await querying();
    h.feed(removeMapping(301, v4("10.0.0.1", 5555)));
    h.nl.take();
    for (let t = 1; t <= 5; t++) tick(h);
    expect(h.nl.take()).toHaveLength(0);
    expect(h.core.exports.serviceExchangeCount()).toBe(0);
  });

  it("answers the QUERY once on ACCEPT with the peer's mapped address, and ACKs every ACCEPT", async () => {
    const { h, request } = await querying();
    const accept = answer(request.bytes, MT.accept, 41000, new Uint8Array([10, 0, 0, 2]));
    h.peer("v4client", accept, peer4("10.0.0.2"));
    const [reply, ...more] = h.nl.take().flatMap((d) => parseDatagram(d.bytes).map((m) => ({ ...m, to: d.port })));
    expect(more).toHaveLength(0);
    expect(reply).toMatchObject({ type: 0x802, to: 4321 });
    expect(u32(reply?.attrs.get(1))).toBe(300);
    expect(addr(reply?.attrs.get(2))).toEqual(v4("10.0.0.1", 5555));
    expect(addr(reply?.attrs.get(3))).toEqual(v4("10.0.0.2", 6000));
    expect(addr(reply?.attrs.get(4))).toEqual(v4("10.0.0.1", 40000));
    expect(addr(reply?.attrs.get(5))).toEqual(v4("10.0.0.2", 41000));
    expect(u16(reply?.attrs.get(6))).toBe(0);
    const [ack] = h.udpSent.splice(0);
    expect(ack?.fd).toBe(UDP.v4client);
    expect(hex(ack?.bytes as Uint8Array)).toBe(hex(answer(accept, MT.ack)));
    // The ACK was lost: the peer re-sends its ACCEPT and gets another ACK, not another reply.
    h.peer("v4client", accept, peer4("10.0.0.2"));
    expect(h.nl.sent).toHaveLength(0);
    expect(h.udpSent.splice(0).map((s) => readWire(s.bytes).type)).toEqual([MT.ack]);
    // No more REQUEST retransmissions once answered.
    tick(h);
    expect(h.udpSent).toHaveLength(0);
  });

  it("answers a REJECT with error 16 and the remote unmapped, once", async () => {
    const { h, request } = await querying();
    const reject = answer(request.bytes, MT.reject);
    h.peer("v4client", reject, peer4("10.0.0.2"));
    const [reply] = h.nl.take().flatMap((d) => parseDatagram(d.bytes));
    expect(u16(reply?.attrs.get(6))).toBe(16);
    expect(addr(reply?.attrs.get(5))).toEqual(v4("10.0.0.2", 6000));
    h.peer("v4client", reject, peer4("10.0.0.2"));
    expect(h.nl.sent).toHaveLength(0);
    expect(h.udpSent).toHaveLength(0);
  });

  it("drops messages of other lengths and IP versions, and reads a 64-byte ACCEPT", async () => {
    const { h, request } = await querying();
    const accept = answer(request.bytes, MT.accept, 41000);
    h.peer("v4client", accept.slice(0, 40), peer4("10.0.0.2"));
    const badVersion = accept.slice();
    badVersion[0] = 0x15;
    h.peer("v4client", badVersion, peer4("10.0.0.2"));
    expect(h.nl.sent).toHaveLength(0);
    const long = new Uint8Array(64);
    long.set(accept);
    h.peer("v4client", long, peer4("10.0.0.2"));
    expect(h.nl.take()).toHaveLength(1);
  });
});

describe("passive side", () => {
  const request = (assoc = 0x99n) =>
    wire({
      type: MT.request,
      ipVer: 4,
      apport: 6000,
      cpport: 5555,
      assoc,
      cpip: "10.0.0.1",
      apip: "10.0.0.2",
      mappedCpport: 40000,
      mappedCpip: "10.0.0.1",
    });

  it("rejects a REQUEST for an address nobody listens at, echoing it as 48 bytes", async () => {
    const h = await registered();
    h.peer("v4", request(), peer4("10.0.0.1", 50000));
    const [reject] = h.udpSent.splice(0);
    expect(reject?.fd).toBe(UDP.v4);
    expect(reject?.to).toEqual(peer4("10.0.0.1", 50000));
    expect(hex(reject?.bytes as Uint8Array)).toBe(hex(answer(request(), MT.reject)));
    expect(h.nl.sent).toHaveLength(0);
  });

  it("accepts with the mapped address, tells its client with REMOTE_INFO, ignores a repeat, re-sends until ACKed", async () => {
    const h = await registered();
    h.feed(addMapping(10, v4("10.0.0.2", 6000)));
    h.nl.take();
    h.peer("v4", request(), peer4("10.0.0.1", 50000));
    const [accept] = h.udpSent.splice(0);
    expect(readWire(accept?.bytes as Uint8Array)).toMatchObject({ type: MT.accept, apport: 40000, cpport: 5555, assoc: 0x99n, length: 48 });
    expect(Array.from((accept?.bytes ?? new Uint8Array(48)).subarray(32, 36))).toEqual([10, 0, 0, 2]);
    const [info] = h.nl.take().flatMap((d) => parseDatagram(d.bytes).map((m) => ({ ...m, to: d.port })));
    expect(info).toMatchObject({ type: 0x804, to: NOTIFY, pid: 1234 });
    expect(u32(info?.attrs.get(1))).toBe(0);
    expect(addr(info?.attrs.get(2))).toEqual(v4("10.0.0.2", 6000));
    expect(addr(info?.attrs.get(3))).toEqual(v4("10.0.0.1", 5555));
    expect(addr(info?.attrs.get(4))).toEqual(v4("10.0.0.2", 40000));
    expect(addr(info?.attrs.get(5))).toEqual(v4("10.0.0.1", 40000));
    h.peer("v4", request(), peer4("10.0.0.1", 50000));
    expect(h.udpSent).toHaveLength(0);
    expect(h.nl.sent).toHaveLength(0);
    expect(tick(h)).toBe(1);
    expect(h.udpSent.splice(0).map((s) => hex(s.bytes))).toEqual([hex(accept?.bytes as Uint8Array)]);
    h.peer("v4", answer(accept?.bytes as Uint8Array, MT.ack), peer4("10.0.0.1", 50000));
    tick(h);
    tick(h);
    expect(h.udpSent).toHaveLength(0);
    expect(h.core.exports.serviceExchangeCount()).toBe(0);
  });

  it("keeps the requested address and gives the mapped port for a wildcard listener", async () => {
    const h = await registered();
    h.feed(addMapping(10, v4("0.0.0.0", 6000)));
    h.nl.take();
    h.peer("v4", request(), peer4("10.0.0.1", 50000));
    const [accept] = h.udpSent.splice(0);
    expect(readWire(accept?.bytes as Uint8Array).apport).toBe(40000);
    expect(Array.from((accept?.bytes ?? new Uint8Array(48)).subarray(32, 36))).toEqual([10, 0, 0, 2]);
    const [info] = h.nl.take().flatMap((d) => parseDatagram(d.bytes));
    expect(addr(info?.attrs.get(4))).toEqual(v4("0.0.0.0", 40000));
  });
});
