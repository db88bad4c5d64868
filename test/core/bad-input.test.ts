import { describe, expect, it } from "vitest";
import { type SockAddr, writeSockaddr } from "../../src/core/sockaddr.js";
import { D_ERROR_OFFSET } from "../../src/gen/protocol.js";
import { type FakeClock, type FakeSocket, loadTestCore, type TestCore } from "../support/core.js";
import {
  attrOffsets,
  DIR_TO_CLIENT,
  DIR_TO_DAEMON,
  type GeneratedMessage,
  Rng,
  randomDone,
  randomMessage,
  SCHEMA,
} from "../support/corpus.js";
import { FakeDaemon, ULIB, v4, v6 } from "../support/fake-daemon.js";
import { attrAddr, attrFixedStr, attrRaw, attrStr, attrU16, attrU32, concat, hex, NLMSG_ERROR, nlmsg, rdma } from "../support/nl.js";

// Bad input must be refused with the status that names what is wrong, and
// must leave every table and every piece of state as it was: a malformed or
// untrusted datagram can never be allowed to half-apply.

// Status codes (docs/abi.md).
const S = {
  TRUNCATED_HEADER: 100,
  BAD_MSG_LEN: 101,
  BAD_ATTR_LEN: 102,
  ATTR_SIZE: 103,
  STRING_UNTERMINATED: 104,
  MISSING_ATTR: 105,
  UNKNOWN_OP: 106,
  UNKNOWN_CLIENT: 107,
  BAD_FAMILY: 108,
  BAD_CONTROL: 109,
  STRAY_SEQ: 110,
  DUPLICATE_RESPONSE: 111,
  LATE_RESPONSE: 112,
  WRONG_SOURCE: 113,
  PID_MISMATCH: 114,
  REMOTE_INFO_FULL: 115,
  BAD_ULIB: 116,
  BAD_VERSION: 117,
  BAD_VALUE: 119,
  TIMEOUT: 120,
  NOT_INITIALIZED: 121,
  INVALID_ARGUMENT: 122,
  DAEMON_UNAVAILABLE: 123,
  NOT_REGISTERED: 124,
  NETLINK_ERROR: 126,
  NOT_FOUND: 127,
} as const;

/** Offset in the decoded-message record of the attribute that failed framing. */

const setU16 = (bytes: Uint8Array, at: number, value: number) => {
  const out = bytes.slice();
  new DataView(out.buffer).setUint16(at, value, true);
  return out;
};
const setU32 = (bytes: Uint8Array, at: number, value: number) => {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value >>> 0, true);
  return out;
};
const ascii = (s: string) => new TextEncoder().encode(s);
const sockaddrBytes = (a: SockAddr) => {
  const out = new Uint8Array(128);
  writeSockaddr(new DataView(out.buffer), 0, a);
  return out;
};

// ---------------------------------------------------------------------------
// a. The codec alone
// ---------------------------------------------------------------------------

describe("decode refuses malformed messages with a specific status", () => {
  const daemon = new FakeDaemon(1234);
  const hello = daemon.hello(4, 3); // 24 bytes: header + one u16 attribute at 16
  // ADD reply, 296 bytes: attributes at 16 (SEQ), 24 (local), 156 (mapped), 288 (ERR).
  const addReply = daemon.addReply(101, v4("127.0.0.1", 5555), v4("127.0.0.1", 40000), 3);
  const regPid = (ifName: Uint8Array) =>
    nlmsg({ type: rdma(2, 0), seq: 100, pid: 0 }, [
      attrU32(1, 1),
      attrRaw(2, ifName),
      attrFixedStr(3, "siw0", 32),
      attrFixedStr(4, ULIB, 32),
    ]);
  const regPidReply = (devName: Uint8Array) =>
    nlmsg({ type: rdma(2, 0), seq: 2, pid: 1234 }, [attrU32(1, 100), attrRaw(2, devName), attrStr(3, ULIB), attrU16(4, 4), attrU16(5, 0)]);
  const addRequest = (flags: boolean) =>
    nlmsg({ type: rdma(2, 1), seq: 101, pid: 0 }, [attrU32(1, 2), attrAddr(2, v4("127.0.0.1", 5555)), ...(flags ? [attrU32(3, 0)] : [])]);

  const cases: { name: string; bytes: Uint8Array; len?: number; dir: 0 | 1; version?: 3 | 4; status: number; errorOffset?: number }[] = [
    { name: "an empty buffer", bytes: new Uint8Array(0), dir: 1, status: S.TRUNCATED_HEADER },
    { name: "a header of 15 bytes", bytes: hello.slice(0, 15), dir: 1, status: S.TRUNCATED_HEADER },
    { name: "nlmsg_len past the bytes available", bytes: hello, len: 20, dir: 1, status: S.BAD_MSG_LEN },
    { name: "nlmsg_len 28 on 24 bytes", bytes: setU32(hello, 0, 28), dir: 1, status: S.BAD_MSG_LEN },
    { name: "nlmsg_len 12 (below the header)", bytes: setU32(hello, 0, 12), dir: 1, status: S.BAD_MSG_LEN },
    { name: "nlmsg_len 0", bytes: setU32(hello, 0, 0), dir: 1, status: S.BAD_MSG_LEN },
    { name: "nla_len 3", bytes: setU16(addReply, 24, 3), dir: 1, status: S.BAD_ATTR_LEN, errorOffset: 24 },
    { name: "nla_len past the end of the message", bytes: setU16(addReply, 288, 12), dir: 1, status: S.BAD_ATTR_LEN, errorOffset: 288 },
    { name: "nla_len 0 on the first attribute", bytes: setU16(addReply, 16, 0), dir: 1, status: S.BAD_ATTR_LEN, errorOffset: 16 },
    { name: "nla_len 0 on the last attribute", bytes: setU16(addReply, 288, 0), dir: 1, status: S.BAD_ATTR_LEN, errorOffset: 288 },
    {
      name: "a u32 attribute of 2 bytes",
      bytes: nlmsg({ type: rdma(2, 5), seq: 4, pid: 1234 }, [attrRaw(1, new Uint8Array([101, 0])), attrU16(2, 12)]),
      dir: 1,
      status: S.ATTR_SIZE,
    },
    {
      name: "a u16 attribute of 1 byte",
      bytes: nlmsg({ type: rdma(2, 8), seq: 0, pid: 1234 }, [attrRaw(1, new Uint8Array([4]))]),
      dir: 1,
      status: S.ATTR_SIZE,
    },
    {
      name: "a sockaddr attribute of 100 bytes",
      bytes: nlmsg({ type: rdma(2, 1), seq: 3, pid: 1234 }, [
        attrU32(1, 101),
        attrRaw(2, sockaddrBytes(v4("127.0.0.1", 5555)).slice(0, 100)),
        attrAddr(3, v4("127.0.0.1", 40000)),
        attrU16(4, 0),
      ]),
      dir: 1,
      status: S.ATTR_SIZE,
    },
    {
      name: "a char[16] name of 20 bytes",
      bytes: regPid(new Uint8Array([...ascii("eth0"), ...new Uint8Array(16)])),
      dir: 0,
      status: S.ATTR_SIZE,
    },
    { name: "a C string of 40 characters", bytes: regPidReply(ascii(`${"d".repeat(40)}\0`)), dir: 1, status: S.ATTR_SIZE },
    { name: "a C string without its NUL", bytes: regPidReply(ascii("siw0")), dir: 1, status: S.STRING_UNTERMINATED },
    { name: "a char[16] name without a NUL", bytes: regPid(ascii("a".repeat(16))), dir: 0, status: S.STRING_UNTERMINATED },
    { name: "a v4 ADD request without FLAGS", bytes: addRequest(false), dir: 0, version: 4, status: S.MISSING_ATTR },
    {
      name: "a REG_PID reply without PID_ERR",
      bytes: nlmsg({ type: rdma(2, 0), seq: 2, pid: 1234 }, [attrU32(1, 100), attrStr(2, "siw0"), attrStr(3, ULIB), attrU16(4, 4)]),
      dir: 1,
      status: S.MISSING_ATTR,
    },
    { name: "op 9 to the client", bytes: nlmsg({ type: rdma(2, 9), seq: 0, pid: 1234 }, [attrU16(1, 4)]), dir: 1, status: S.UNKNOWN_OP },
    { name: "op 9 to the daemon", bytes: nlmsg({ type: rdma(2, 9), seq: 0, pid: 0 }, [attrU16(1, 4)]), dir: 0, status: S.UNKNOWN_OP },
    {
      name: "REMOVE_MAPPING (op 3) to the client",
      bytes: nlmsg({ type: rdma(2, 3), seq: 5, pid: 1234 }, [attrU32(1, 1), attrAddr(2, v4("127.0.0.1", 5555))]),
      dir: 1,
      status: S.UNKNOWN_OP,
    },
    {
      name: "REMOTE_INFO (op 4) to the daemon",
      bytes: nlmsg({ type: rdma(2, 4), seq: 5, pid: 0 }, [attrU32(1, 1), attrAddr(2, v4("127.0.0.1", 5555))]),
      dir: 0,
      status: S.UNKNOWN_OP,
    },
  ];

  it.each(cases)("$name → $status", async (c) => {
    const { core } = await loadTestCore();
    core.bytes().set(c.bytes, core.exports.codecPtr());
    expect(core.exports.decode(c.len ?? c.bytes.length, c.dir, c.version ?? 4)).toBe(c.status);
    if (c.errorOffset !== undefined) {
      expect(core.view().getUint32(core.exports.decodedPtr() + D_ERROR_OFFSET, true)).toBe(c.errorOffset);
    }
  });

  it("a v3 ADD request has no FLAGS to miss", async () => {
    const { core } = await loadTestCore();
    const bytes = addRequest(false);
    core.bytes().set(bytes, core.exports.codecPtr());
    expect(core.exports.decode(bytes.length, DIR_TO_DAEMON, 3)).toBe(0);
    expect(core.exports.decode(bytes.length, DIR_TO_DAEMON, 4)).toBe(S.MISSING_ATTR);
  });

  it("a valid message decodes after a framing error (no state carried over)", async () => {
    const { core } = await loadTestCore();
    const bad = setU16(addReply, 24, 0);
    core.bytes().set(bad, core.exports.codecPtr());
    expect(core.exports.decode(bad.length, DIR_TO_CLIENT, 4)).toBe(S.BAD_ATTR_LEN);
    core.bytes().set(addReply, core.exports.codecPtr());
    expect(core.exports.decode(addReply.length, DIR_TO_CLIENT, 4)).toBe(0);
    expect(core.view().getUint32(core.exports.decodedPtr() + D_ERROR_OFFSET, true)).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// b. Through the client
// ---------------------------------------------------------------------------

const DAEMON = 999;
const OWN = 4242;
/** Header seq of the registration reply: distinct from anything the scripted daemon numbers later. */
const ECHO = 0x7777;
/** The pending ADD request's local address and the mapping a reply would give. */
const LOCAL = v4("192.0.2.9", 7000);
const MAPPED = v4("192.0.2.9", 40001);
const STORED_INFO = {
  local: v4("192.0.2.1", 5000),
  remote: v4("198.51.100.7", 6000),
  mappedLocal: v4("192.0.2.1", 40000),
  mappedRemote: v4("198.51.100.7", 41000),
};
const OTHER_INFO = {
  local: v6("2001:db8::1", 5001),
  remote: v6("2001:db8::2", 6001),
  mappedLocal: v6("2001:db8::1", 40002),
  mappedRemote: v6("2001:db8::2", 41002),
};

interface Primed {
  core: TestCore;
  socket: FakeSocket;
  clock: FakeClock;
  daemon: FakeDaemon;
  /** Sequence number of the one pending request (an ADD_MAPPING of LOCAL). */
  pending: number;
}

/**
 * A client in a busy, known state: init(2), registered with daemon 999 (ABI
 * `version`, echo seq ECHO), two mapinfo records, one remote-info entry and
 * one ADD_MAPPING waiting for its reply. Events, sends and stats cleared.
 */
async function primedClient(version: 3 | 4 = 4): Promise<Primed> {
  const { core, socket, clock } = await loadTestCore();
  const x = core.exports;
  const daemon = new FakeDaemon(DAEMON);
  x.init(2);
  x.setPort(OWN);
  // Stored before registering, so that the registration reply sets the echo seq last.
  core.feed(daemon.remoteInfo(STORED_INFO), DAEMON);
  core.writeNames("dev0", "eth0");
  x.seedSequence(50);
  const reg = x.registerPid(2);
  expect(reg).toBe(50);
  core.feed(daemon.regPidReply(reg, "dev0", { version, seq: ECHO }), DAEMON);
  core.writeAddr(0, v4("192.0.2.1", 5000));
  core.writeAddr(1, v4("192.0.2.1", 40000));
  expect(x.createMapinfo(2, 0)).toBe(0);
  core.writeAddr(0, v6("2001:db8::1", 5001));
  core.writeAddr(1, v6("2001:db8::1", 40002));
  expect(x.createMapinfo(2, 1)).toBe(0);
  core.writeAddr(0, LOCAL);
  const pending = x.addMapping(2, 0);
  expect(pending).toBe(51);
  expect({ reg: x.registration(2), pid: core.daemonPid(), echo: x.echoSeq(), version: x.negotiatedVersion() }).toEqual({
    reg: 2,
    pid: DAEMON,
    echo: ECHO,
    version,
  });
  expect([x.mapinfoSize(), x.remoteInfoSize(), x.requestCount()]).toEqual([2, 1, 1]);
  core.drainEvents();
  socket.take();
  x.resetStats();
  return { core, socket, clock, daemon, pending };
}

/** Everything a bad datagram or a refused call must leave alone. Keeps the argument slots intact. */
function snapshot(core: TestCore) {
  const x = core.exports;
  const args = core.bytes().slice(x.argsPtr(), x.argsPtr() + 512);
  const mapinfo = core.mapinfo(); // reads through argument slots 0 and 1
  core.bytes().set(args, x.argsPtr());
  return {
    mapinfo,
    mapinfoSize: x.mapinfoSize(),
    remoteInfoSize: x.remoteInfoSize(),
    requestCount: x.requestCount(),
    daemonPid: core.daemonPid(),
    registration: [0, 1, 2, 3, 5].map((c) => x.registration(c)),
    echoSeq: x.echoSeq(),
    negotiatedVersion: x.negotiatedVersion(),
    nextSeq: x.nextSeq(),
    nextTimeoutMs: x.nextTimeoutMs(),
  };
}

function expectSound(core: TestCore): void {
  expect(core.exports.mapinfoVerify(), "mapinfoVerify").toBe(0);
  expect(core.exports.remoteInfoVerify(), "remoteInfoVerify").toBe(0);
}

/**
 * Feeds one datagram and checks that exactly `reason` was counted, once, and
 * nothing else happened. `changes` lists the state a drop is allowed to move
 * (only the echo seq, where the protocol says so).
 */
function expectDropped(
  t: Primed,
  datagram: Uint8Array,
  port: number,
  reason: number,
  changes: Partial<ReturnType<typeof snapshot>> = {},
): void {
  const { core, socket } = t;
  const before = snapshot(core);
  core.exports.resetStats();
  core.feed(datagram, port);
  const stats = core.stats();
  expect(stats.drops, `drops for ${hex(datagram)}`).toEqual({ [reason]: 1 });
  expect(stats.dropped).toBe(1);
  expect(stats.rxDatagrams).toBe(1);
  expect(core.drainEvents()).toEqual([]);
  expect(socket.take()).toEqual([]);
  expect(snapshot(core)).toEqual({ ...before, ...changes });
  expectSound(core);
}

describe("the client drops bad datagrams under one reason and changes nothing", () => {
  /** A valid reply to the pending request: the base the attribute errors corrupt, so an accepted one would show as an event. */
  const reply = (t: Primed, seq?: number) => t.daemon.addReply(t.pending, LOCAL, MAPPED, seq);
  const addReplyWith = (attrs: Uint8Array[]) => nlmsg({ type: rdma(2, 1), seq: 3, pid: DAEMON }, attrs);

  const cases: { name: string; reason: number; build: (t: Primed) => Uint8Array; port?: number }[] = [
    { name: "a datagram shorter than a header", reason: S.TRUNCATED_HEADER, build: (t) => reply(t).slice(0, 10) },
    { name: "nlmsg_len past the datagram", reason: S.BAD_MSG_LEN, build: (t) => setU32(reply(t), 0, 300) },
    { name: "nlmsg_len below the header", reason: S.BAD_MSG_LEN, build: (t) => setU32(reply(t), 0, 12) },
    { name: "nla_len 3", reason: S.BAD_ATTR_LEN, build: (t) => setU16(reply(t), 24, 3) },
    { name: "nla_len past the message", reason: S.BAD_ATTR_LEN, build: (t) => setU16(reply(t), 288, 12) },
    { name: "nla_len 0", reason: S.BAD_ATTR_LEN, build: (t) => setU16(reply(t), 24, 0) },
    {
      name: "a u32 SEQ of 2 bytes",
      reason: S.ATTR_SIZE,
      build: (t) => addReplyWith([attrRaw(1, new Uint8Array([t.pending, 0])), attrAddr(2, LOCAL), attrAddr(3, MAPPED), attrU16(4, 0)]),
    },
    {
      name: "a u16 ERR of 1 byte",
      reason: S.ATTR_SIZE,
      build: (t) => addReplyWith([attrU32(1, t.pending), attrAddr(2, LOCAL), attrAddr(3, MAPPED), attrRaw(4, new Uint8Array([0]))]),
    },
    {
      name: "a sockaddr of 100 bytes",
      reason: S.ATTR_SIZE,
      build: (t) =>
        addReplyWith([attrU32(1, t.pending), attrRaw(2, sockaddrBytes(LOCAL).slice(0, 100)), attrAddr(3, MAPPED), attrU16(4, 0)]),
    },
    {
      name: "a library name of 40 characters",
      reason: S.ATTR_SIZE,
      build: () => nlmsg({ type: rdma(2, 6), seq: 9, pid: DAEMON }, [attrStr(1, "L".repeat(40)), attrU16(2, 4)]),
    },
    {
      name: "a library name without its NUL",
      reason: S.STRING_UNTERMINATED,
      build: () => nlmsg({ type: rdma(2, 6), seq: 9, pid: DAEMON }, [attrRaw(1, ascii(ULIB)), attrU16(2, 4)]),
    },
    {
      name: "an ADD reply without ERR",
      reason: S.MISSING_ATTR,
      build: (t) => addReplyWith([attrU32(1, t.pending), attrAddr(2, LOCAL), attrAddr(3, MAPPED)]),
    },
    { name: "op 9", reason: S.UNKNOWN_OP, build: () => nlmsg({ type: rdma(2, 9), seq: 9, pid: DAEMON }, [attrU16(1, 4)]) },
    {
      name: "REMOVE_MAPPING (op 3) from the daemon",
      reason: S.UNKNOWN_OP,
      build: (t) => nlmsg({ type: rdma(2, 3), seq: 9, pid: DAEMON }, [attrU32(1, t.pending), attrAddr(2, LOCAL)]),
    },
    { name: "REMOTE_INFO for client index 5", reason: S.UNKNOWN_CLIENT, build: () => new FakeDaemon(DAEMON, 5).remoteInfo(OTHER_INFO) },
    {
      name: "REMOTE_INFO whose mapped local is IPv6 for an IPv4 local",
      reason: S.BAD_FAMILY,
      build: (t) => t.daemon.remoteInfo({ ...OTHER_INFO, local: v4("192.0.2.50", 5000), remote: v6("2001:db8::2", 6001) }),
    },
    { name: "HANDLE_ERR naming no request", reason: S.STRAY_SEQ, build: (t) => t.daemon.handleErr(9999, 12) },
    {
      name: "a reply from port 555",
      reason: S.WRONG_SOURCE,
      port: 555,
      build: (t) => new FakeDaemon(555).addReply(t.pending, LOCAL, MAPPED),
    },
    {
      name: "a reply whose nlmsg_pid (998) is not its port (999)",
      reason: S.PID_MISMATCH,
      build: (t) => new FakeDaemon(998).addReply(t.pending, LOCAL, MAPPED),
    },
    {
      name: "a MAPINFO request naming another library",
      reason: S.BAD_ULIB,
      build: (t) => t.daemon.mapinfoRequest(4, 9, "iWarpPortMapperUsr"),
    },
    { name: "a MAPINFO request of version 2", reason: S.BAD_VERSION, build: (t) => t.daemon.mapinfoRequest(2, 9) },
    { name: "a HELLO offering version 2", reason: S.BAD_VERSION, build: (t) => t.daemon.hello(2, 9) },
    { name: "HANDLE_ERR with code 0", reason: S.BAD_VALUE, build: (t) => t.daemon.handleErr(t.pending, 0) },
    {
      name: "NLMSG_ERROR too short to hold the offending header",
      reason: S.BAD_CONTROL,
      build: () => {
        const m = nlmsg({ type: NLMSG_ERROR, flags: 0, seq: 51, pid: DAEMON }, [new Uint8Array(8)]);
        return setU32(m, 16, -22);
      },
    },
    {
      name: "NLMSG_ERROR naming no request",
      reason: S.NETLINK_ERROR,
      build: () => {
        const orig = nlmsg({ type: rdma(2, 1), seq: 9999, pid: OWN }).slice(0, 16);
        const m = new Uint8Array(36);
        m.set(orig, 20);
        return setU32(setU32(setU32(setU16(m, 4, NLMSG_ERROR), 0, 36), 12, DAEMON), 16, -22);
      },
    },
  ];

  it.each(cases)("$name → $reason", async (c) => {
    const t = await primedClient();
    expectDropped(t, c.build(t), c.port ?? DAEMON, c.reason);
    // The pending request is still there to be answered normally.
    t.core.feed(reply(t), DAEMON);
    expect(t.core.drainEvents().map((e) => [e.kind, e.kind === "requestDone" ? e.status : -1])).toEqual([["requestDone", 0]]);
  });

  // The kernel stores the echo seq from every parsed ADD or QUERY reply
  // before it looks for the request (reference §4.3), so an unmatched one
  // still moves it; nothing else may change.
  it("an ADD reply naming no request → STRAY_SEQ (echo seq moves as the kernel's does)", async () => {
    const t = await primedClient();
    expectDropped(t, t.daemon.addReply(9999, LOCAL, MAPPED, 0x1234), DAEMON, S.STRAY_SEQ, { echoSeq: 0x1234 });
  });

  it("the same reply twice: the first settles the request, the second → DUPLICATE_RESPONSE", async () => {
    const t = await primedClient();
    const r = reply(t, 0x100);
    t.core.feed(r, DAEMON);
    const events = t.core.drainEvents();
    expect(events.map((e) => e.kind)).toEqual(["requestDone"]);
    expect(events[0]).toMatchObject({ seq: t.pending, status: 0, mappedLocal: MAPPED });
    expect(t.core.exports.requestCount()).toBe(0);
    expectDropped(t, r, DAEMON, S.DUPLICATE_RESPONSE);
  });

  it("a reply after its request timed out → LATE_RESPONSE", async () => {
    const t = await primedClient();
    t.clock.advance(10_001);
    expect(t.core.exports.tick()).toBe(1);
    expect(t.core.drainEvents()).toMatchObject([{ kind: "requestDone", seq: t.pending, status: S.TIMEOUT }]);
    // The tick probed the daemon's port first (it answered, so the request ran to its timeout).
    expect(t.socket.take().map((d) => d.port)).toEqual([DAEMON]);
    expect(t.core.exports.requestCount()).toBe(0);
    expectDropped(t, t.daemon.handleErr(t.pending, 12), DAEMON, S.LATE_RESPONSE);
    // An ADD reply moves the echo seq even when late (reference §4.3).
    expectDropped(t, reply(t, 0x200), DAEMON, S.LATE_RESPONSE, { echoSeq: 0x200 });
  });

  it("REMOTE_INFO beyond setRemoteInfoLimit(1) → REMOTE_INFO_FULL, the table stays at 1", async () => {
    const t = await primedClient();
    t.core.exports.setRemoteInfoLimit(1);
    expectDropped(t, t.daemon.remoteInfo(OTHER_INFO), DAEMON, S.REMOTE_INFO_FULL);
    expect(t.core.exports.remoteInfoSize()).toBe(1);
  });

  it("REMOTE_INFO_FULL leaves the stored entry to consume", async () => {
    const t = await primedClient();
    t.core.exports.setRemoteInfoLimit(1);
    const before = snapshot(t.core);
    t.core.feed(t.daemon.remoteInfo(OTHER_INFO), DAEMON);
    expect(t.core.stats().drops).toEqual({ [S.REMOTE_INFO_FULL]: 1 });
    expect(t.core.drainEvents()).toEqual([]);
    expect(snapshot(t.core)).toEqual(before);
    // The stored entry is still the one to consume.
    t.core.writeAddr(0, STORED_INFO.mappedLocal);
    t.core.writeAddr(1, STORED_INFO.mappedRemote);
    expect(t.core.exports.getRemoteInfo(2)).toBe(0);
    expect(t.core.readAddr(2)).toEqual(STORED_INFO.remote);
    expectSound(t.core);
  });

  it("a good message, then a malformed one: the first takes effect, the second is counted", async () => {
    const t = await primedClient();
    const { core, socket } = t;
    const before = snapshot(core);
    const good = t.daemon.remoteInfo(OTHER_INFO);
    const goodSeq = new DataView(good.buffer).getUint32(8, true);
    core.feed(concat(good, setU16(reply(t), 24, 0)), DAEMON);
    expect(core.stats()).toMatchObject({ drops: { [S.BAD_ATTR_LEN]: 1 }, dropped: 1, rxDatagrams: 1, rxMessages: 2 });
    expect(core.drainEvents()).toMatchObject([{ kind: "remoteInfo", remote: OTHER_INFO.remote }]);
    expect(socket.take()).toEqual([]);
    expect(snapshot(core)).toEqual({ ...before, remoteInfoSize: 2, echoSeq: goodSeq });
    expectSound(core);
  });

  it("a message with a bad attribute, then a good one: only the bad one is dropped", async () => {
    const t = await primedClient();
    const { core } = t;
    const before = snapshot(core);
    const missing = addReplyWith([attrU32(1, t.pending), attrAddr(2, LOCAL), attrAddr(3, MAPPED)]);
    core.feed(concat(missing, reply(t, 0x300)), DAEMON);
    expect(core.stats()).toMatchObject({ drops: { [S.MISSING_ATTR]: 1 }, dropped: 1, rxMessages: 2 });
    expect(core.drainEvents()).toMatchObject([{ kind: "requestDone", seq: t.pending, status: 0 }]);
    expect(snapshot(core)).toEqual({ ...before, requestCount: 0, echoSeq: 0x300, nextTimeoutMs: -1 });
    expectSound(core);
  });
});

describe("API misuse returns a negated status and changes nothing", () => {
  /** Runs `call` and checks its status and that no state, event, datagram or counter moved. */
  function expectRefused(core: TestCore, socket: FakeSocket, call: () => number, status: number): void {
    const before = snapshot(core);
    const stats = core.stats();
    expect(call()).toBe(-status);
    expect(core.drainEvents()).toEqual([]);
    expect(socket.take()).toEqual([]);
    expect(snapshot(core)).toEqual(before);
    expect(core.stats()).toEqual(stats);
    expectSound(core);
  }

  it("addMapping before init → NOT_INITIALIZED", async () => {
    const { core, socket } = await loadTestCore();
    core.writeAddr(0, LOCAL);
    expectRefused(core, socket, () => core.exports.addMapping(2, 0), S.NOT_INITIALIZED);
  });

  it("addMapping with family 1 in slot 0 → INVALID_ARGUMENT", async () => {
    const { core, socket } = await primedClient();
    core.writeAddr(0, LOCAL);
    core.view().setUint16(core.exports.argsPtr(), 1, true);
    expectRefused(core, socket, () => core.exports.addMapping(2, 0), S.INVALID_ARGUMENT);
    expectRefused(core, socket, () => core.exports.addAndQueryMapping(2, 0), S.INVALID_ARGUMENT);
  });

  it("addMapping with no daemon known → DAEMON_UNAVAILABLE", async () => {
    const { core, socket } = await loadTestCore();
    core.exports.init(2);
    core.writeAddr(0, LOCAL);
    expect(core.daemonPid()).toBe(-1);
    expectRefused(core, socket, () => core.exports.addMapping(2, 0), S.DAEMON_UNAVAILABLE);
  });

  it("addMapping when not registered → NOT_REGISTERED", async () => {
    const { core, socket } = await loadTestCore();
    core.exports.init(2);
    // A MAPINFO request makes the daemon known but leaves the client INCOMPL.
    core.feed(new FakeDaemon(DAEMON).mapinfoRequest(4), DAEMON);
    expect([core.daemonPid(), core.exports.registration(2)]).toEqual([DAEMON, 4]);
    core.drainEvents();
    core.writeAddr(0, LOCAL);
    expectRefused(core, socket, () => core.exports.addMapping(2, 0), S.NOT_REGISTERED);
  });

  it("flags on a v3 daemon → INVALID_ARGUMENT", async () => {
    const { core, socket } = await primedClient(3);
    core.writeAddr(0, LOCAL);
    core.writeAddr(1, v4("198.51.100.7", 6000));
    expectRefused(core, socket, () => core.exports.addMapping(2, 1), S.INVALID_ARGUMENT);
    expectRefused(core, socket, () => core.exports.addAndQueryMapping(2, 1), S.INVALID_ARGUMENT);
  });

  it("registerPid with an empty or a 32-character device name → INVALID_ARGUMENT", async () => {
    const { core, socket } = await primedClient();
    // Client 3 is not registered, so only the name check stands between it and a send.
    core.exports.init(3);
    core.writeNames("", "eth0");
    expectRefused(core, socket, () => core.exports.registerPid(3), S.INVALID_ARGUMENT);
    // writeNames refuses 32 characters itself; write the field directly.
    const dev = core.exports.argsPtr() + 512;
    core.bytes().set(ascii("d".repeat(32)), dev);
    expect(core.bytes()[dev + 32]).toBe("e".charCodeAt(0)); // the netdev name follows, no NUL in between
    expectRefused(core, socket, () => core.exports.registerPid(3), S.INVALID_ARGUMENT);
  });

  it("exit of a never-initialized client → NOT_INITIALIZED", async () => {
    const { core, socket } = await primedClient();
    expectRefused(core, socket, () => core.exports.exit(7), S.NOT_INITIALIZED);
  });

  it("getRemoteInfo with nothing stored → NOT_FOUND", async () => {
    const { core, socket } = await loadTestCore();
    core.exports.init(2);
    core.writeAddr(0, STORED_INFO.mappedLocal);
    core.writeAddr(1, STORED_INFO.mappedRemote);
    expectRefused(core, socket, () => core.exports.getRemoteInfo(2), S.NOT_FOUND);
  });

  it("getRemoteInfo of an address pair nobody announced → NOT_FOUND", async () => {
    const { core, socket } = await primedClient();
    core.writeAddr(0, STORED_INFO.mappedLocal);
    core.writeAddr(1, OTHER_INFO.mappedRemote);
    expectRefused(core, socket, () => core.exports.getRemoteInfo(2), S.NOT_FOUND);
  });

  it("removeMapinfo of an unknown mapped address → NOT_FOUND", async () => {
    const { core, socket } = await primedClient();
    core.writeAddr(0, v4("192.0.2.1", 5000));
    core.writeAddr(1, v4("203.0.113.5", 1));
    expectRefused(core, socket, () => core.exports.removeMapinfo(), S.NOT_FOUND);
  });
});

// ---------------------------------------------------------------------------
// c. Fuzz
// ---------------------------------------------------------------------------

const FUZZ_SEED = 0x5eed_f022;
const FUZZ_ROUNDS = 20_000;

/** Daemon → client ops with the payloads a real daemon would put in, so mutations start close to the accepted paths. */
function daemonMessage(rng: Rng, pending: readonly number[]): GeneratedMessage {
  const op = rng.pick(Object.keys(SCHEMA[DIR_TO_CLIENT]).map(Number));
  const u32 = (n: number) => attrU32(0, n).slice(4);
  const u16 = (n: number) => attrU16(0, n).slice(4, 6);
  const seqAttr = pending.length > 0 && rng.chance(0.7) ? rng.pick(pending) : rng.int(0, 100);
  const values: Record<number, Uint8Array> = {};
  if (op === 0 || op === 1 || op === 2 || op === 5 || op === 7) values[1] = u32(seqAttr);
  if (op === 0) {
    values[2] = ascii("dev0\0");
    values[3] = ascii(`${ULIB}\0`);
    values[4] = u16(rng.pick([2, 3, 4, 5]));
  }
  if (op === 1 || op === 2) values[2] = sockaddrBytes(LOCAL);
  if (op === 5) values[2] = u16(rng.int(0, 20));
  if (op === 6) {
    if (rng.chance(0.8)) values[1] = ascii(`${ULIB}\0`);
    values[2] = u16(rng.pick([2, 3, 4]));
  }
  if (op === 8) values[1] = u16(rng.pick([2, 3, 4, 5]));
  return randomMessage(
    rng,
    { dir: DIR_TO_CLIENT, op, version: 4 },
    { client: rng.chance(0.85) ? 2 : rng.int(1, 63), pid: DAEMON, flags: 1, seq: rng.int(0, 1000), unknownChance: 0.15, values },
  );
}

/** A valid datagram of 1..3 messages, with the offsets of its messages and attributes for the mutator. */
function daemonDatagram(rng: Rng, pending: readonly number[]) {
  const messages: Uint8Array[] = [];
  for (let n = rng.int(1, 3); n > 0; n--) {
    const r = rng.next() % 10;
    if (r === 0) messages.push(randomDone(rng, DIR_TO_CLIENT, rng.chance(0.5)).bytes);
    else if (r === 1 && pending.length > 0) {
      const orig = nlmsg({ type: rdma(2, 1), seq: rng.pick(pending), pid: OWN }).slice(0, 16);
      const m = new Uint8Array(36);
      m.set(orig, 20);
      messages.push(setU32(setU32(setU32(setU16(m, 4, NLMSG_ERROR), 0, 36), 12, DAEMON), 16, -22));
    } else messages.push(daemonMessage(rng, pending).bytes);
  }
  const bytes = concat(...messages);
  const msgOffsets: number[] = [];
  const attrAt: number[] = [];
  let at = 0;
  for (const m of messages) {
    msgOffsets.push(at);
    if (new DataView(m.buffer).getUint16(4, true) >= 0x10) for (const a of attrOffsets(m)) attrAt.push(at + a);
    at += m.length;
  }
  return { bytes, msgOffsets, attrAt };
}

/** 1..3 of: bit flips, a truncation, nlmsg_len / nla_len / type rewrites, random bytes. */
function mutate(rng: Rng, d: ReturnType<typeof daemonDatagram>): Uint8Array {
  let out = d.bytes.slice();
  for (let n = rng.int(1, 3); n > 0 && out.length > 0; n--) {
    const v = new DataView(out.buffer);
    switch (rng.int(0, 5)) {
      case 0:
        for (let k = rng.int(1, 4); k > 0; k--) {
          const i = rng.int(0, out.length - 1);
          out[i] = (out[i] as number) ^ (1 << rng.int(0, 7));
        }
        break;
      case 1:
        out = out.slice(0, rng.int(0, out.length - 1));
        break;
      case 2: {
        const at = rng.pick(d.msgOffsets);
        if (at + 4 > out.length) break;
        const len = v.getUint32(at, true);
        v.setUint32(
          at,
          rng.pick([0, 1, 15, 16, 17, len - 1, len + 1, len + 4, out.length - at, out.length - at + 1, rng.next(), 0xffffffff]) >>> 0,
          true,
        );
        break;
      }
      case 3: {
        if (d.attrAt.length === 0) break;
        const at = rng.pick(d.attrAt);
        if (at + 2 > out.length) break;
        const len = v.getUint16(at, true);
        v.setUint16(at, rng.pick([0, 1, 3, 4, 5, len - 1, len + 1, len + 4, 0xffff, rng.int(0, 0xffff)]) & 0xffff, true);
        break;
      }
      case 4: {
        const at = rng.pick(d.msgOffsets);
        if (at + 6 > out.length) break;
        v.setUint16(at + 4, rng.chance(0.5) ? rng.int(0, 0xffff) : rdma(rng.int(0, 63), rng.int(0, 12)), true);
        break;
      }
      case 5:
        for (let k = rng.int(1, 8); k > 0; k--) out[rng.int(0, out.length - 1)] = rng.int(0, 255);
        break;
    }
  }
  return out;
}

describe(`fuzz: ${FUZZ_ROUNDS} mutated daemon datagrams (mulberry32 seed 0x${FUZZ_SEED.toString(16)})`, () => {
  it("never traps, keeps both tables sound and counts every datagram", async () => {
    const t = await primedClient();
    const { core, socket, clock, daemon } = t;
    const x = core.exports;
    x.init(3);
    // A small bound so that the REMOTE_INFO_FULL path runs too.
    x.setRemoteInfoLimit(64);
    const rng = new Rng(FUZZ_SEED);
    const pending: number[] = [t.pending];
    let fed = 0;
    const feed = (bytes: Uint8Array, port: number, what: string) => {
      try {
        core.feed(bytes, port);
      } catch (e) {
        // A trap is a WebAssembly.RuntimeError: name the exact input that caused it.
        throw new Error(`${what}: feeding ${hex(bytes)} from port ${port} threw ${String(e)}`);
      }
      fed++;
    };

    for (let round = 0; round < FUZZ_ROUNDS; round++) {
      // Keep the client in states where replies can match: a known daemon, a registration, pending requests.
      if (round % 50 === 0) {
        if (core.daemonPid() !== DAEMON) feed(daemon.hello(4), DAEMON, `round ${round} hello`);
        if (x.registration(2) !== 2) {
          core.writeNames("dev0", "eth0");
          const seq = x.registerPid(2);
          if (seq > 0) feed(daemon.regPidReply(seq, "dev0", { version: 4 }), DAEMON, `round ${round} registration`);
        }
        if (x.requestCount() < 8) {
          core.writeAddr(0, LOCAL);
          core.writeAddr(1, STORED_INFO.remote);
          for (const seq of [x.addMapping(2, 0), x.addAndQueryMapping(2, 0)]) if (seq > 0) pending.push(seq);
        }
        if (pending.length > 16) pending.splice(0, pending.length - 16);
      }
      if (round % 1000 === 999) {
        clock.advance(11_000);
        x.tick();
      }
      const bytes = mutate(rng, daemonDatagram(rng, pending));
      const port = rng.chance(0.85) ? DAEMON : rng.pick([0, 555, rng.int(1, 0x7fffffff)]);
      feed(bytes, port, `round ${round}`);
      const verify = [x.mapinfoVerify(), x.remoteInfoVerify()];
      if (verify[0] !== 0 || verify[1] !== 0) throw new Error(`round ${round}: verify ${verify} after ${hex(bytes)} from port ${port}`);
      core.drainEvents();
      socket.take();
    }
    expect(core.stats().rxDatagrams).toBe(fed);
    expect(fed).toBeGreaterThanOrEqual(FUZZ_ROUNDS);
    // The mutations must reach deep: most drop reasons should have been seen, not only framing errors.
    const stats = core.stats();
    expect(stats.dropped).toBeGreaterThan(FUZZ_ROUNDS / 4);
    expect(Object.keys(stats.drops).length).toBeGreaterThanOrEqual(15);
    expectSound(core);
  });
});
