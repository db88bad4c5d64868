import { describe, expect, it } from "vitest";
import { SOCKADDR_SIZE } from "../../src/core/sockaddr.js";
import { EVENT_SLOT_BASE, EVENT_SLOT_SIZE } from "../../src/gen/events.js";
import * as G from "../../src/gen/protocol.js";
import { loadRegisteredCore } from "../support/core.js";
import { type FakeDaemon, v6 } from "../support/fake-daemon.js";
import { attrRaw, attrU16, attrU32, nlmsg, parseDatagram, rdma } from "../support/nl.js";

// A sockaddr_storage passes through the client core as it is, all 128 bytes, as the kernel's
// nla_put copies it: from an argument slot into the datagram, from a reply into the event. Only
// family, port and address bytes are compared, as iwpm_compare_sockaddr compares them; flowinfo,
// scope id and the bytes past the address travel but never decide a match.

const AF_INET = 2;
const AF_INET6 = 10;
const OP_ADD = 1;
const OP_QUERY = 2;
const OP_REMOTE_INFO = 4;
const IWPM_USER_LIB_INFO_ERR = G.Status.IWPM_USER_LIB_INFO_ERR;

/** What a kernel caller could hand over: the fields it means, and whatever the rest of its storage holds. */
function rawSockaddr(o: { family: number; port: number; addr: number[]; flowinfo?: number; scopeId?: number; fill: number }): Uint8Array {
  const b = new Uint8Array(SOCKADDR_SIZE);
  for (let k = 0; k < b.length; k++) b[k] = (o.fill + k * 7) & 0xff || 1;
  const v = new DataView(b.buffer);
  v.setUint16(0, o.family, true);
  v.setUint16(2, o.port, false);
  if (o.family === AF_INET) {
    b.set(o.addr, 4);
  } else {
    v.setUint32(4, o.flowinfo ?? 0, false);
    b.set(o.addr, 8);
    v.setUint32(24, o.scopeId ?? 0, true);
  }
  return b;
}

const FD00_1 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const FD00_2 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const FE80_9 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];

type Loaded = Awaited<ReturnType<typeof loadRegisteredCore>>;

function putSlot(t: Loaded, slot: number, sa: Uint8Array): void {
  t.core.bytes().set(sa, t.core.exports.argsPtr() + slot * SOCKADDR_SIZE);
}

/** The one message the last call sent. */
function sentMessage(t: Loaded) {
  const sent = t.socket.take();
  expect(sent).toHaveLength(1);
  const [msg] = parseDatagram(sent[0]?.bytes as Uint8Array);
  return msg as NonNullable<typeof msg>;
}

/** Slot `n` of the queued event `i`, as raw bytes (before the host reads it). */
function eventSlot(t: Loaded, i: number, n: number): Uint8Array {
  const at = t.core.exports.eventsPtr() + i * t.core.exports.eventSize() + EVENT_SLOT_BASE + n * EVENT_SLOT_SIZE;
  return t.core.bytes().slice(at, at + SOCKADDR_SIZE);
}

function addReply(daemon: FakeDaemon, reqSeq: number, local: Uint8Array, mapped: Uint8Array): Uint8Array {
  return nlmsg({ type: rdma(2, OP_ADD), seq: 1, pid: daemon.port }, [
    attrU32(G.IWPM_NLA_RMANAGE_MAPPING_SEQ, reqSeq),
    attrRaw(G.IWPM_NLA_RMANAGE_ADDR, local),
    attrRaw(G.IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR, mapped),
    attrU16(G.IWPM_NLA_RMANAGE_MAPPING_ERR, 0),
  ]);
}

function fourAddrs(daemon: FakeDaemon, op: number, reqSeq: number, a: Uint8Array[]): Uint8Array {
  return nlmsg({ type: rdma(2, op), seq: 2, pid: daemon.port }, [
    attrU32(G.IWPM_NLA_RQUERY_MAPPING_SEQ, reqSeq),
    attrRaw(G.IWPM_NLA_RQUERY_LOCAL_ADDR, a[0] as Uint8Array),
    attrRaw(G.IWPM_NLA_RQUERY_REMOTE_ADDR, a[1] as Uint8Array),
    attrRaw(G.IWPM_NLA_RQUERY_MAPPED_LOC_ADDR, a[2] as Uint8Array),
    attrRaw(G.IWPM_NLA_RQUERY_MAPPED_REM_ADDR, a[3] as Uint8Array),
    attrU16(G.IWPM_NLA_RQUERY_MAPPING_ERR, 0),
  ]);
}

/** The same endpoint as `sa` (family, port, address) with every other byte different. */
function sameEndpoint(sa: Uint8Array): Uint8Array {
  const family = new DataView(sa.buffer).getUint16(0, true);
  const out = sa.map((b) => b ^ 0xa5 || 0x11);
  const fixed = family === AF_INET ? 8 : 24;
  out.set(sa.subarray(0, 4), 0);
  out.set(sa.subarray(family === AF_INET ? 4 : 8, fixed), family === AF_INET ? 4 : 8);
  expect(out.some((b, k) => b !== sa[k])).toBe(true);
  return out;
}

describe("outgoing messages copy the caller's sockaddr as it is", () => {
  const local6 = rawSockaddr({ family: AF_INET6, port: 5555, addr: FE80_9, flowinfo: 0xabcde, scopeId: 7, fill: 0x31 });
  const remote6 = rawSockaddr({ family: AF_INET6, port: 6000, addr: FD00_2, flowinfo: 0x12345, scopeId: 3, fill: 0x62 });
  const local4 = rawSockaddr({ family: AF_INET, port: 5555, addr: [10, 0, 0, 1], fill: 0x93 });

  it("ADD_MAPPING carries slot 0's 128 bytes", async () => {
    for (const local of [local6, local4]) {
      const t = await loadRegisteredCore();
      putSlot(t, 0, local);
      expect(t.core.exports.addMapping(2, 0)).toBeGreaterThan(0);
      expect(sentMessage(t).attrs.get(G.IWPM_NLA_MANAGE_ADDR)).toEqual(local);
    }
  });

  it("QUERY_MAPPING carries slots 0 and 1 as they are", async () => {
    const t = await loadRegisteredCore();
    putSlot(t, 0, local6);
    putSlot(t, 1, remote6);
    expect(t.core.exports.addAndQueryMapping(2, 0)).toBeGreaterThan(0);
    const msg = sentMessage(t);
    expect(msg.attrs.get(G.IWPM_NLA_QUERY_LOCAL_ADDR)).toEqual(local6);
    expect(msg.attrs.get(G.IWPM_NLA_QUERY_REMOTE_ADDR)).toEqual(remote6);
  });

  it("REMOVE_MAPPING carries slot 0 as it is", async () => {
    const t = await loadRegisteredCore();
    putSlot(t, 0, local6);
    expect(t.core.exports.removeMapping(2)).toBe(0);
    expect(sentMessage(t).attrs.get(G.IWPM_NLA_MANAGE_ADDR)).toEqual(local6);
  });

  it("refuses a family other than AF_INET and AF_INET6 and sends nothing", async () => {
    const t = await loadRegisteredCore();
    putSlot(t, 0, rawSockaddr({ family: 1, port: 5555, addr: [], fill: 0x10 }));
    expect(t.core.exports.addMapping(2, 0)).toBe(-G.Status.INVALID_ARGUMENT);
    expect(t.core.exports.removeMapping(2)).toBe(-G.Status.INVALID_ARGUMENT);
    putSlot(t, 0, local4);
    putSlot(t, 1, rawSockaddr({ family: 0, port: 1, addr: [], fill: 0x20 }));
    expect(t.core.exports.addAndQueryMapping(2, 0)).toBe(-G.Status.INVALID_ARGUMENT);
    expect(t.socket.take()).toHaveLength(0);
  });

  it("an IPv4 argument written over an IPv6 one leaves none of its bytes in the datagram", async () => {
    const t = await loadRegisteredCore();
    t.core.writeAddr(0, { ...v6("fd00::1:2:3:4", 5555), flowinfo: 0xfffff, scopeId: 9 });
    const text = "10.0.0.1";
    expect(t.core.writeTextV4(0, text, text.length, 5555)).toBe(true);
    expect(t.core.exports.addMapping(2, 0)).toBeGreaterThan(0);
    const sa = sentMessage(t).attrs.get(G.IWPM_NLA_MANAGE_ADDR) as Uint8Array;
    const expected = new Uint8Array(SOCKADDR_SIZE);
    expected.set([AF_INET, 0, 0x15, 0xb3, 10, 0, 0, 1]);
    expect(sa).toEqual(expected);
  });
});

describe("events copy the reply's sockaddr as it is", () => {
  it("an ADD reply's mapped address reaches the event slot byte for byte", async () => {
    const t = await loadRegisteredCore();
    const local = rawSockaddr({ family: AF_INET6, port: 5555, addr: FE80_9, flowinfo: 1, scopeId: 7, fill: 0x40 });
    putSlot(t, 0, local);
    const seq = t.core.exports.addMapping(2, 0);
    const mapped = rawSockaddr({ family: AF_INET6, port: 40000, addr: FD00_1, flowinfo: 0xfffff, scopeId: 42, fill: 0x57 });
    t.core.feed(addReply(t.daemon, seq, local, mapped), t.daemon.port);
    expect(t.core.exports.eventCount()).toBe(1);
    expect(eventSlot(t, 0, 0)).toEqual(mapped);
    const [done] = t.core.drainEvents();
    expect(done).toMatchObject({
      kind: "requestDone",
      status: 0,
      mappedLocal: { family: "ipv6", address: "fd00::1", port: 40000, flowinfo: 0xfffff, scopeId: 42 },
    });
  });

  it("a QUERY reply's mapped addresses reach the event slots byte for byte", async () => {
    const t = await loadRegisteredCore();
    const local = rawSockaddr({ family: AF_INET, port: 5555, addr: [10, 0, 0, 1], fill: 0x01 });
    const remote = rawSockaddr({ family: AF_INET, port: 6000, addr: [10, 0, 0, 2], fill: 0x02 });
    putSlot(t, 0, local);
    putSlot(t, 1, remote);
    const seq = t.core.exports.addAndQueryMapping(2, 0);
    const mappedLocal = rawSockaddr({ family: AF_INET, port: 40001, addr: [192, 0, 2, 1], fill: 0x03 });
    const mappedRemote = rawSockaddr({ family: AF_INET, port: 41000, addr: [192, 0, 2, 2], fill: 0x04 });
    t.core.feed(fourAddrs(t.daemon, OP_QUERY, seq, [local, remote, mappedLocal, mappedRemote]), t.daemon.port);
    expect(eventSlot(t, 0, 0)).toEqual(mappedLocal);
    expect(eventSlot(t, 0, 1)).toEqual(mappedRemote);
    expect(t.core.drainEvents()).toMatchObject([{ status: 0, mappedLocal: { address: "192.0.2.1", port: 40001 } }]);
  });

  it("REMOTE_INFO's four addresses reach the event slots byte for byte", async () => {
    const t = await loadRegisteredCore();
    const four = [
      rawSockaddr({ family: AF_INET6, port: 7000, addr: FD00_2, flowinfo: 5, scopeId: 1, fill: 0x11 }),
      rawSockaddr({ family: AF_INET6, port: 6000, addr: FD00_1, flowinfo: 6, scopeId: 2, fill: 0x22 }),
      rawSockaddr({ family: AF_INET6, port: 47000, addr: FD00_2, flowinfo: 7, scopeId: 3, fill: 0x33 }),
      rawSockaddr({ family: AF_INET6, port: 46000, addr: FD00_1, flowinfo: 8, scopeId: 4, fill: 0x44 }),
    ];
    t.core.feed(fourAddrs(t.daemon, OP_REMOTE_INFO, 0, four), t.daemon.port);
    expect(t.core.exports.eventCount()).toBe(1);
    for (let n = 0; n < 4; n++) expect(eventSlot(t, 0, n), `slot ${n}`).toEqual(four[n]);
  });
});

describe("keys compare as the kernel compares them: family, port, address", () => {
  const local6 = rawSockaddr({ family: AF_INET6, port: 5555, addr: FD00_1, flowinfo: 3, scopeId: 4, fill: 0x70 });
  const local4 = rawSockaddr({ family: AF_INET, port: 5555, addr: [10, 0, 0, 1], fill: 0x71 });
  const mapped6 = rawSockaddr({ family: AF_INET6, port: 40000, addr: FD00_2, fill: 0x72 });
  const mapped4 = rawSockaddr({ family: AF_INET, port: 40000, addr: [10, 0, 0, 9], fill: 0x73 });

  async function addStatus(local: Uint8Array, echoed: Uint8Array, mapped: Uint8Array): Promise<number> {
    const t = await loadRegisteredCore();
    putSlot(t, 0, local);
    const seq = t.core.exports.addMapping(2, 0);
    t.core.feed(addReply(t.daemon, seq, echoed, mapped), t.daemon.port);
    const [done] = t.core.drainEvents();
    expect(done?.kind).toBe("requestDone");
    return (done as { status: number }).status;
  }

  function changed(sa: Uint8Array, at: number): Uint8Array {
    const out = sa.slice();
    out[at] = (out[at] as number) ^ 1;
    return out;
  }

  it("accepts an echoed local address that differs only outside family, port and address", async () => {
    expect(await addStatus(local6, sameEndpoint(local6), mapped6)).toBe(0);
    expect(await addStatus(local4, sameEndpoint(local4), mapped4)).toBe(0);
  });

  it("refuses an echoed local address whose port, address or family differs", async () => {
    for (const [local, mapped, addrAt] of [
      [local6, mapped6, 23],
      [local4, mapped4, 7],
    ] as const) {
      expect(await addStatus(local, changed(local, 3), mapped)).toBe(IWPM_USER_LIB_INFO_ERR);
      expect(await addStatus(local, changed(local, addrAt), mapped)).toBe(IWPM_USER_LIB_INFO_ERR);
    }
    const asV4 = local6.slice();
    asV4[0] = AF_INET;
    expect(await addStatus(local6, asV4, mapped4)).toBe(IWPM_USER_LIB_INFO_ERR);
  });

  it("refuses a mapped address of another family than the local one", async () => {
    expect(await addStatus(local6, local6, mapped4)).toBe(IWPM_USER_LIB_INFO_ERR);
    expect(await addStatus(local4, local4, mapped6)).toBe(IWPM_USER_LIB_INFO_ERR);
  });

  it("finds remote info by mapped addresses that differ only outside family, port and address", async () => {
    const t = await loadRegisteredCore();
    const remote = rawSockaddr({ family: AF_INET6, port: 6000, addr: FE80_9, flowinfo: 0x54321, scopeId: 5, fill: 0x7a });
    const mappedLocal = rawSockaddr({ family: AF_INET6, port: 47000, addr: FD00_2, flowinfo: 9, scopeId: 6, fill: 0x7b });
    const mappedRemote = rawSockaddr({ family: AF_INET6, port: 46000, addr: FD00_1, flowinfo: 8, scopeId: 7, fill: 0x7c });
    t.core.feed(fourAddrs(t.daemon, OP_REMOTE_INFO, 0, [local6, remote, mappedLocal, mappedRemote]), t.daemon.port);
    t.core.drainEvents();
    putSlot(t, 0, changed(mappedLocal, 3));
    putSlot(t, 1, mappedRemote);
    expect(t.core.exports.getRemoteInfo(2)).toBe(-G.Status.NOT_FOUND);
    putSlot(t, 0, sameEndpoint(mappedLocal));
    putSlot(t, 1, sameEndpoint(mappedRemote));
    expect(t.core.exports.getRemoteInfo(2)).toBe(0);
    // The table keeps what the kernel compares and re-encodes: family, port, flowinfo, address, scope id.
    expect(t.core.readAddr(2)).toEqual({ family: "ipv6", address: "fe80::9", port: 6000, flowinfo: 0x54321, scopeId: 5 });
  });
});
