import { describe, expect, it } from "vitest";
import type { SockAddr } from "../../src/core/sockaddr.js";
import { readSockaddr } from "../../src/core/sockaddr.js";
import { type AnyEvent, readAnyEvent } from "../../src/service/events.js";
import {
  attrAddr,
  attrFixedStr,
  attrRaw,
  attrU16,
  attrU32,
  concat,
  NLMSG_DONE,
  NLMSG_ERROR,
  nlmsg,
  parseDatagram,
  rdma,
  str,
  u16,
  u32,
} from "../support/nl.js";
import { loadService, type ServiceHarness } from "./harness.js";
import { addMapping, mapinfo, queryMapping, regPid } from "./messages.js";

// The daemon side of the service, message by message (reference §5.2, §5.3,
// §4.8-4.9), against iwpmd's behaviour.

const NOTIFY = 777;
const v4 = (address: string, port: number): SockAddr => ({ family: "ipv4", address, port });
const v6 = (address: string, port: number): SockAddr => ({ family: "ipv6", address, port });

async function service(): Promise<ServiceHarness> {
  const h = await loadService({ port: 1234, clientPort: NOTIFY });
  h.core.exports.serviceStart();
  h.nl.take();
  return h;
}
async function registered(): Promise<ServiceHarness> {
  const h = await service();
  h.feed(regPid(1, "siw0"));
  h.nl.take();
  drain(h);
  return h;
}

function drain(h: ServiceHarness): AnyEvent[] {
  const x = h.core.exports;
  const out: AnyEvent[] = [];
  const view = h.core.view();
  for (let i = 0; i < x.eventCount(); i++) out.push(readAnyEvent(view, x.eventsPtr() + i * x.eventSize()));
  x.eventsClear();
  return out;
}

function sentMessages(h: ServiceHarness) {
  return h.nl.take().flatMap((d) => parseDatagram(d.bytes).map((m) => ({ ...m, to: d.port })));
}

function handleErr(h: ServiceHarness) {
  const [m, ...rest] = sentMessages(h);
  expect(rest).toHaveLength(0);
  expect(m?.op).toBe(5);
  expect(m?.to).toBe(NOTIFY);
  return { seq: u32(m?.attrs.get(1)), code: u16(m?.attrs.get(2)), client: m?.client };
}

function mappings(h: ServiceHarness) {
  const x = h.core.exports;
  const out: { local: SockAddr | null; mapped: SockAddr | null; owner: number; refs: number; wildcard: boolean; handle: number }[] = [];
  for (let i = x.serviceMappingFirst(); i !== 0; i = x.serviceMappingNext(i)) {
    x.serviceMappingRead(i);
    const view = h.core.view();
    const at = x.serviceOutPtr();
    out.push({
      local: readSockaddr(view, at),
      mapped: readSockaddr(view, at + 128),
      owner: view.getUint32(at + 256, true),
      refs: view.getUint32(at + 260, true),
      wildcard: view.getUint32(at + 264, true) === 1,
      handle: view.getUint32(at + 272, true),
    });
  }
  expect(x.serviceMappingVerify()).toBe(0);
  return out;
}

describe("start-up and version", () => {
  it("sends HELLO{4} with seq 0 to the notified port, then a MAPINFO request once answered", async () => {
    const h = await loadService({ port: 1234, clientPort: NOTIFY });
    expect(h.core.exports.serviceStart()).toBe(0);
    const [hello] = sentMessages(h);
    expect(hello).toMatchObject({ type: 0x808, seq: 0, pid: 1234, to: NOTIFY });
    expect(u16(hello?.attrs.get(1))).toBe(4);
    h.feed(nlmsg({ type: 0x808, seq: 5, pid: 4321 }, [attrU16(1, 4)]));
    const [req] = sentMessages(h);
    expect(req).toMatchObject({ type: 0x806, seq: 1, to: NOTIFY });
    expect(str(req?.attrs.get(1))).toBe("iWarpPortMapperUser");
    expect(u16(req?.attrs.get(2))).toBe(4);
    expect(drain(h)).toEqual([expect.objectContaining({ kind: "hello", version: 4, offered: 4, fallback: false })]);
  });

  it("falls back to v3 on an NLMSG_ERROR with seq 0 and asks indexes 2 and 3; other errors are ignored", async () => {
    const h = await service();
    h.feed(nlmsg({ type: NLMSG_ERROR, flags: 0, seq: 7, pid: 0 }, [attrU32(0, 0)]));
    expect(h.nl.sent).toHaveLength(0);
    h.feed(nlmsg({ type: NLMSG_ERROR, flags: 0, seq: 0, pid: 0 }, [attrU32(0, 0)]));
    const sent = sentMessages(h);
    expect(sent.map((m) => [m.type, m.seq, u16(m.attrs.get(2))])).toEqual([
      [0x806, 1, 3],
      [0xc06, 0, 3],
    ]);
    expect(h.core.exports.serviceVersion()).toBe(3);
  });

  it("refuses a HELLO above version 4 with HANDLE_ERR(17) naming its seq", async () => {
    const h = await service();
    h.feed(nlmsg({ type: 0x808, seq: 42, pid: 4321 }, [attrU16(1, 5)]));
    expect(handleErr(h)).toEqual({ seq: 42, code: 17, client: 2 });
    expect(h.core.exports.serviceVersion()).toBe(4);
  });
});

describe("registration", () => {
  it("answers REG_PID to the request's pid with its device name, and checks the library name afterwards", async () => {
    const h = await service();
    h.feed(regPid(100, "siw0"));
    const [reply] = sentMessages(h);
    expect(reply).toMatchObject({ type: 0x800, to: 4321, pid: 1234, seq: 1 });
    expect(u32(reply?.attrs.get(1))).toBe(100);
    expect(str(reply?.attrs.get(2))).toBe("siw0");
    expect(u16(reply?.attrs.get(4))).toBe(4);
    expect(drain(h)).toEqual([expect.objectContaining({ kind: "clientRegistered", nlClient: 2, first: true, port: 4321 })]);
    const other = nlmsg({ type: 0x800, seq: 101, pid: 4321 }, [
      attrU32(1, 0),
      attrFixedStr(2, "lo", 16),
      attrFixedStr(3, "siw0", 32),
      attrFixedStr(4, "SomethingElse", 32),
    ]);
    h.feed(other);
    expect(handleErr(h)).toEqual({ seq: 101, code: 15, client: 2 });
  });

  it("answers an invalid REG_PID with HANDLE_ERR(10): missing attribute, unterminated string", async () => {
    const h = await service();
    h.feed(
      nlmsg({ type: 0x800, seq: 9, pid: 4321 }, [attrU32(1, 0), attrFixedStr(3, "siw0", 32), attrFixedStr(4, "iWarpPortMapperUser", 32)]),
    );
    expect(handleErr(h).code).toBe(10);
    const unterminated = new Uint8Array(16).fill(0x41);
    h.feed(
      nlmsg({ type: 0x800, seq: 10, pid: 4321 }, [
        attrU32(1, 0),
        attrRaw(2, unterminated),
        attrFixedStr(3, "siw0", 32),
        attrFixedStr(4, "iWarpPortMapperUser", 32),
      ]),
    );
    expect(handleErr(h)).toMatchObject({ seq: 10, code: 10 });
    expect(h.core.exports.serviceClientValid(2)).toBe(0);
  });

  it("keeps a header seq counter per client index (index 0 always 0)", async () => {
    const h = await service();
    h.feed(concat(regPid(1, "a0", 3), regPid(2, "a0", 3), regPid(3, "a0", 0), regPid(4, "a0", 2)));
    expect(sentMessages(h).map((m) => [m.client, m.seq])).toEqual([
      [3, 0],
      [3, 1],
      [0, 0],
      [2, 1],
    ]);
  });
});

describe("mappings", () => {
  it("drops ADD and QUERY from an index that never registered, and the rest of that datagram", async () => {
    const h = await service();
    h.feed(concat(addMapping(5, v4("10.0.0.1", 5555)), regPid(6, "siw0")));
    expect(h.nl.sent).toHaveLength(0);
    expect(drain(h)).toEqual([expect.objectContaining({ kind: "requestFailed", status: 124, errorSent: false })]);
    expect(h.ports.open.size).toBe(0);
  });

  it("adds IPv4 and IPv6 mappings on really reserved ports; NO_PORT_MAP maps to itself without a port", async () => {
    const h = await registered();
    h.feed(addMapping(10, v4("10.0.0.1", 5555)));
    h.feed(addMapping(11, v6("fd00::1", 5555)));
    h.feed(addMapping(12, v4("10.0.0.1", 6000), 1));
    const replies = sentMessages(h);
    expect(replies.map((m) => [m.op, u32(m.attrs.get(1)), m.to])).toEqual([
      [1, 10, 4321],
      [1, 11, 4321],
      [1, 12, 4321],
    ]);
    const mapped = (i: number) => readSockaddr(new DataView((replies[i]?.attrs.get(3) ?? new Uint8Array(128)).slice().buffer), 0);
    expect(mapped(0)).toEqual(v4("10.0.0.1", 40000));
    expect(mapped(1)).toEqual(v6("fd00::1", 40001));
    expect(mapped(2)).toEqual(v4("10.0.0.1", 6000));
    expect([...h.ports.open.values()]).toEqual([
      { family: 2, port: 40000 },
      { family: 10, port: 40001 },
    ]);
    expect(mappings(h).map((m) => m.local?.port)).toEqual([6000, 5555, 5555]);
  });

  it("refuses a duplicate with 12, shares an exact wildcard, and refuses a specific address under a wildcard", async () => {
    const h = await registered();
    h.feed(addMapping(10, v4("10.0.0.1", 5555)));
    h.nl.take();
    h.feed(addMapping(11, v4("10.0.0.1", 5555)));
    expect(handleErr(h)).toMatchObject({ seq: 11, code: 12 });
    h.feed(addMapping(12, v4("0.0.0.0", 7000)));
    h.feed(addMapping(13, v4("0.0.0.0", 7000)));
    expect(sentMessages(h).map((m) => m.op)).toEqual([1, 1]);
    expect(mappings(h)[0]).toMatchObject({ refs: 2, wildcard: true });
    h.feed(addMapping(14, v4("10.0.0.9", 7000)));
    expect(handleErr(h)).toMatchObject({ seq: 14, code: 12 });
    // The wildcard rule ignores families, as iwpmd's does.
    h.feed(addMapping(15, v6("fd00::1", 7000)));
    expect(handleErr(h)).toMatchObject({ seq: 15, code: 12 });
  });

  it("answers a failed port reservation with 11 and a v4 ADD without FLAGS with 10", async () => {
    const h = await registered();
    h.ports.fail = 3;
    h.feed(addMapping(10, v4("10.0.0.1", 5555)));
    expect(handleErr(h)).toMatchObject({ seq: 10, code: 11 });
    h.ports.fail = 0;
    h.feed(nlmsg({ type: rdma(2, 1), seq: 11, pid: 4321 }, [attrU32(1, 0), attrAddr(2, v4("10.0.0.1", 5555))]));
    expect(handleErr(h)).toMatchObject({ seq: 11, code: 10 });
    expect(mappings(h)).toHaveLength(0);
  });

  it("in v3 takes ADD without FLAGS and ignores FLAGS when present", async () => {
    const h = await registered();
    h.feed(nlmsg({ type: NLMSG_ERROR, flags: 0, seq: 0, pid: 0 }, [attrU32(0, 0)]));
    h.nl.take();
    h.feed(nlmsg({ type: rdma(2, 1), seq: 11, pid: 4321 }, [attrU32(1, 0), attrAddr(2, v4("10.0.0.1", 5555))]));
    h.feed(addMapping(12, v4("10.0.0.1", 5556), 1));
    expect(sentMessages(h).map((m) => m.op)).toEqual([1, 1]);
    expect(h.ports.open.size).toBe(2);
  });

  it("refuses a QUERY that resolves to a wildcard with 11 and leaves no new mapping behind", async () => {
    const h = await registered();
    h.feed(queryMapping(20, v4("0.0.0.0", 5555), v4("10.0.0.2", 6000)));
    expect(handleErr(h)).toMatchObject({ seq: 20, code: 11 });
    expect(mappings(h)).toHaveLength(0);
    expect(h.ports.open.size).toBe(0);
    h.feed(addMapping(21, v4("0.0.0.0", 5555)));
    h.nl.take();
    h.feed(queryMapping(22, v4("10.0.0.1", 5555), v4("10.0.0.2", 6000)));
    expect(handleErr(h)).toMatchObject({ seq: 22, code: 11 });
    expect(mappings(h)[0]?.refs).toBe(1);
  });

  it("removes by exact local address, only for the owner, releasing the port at refcount 0", async () => {
    const h = await registered();
    h.feed(regPid(2, "siw1", 3));
    h.feed(addMapping(10, v4("0.0.0.0", 5555)));
    h.feed(addMapping(11, v4("0.0.0.0", 5555)));
    h.nl.take();
    const remove = (seq: number, a: SockAddr, client = 2) =>
      nlmsg({ type: rdma(client, 3), seq, pid: 4321 }, [attrU32(1, 0), attrAddr(2, a)]);
    h.feed(remove(12, v4("10.0.0.1", 5555)));
    h.feed(remove(13, v4("0.0.0.0", 5555), 3));
    expect(mappings(h)[0]?.refs).toBe(2);
    h.feed(remove(14, v4("0.0.0.0", 5555)));
    expect(mappings(h)[0]?.refs).toBe(1);
    expect(h.ports.open.size).toBe(1);
    h.feed(remove(15, v4("0.0.0.0", 5555)));
    expect(mappings(h)).toHaveLength(0);
    expect(h.ports.open.size).toBe(0);
    expect(h.nl.sent).toHaveLength(0);
  });
});

describe("mapinfo replay", () => {
  it("re-reserves each record's mapped port, accepts exact copies, counts per index, and stops a datagram at a conflict", async () => {
    const h = await service();
    const a = mapinfo(v4("10.0.0.1", 5555), v4("10.0.0.1", 41000));
    const b = mapinfo(v6("fd00::1", 4791), v6("fd00::1", 4791), 1);
    const done = nlmsg({ type: NLMSG_DONE, flags: 2, seq: 0, pid: 4321 });
    h.feed(concat(a, b, a, done));
    expect(h.nl.sent).toHaveLength(0);
    expect([...h.ports.open.values()]).toEqual([{ family: 2, port: 41000 }]);
    const conflict = mapinfo(v4("10.0.0.1", 5555), v4("10.0.0.1", 41001));
    const later = mapinfo(v4("10.0.0.1", 5600), v4("10.0.0.1", 41600));
    h.feed(concat(conflict, later, done));
    expect(handleErr(h)).toMatchObject({ seq: 0, code: 12 });
    h.ports.busy.add(41700);
    h.feed(mapinfo(v4("10.0.0.1", 5700), v4("10.0.0.1", 41700)));
    expect(handleErr(h)).toMatchObject({ seq: 0, code: 11 });
    h.feed(mapinfo(v4("10.0.0.1", 5800), v6("fd00::1", 41800)));
    expect(handleErr(h)).toMatchObject({ seq: 0, code: 11 });
    expect(mappings(h)).toHaveLength(2);
    h.feed(nlmsg({ type: rdma(2, 7), seq: 77, pid: 4321 }, [attrU32(1, 0), attrU32(2, 5)]));
    const [ack] = sentMessages(h);
    expect(ack).toMatchObject({ type: 0x807, to: 4321 });
    expect([u32(ack?.attrs.get(1)), u32(ack?.attrs.get(2)), u32(ack?.attrs.get(3))]).toEqual([77, 5, 3]);
  });
});

describe("shutdown", () => {
  it("releases every reserved port", async () => {
    const h = await registered();
    h.feed(addMapping(10, v4("10.0.0.1", 5555)));
    h.feed(addMapping(11, v6("fd00::1", 5555)));
    expect(h.ports.open.size).toBe(2);
    expect(h.core.exports.serviceStop()).toBe(2);
    expect(h.ports.open.size).toBe(0);
    expect(mappings(h)).toHaveLength(0);
  });
});
