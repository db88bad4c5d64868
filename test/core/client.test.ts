import { describe, expect, it } from "vitest";
import type { Core } from "../../src/core/core.js";
import type { CoreEvent } from "../../src/core/events.js";
import { loadRegisteredCore, loadTestCore } from "../support/core.js";
import { FakeDaemon, v4, v6 } from "../support/fake-daemon.js";
import { concat, parseDatagram, str, u16, u32 } from "../support/nl.js";

// The client state machine driven by scripted datagrams (reference §4).

const REG_UNDEF = 1;
const REG_VALID = 2;
const REG_INCOMPL = 4;

function only<K extends CoreEvent["kind"]>(core: Core, kind: K): Extract<CoreEvent, { kind: K }> {
  const events = core.drainEvents();
  expect(events.map((e) => e.kind)).toEqual([kind]);
  return events[0] as Extract<CoreEvent, { kind: K }>;
}

describe("registration", () => {
  it("multicasts REG_PID and becomes VALID on the daemon's reply", async () => {
    const { core, socket } = await loadTestCore();
    const daemon = new FakeDaemon(1234);
    core.exports.init(2);
    core.exports.setPort(4321);
    expect(core.exports.registration(2)).toBe(REG_UNDEF);
    expect(core.exports.validPid()).toBe(0);
    core.writeNames("siw0", "lo");
    const seq = core.exports.registerPid(2);
    expect(seq).toBeGreaterThan(0);
    const [sent] = socket.take();
    expect(sent).toMatchObject({ port: 0, groups: 2 });
    const [msg] = parseDatagram(sent?.bytes as Uint8Array);
    expect(msg).toMatchObject({ type: 0x800, seq, pid: 4321 });
    expect(str(msg?.attrs.get(3))).toBe("siw0");
    expect(str(msg?.attrs.get(4))).toBe("iWarpPortMapperUser");

    core.feed(daemon.regPidReply(seq, "siw0", { version: 4, seq: 7 }), daemon.port);
    const done = only(core, "requestDone");
    expect(done).toMatchObject({ seq, status: 0, abiVersion: 4, daemonVersion: 4, port: 1234 });
    expect(core.exports.validPid()).toBe(1);
    expect(core.daemonPid()).toBe(1234);
    expect(core.exports.registration(2)).toBe(REG_VALID);
    expect(core.exports.echoSeq()).toBe(7);
    expect(core.exports.negotiatedVersion()).toBe(4);
    // Already VALID: nothing to send.
    expect(core.exports.registerPid(2)).toBe(0);
    expect(socket.sent).toHaveLength(0);
  });

  it("rejects a reply naming another device with IWPM_USER_LIB_INFO_ERR and stays unregistered", async () => {
    const { core } = await loadTestCore();
    core.exports.init(2);
    core.writeNames("siw0", "lo");
    const seq = core.exports.registerPid(2);
    core.feed(new FakeDaemon().regPidReply(seq, "rxe0"), 1234);
    expect(only(core, "requestDone").status).toBe(15);
    expect(core.exports.registration(2)).toBe(REG_UNDEF);
    expect(core.exports.validPid()).toBe(0);
  });

  it("marks the pid unavailable when the multicast cannot be sent, and stops trying", async () => {
    const { core, socket } = await loadTestCore();
    core.exports.init(2);
    core.writeNames("siw0", "lo");
    socket.failWith = 71; // ESRCH: nobody in the group
    expect(core.exports.registerPid(2)).toBe(-125);
    expect(core.daemonPid()).toBe(-2);
    expect(core.exports.requestCount()).toBe(0);
    socket.failWith = 0;
    expect(core.exports.registerPid(2)).toBe(0);
    expect(socket.sent).toHaveLength(0);
    // A daemon announcing itself makes registration possible again.
    core.feed(new FakeDaemon(99).hello(4), 99);
    expect(core.daemonPid()).toBe(99);
    expect(core.exports.registerPid(2)).toBeGreaterThan(0);
    // A known daemon is named as well as the group, so it hears REG_PID even outside the group.
    expect(socket.take().at(-1)).toMatchObject({ port: 99, groups: 2 });
  });
});

describe("mappings", () => {
  it("adds a mapping and reports the daemon's mapped address", async () => {
    const { core, socket, daemon } = await loadRegisteredCore();
    core.writeAddr(0, v4("10.0.0.1", 5555));
    const seq = core.exports.addMapping(2, 0);
    const [sent] = socket.take();
    expect(sent?.port).toBe(daemon.port);
    const [msg] = parseDatagram(sent?.bytes as Uint8Array);
    expect(msg?.type).toBe(0x801);
    expect(u32(msg?.attrs.get(3))).toBe(0);
    core.feed(daemon.addReply(seq, v4("10.0.0.1", 5555), v4("10.0.0.1", 40000)), daemon.port);
    const done = only(core, "requestDone");
    expect(done).toMatchObject({ seq, status: 0, mappedLocal: { family: "ipv4", address: "10.0.0.1", port: 40000 } });
    expect(core.exports.requestCount()).toBe(0);
  });

  it("refuses a reply that echoes another local address", async () => {
    const { core, daemon } = await loadRegisteredCore();
    core.writeAddr(0, v6("fd00::1", 5555));
    const seq = core.exports.addMapping(2, 1);
    core.feed(daemon.addReply(seq, v6("fd00::2", 5555), v6("fd00::2", 40000)), daemon.port);
    const done = only(core, "requestDone");
    expect(done.status).toBe(15);
    expect(done.mappedLocal).toBeNull();
  });

  it("queries a mapping: both mapped addresses, or the peer's reject", async () => {
    const { core, daemon } = await loadRegisteredCore();
    const local = v4("10.0.0.1", 5555);
    const remote = v4("10.0.0.2", 6000);
    core.writeAddr(0, local);
    core.writeAddr(1, remote);
    const seq = core.exports.addAndQueryMapping(2, 0);
    core.feed(
      daemon.queryReply(seq, { local, remote, mappedLocal: v4("10.0.0.1", 40001), mappedRemote: v4("10.0.0.2", 41000) }),
      daemon.port,
    );
    expect(only(core, "requestDone")).toMatchObject({ status: 0, mappedLocal: { port: 40001 }, mappedRemote: { port: 41000 } });

    const seq2 = core.exports.addAndQueryMapping(2, 0);
    core.feed(daemon.queryReply(seq2, { local, remote, mappedLocal: v4("10.0.0.1", 40002), mappedRemote: remote }, 16), daemon.port);
    expect(only(core, "requestDone")).toMatchObject({ seq: seq2, status: 16 });
  });

  it("sends REMOVE_MAPPING without waiting", async () => {
    const { core, socket, daemon } = await loadRegisteredCore();
    core.writeAddr(0, v4("10.0.0.1", 5555));
    expect(core.exports.removeMapping(2)).toBe(0);
    const [sent] = socket.take();
    const [msg] = parseDatagram(sent?.bytes as Uint8Array);
    expect(msg?.type).toBe(0x803);
    expect(sent?.port).toBe(daemon.port);
    expect(core.exports.requestCount()).toBe(0);
  });

  it("fails exactly the request a HANDLE_ERR names", async () => {
    const { core, daemon } = await loadRegisteredCore();
    core.writeAddr(0, v4("10.0.0.1", 5555));
    const a = core.exports.addMapping(2, 0);
    core.writeAddr(0, v4("10.0.0.1", 5556));
    const b = core.exports.addMapping(2, 0);
    core.feed(daemon.handleErr(a, 12), daemon.port);
    expect(only(core, "requestDone")).toMatchObject({ seq: a, status: 12 });
    expect(core.exports.requestCount()).toBe(1);
    core.feed(daemon.addReply(b, v4("10.0.0.1", 5556), v4("10.0.0.1", 40000)), daemon.port);
    expect(only(core, "requestDone")).toMatchObject({ seq: b, status: 0 });
    // A mapinfo error names no request: reported as it is.
    core.feed(daemon.handleErr(0, 11), daemon.port);
    expect(only(core, "mappingError")).toMatchObject({ code: 11, port: daemon.port });
  });

  it("handles every message of a datagram", async () => {
    const { core, daemon } = await loadRegisteredCore();
    core.writeAddr(0, v4("10.0.0.1", 1));
    const a = core.exports.addMapping(2, 0);
    core.writeAddr(0, v4("10.0.0.1", 2));
    const b = core.exports.addMapping(2, 0);
    core.feed(
      concat(daemon.addReply(a, v4("10.0.0.1", 1), v4("10.0.0.1", 41)), daemon.addReply(b, v4("10.0.0.1", 2), v4("10.0.0.1", 42))),
      daemon.port,
    );
    expect(core.drainEvents().map((e) => (e.kind === "requestDone" ? e.mappedLocal?.port : 0))).toEqual([41, 42]);
  });
});

describe("remote info", () => {
  it("stores REMOTE_INFO and hands the remote address out once", async () => {
    const { core, daemon } = await loadRegisteredCore();
    const info = {
      local: v4("10.0.0.2", 7000),
      remote: v4("10.0.0.1", 6000),
      mappedLocal: v4("10.0.0.2", 47000),
      mappedRemote: v4("10.0.0.1", 46000),
    };
    core.feed(daemon.remoteInfo(info), daemon.port);
    expect(only(core, "remoteInfo")).toMatchObject({ nlClient: 2, ...info });
    expect(core.exports.remoteInfoSize()).toBe(1);
    core.writeAddr(0, info.mappedLocal);
    core.writeAddr(1, info.mappedRemote);
    expect(core.exports.getRemoteInfo(2)).toBe(0);
    expect(core.readAddr(2)).toEqual(info.remote);
    expect(core.exports.getRemoteInfo(2)).toBe(-127);
    expect(core.exports.remoteInfoSize()).toBe(0);
  });
});

describe("daemon (re)start", () => {
  it("answers HELLO with the negotiated version and learns the daemon's port", async () => {
    const { core, socket, daemon: old } = await loadRegisteredCore();
    const daemon = new FakeDaemon(5555);
    // While the known daemon still holds its port, another one cannot take its place.
    core.feed(daemon.hello(4), daemon.port);
    expect(core.drainEvents()).toEqual([]);
    expect(core.stats().drops).toEqual({ 132: 1 });
    expect(core.daemonPid()).toBe(old.port);
    socket.take();
    socket.gone.add(old.port);
    core.feed(daemon.hello(4), daemon.port);
    expect(only(core, "daemonHello")).toMatchObject({ version: 4, offered: 4, port: 5555, answeredAsV3: false });
    // The probe of the old port was refused (the fake records only what it delivered).
    const [sent] = socket.take();
    expect(sent?.port).toBe(5555);
    const [msg] = parseDatagram(sent?.bytes as Uint8Array);
    expect(msg?.type).toBe(0x808);
    expect(u16(msg?.attrs.get(1))).toBe(4);
    expect(core.daemonPid()).toBe(5555);
    expect(core.exports.registration(2)).toBe(REG_INCOMPL);
    // INCOMPL: register again before the next mapping.
    core.writeAddr(0, v4("10.0.0.1", 5555));
    expect(core.exports.addMapping(2, 0)).toBe(-124);
  });

  it("takes a daemon port above 2^31 (an autobound netlink port) as valid", async () => {
    const { core, socket } = await loadTestCore();
    core.exports.init(2);
    const port = 0xfffff000;
    core.feed(new FakeDaemon(port).hello(4), port);
    expect(core.exports.validPid()).toBe(1);
    expect(core.daemonPid()).toBe(port);
    core.writeNames("siw0", "lo");
    core.exports.registerPid(2);
    expect(socket.take().at(-1)).toMatchObject({ port, groups: 2 });
  });

  it("adopts v3 from a HELLO offering 3, then sends no FLAGS", async () => {
    const { core, socket, daemon } = await loadRegisteredCore();
    core.feed(daemon.hello(3), daemon.port);
    expect(core.exports.negotiatedVersion()).toBe(3);
    core.writeNames("siw0", "lo");
    const seq = core.exports.registerPid(2);
    core.feed(daemon.regPidReply(seq, "siw0", { version: 3 }), daemon.port);
    socket.take();
    core.writeAddr(0, v4("10.0.0.1", 5555));
    expect(core.exports.addMapping(2, 1)).toBe(-122);
    core.exports.addMapping(2, 0);
    const [msg] = parseDatagram(socket.take()[0]?.bytes as Uint8Array);
    expect(msg?.len).toBe(156);
    expect(msg?.attrs.has(3)).toBe(false);
  });

  it("as a v3 client answers HELLO with NLMSG_ERROR so the daemon falls back, then resends without FLAGS", async () => {
    const { core, socket } = await loadTestCore();
    core.exports.init(2);
    core.exports.setMaxVersion(3);
    const daemon = new FakeDaemon(1234);
    const hello = daemon.hello(4);
    core.feed(hello, daemon.port);
    expect(only(core, "daemonHello")).toMatchObject({ answeredAsV3: true, version: 3 });
    const [err] = socket.take();
    const [msg] = parseDatagram(err?.bytes as Uint8Array);
    expect(msg).toMatchObject({ type: 2, seq: 0, pid: 1234, len: 16 + 4 + hello.length });
    expect(new DataView(msg?.bytes.buffer as ArrayBuffer, msg?.bytes.byteOffset).getInt32(16, true)).toBe(-22);
    expect(Buffer.from(msg?.bytes.subarray(20) as Uint8Array).equals(Buffer.from(hello))).toBe(true);

    core.writeAddr(0, v4("10.0.0.1", 5555));
    core.writeAddr(1, v4("10.0.0.1", 40000));
    core.exports.createMapinfo(2, 0);
    core.feed(daemon.mapinfoRequest(3), daemon.port);
    const [batch] = socket.take();
    const records = parseDatagram(batch?.bytes as Uint8Array);
    expect(records.map((r) => [r.type, r.len])).toEqual([
      [0x806, 280],
      [3, 16],
    ]);
  });

  it("resends every record of this client in datagrams iwpmd reads whole, then MAPINFO_NUM with the count", async () => {
    const { core, socket, daemon } = await loadRegisteredCore();
    const n = 1000;
    core.exports.init(3);
    for (let i = 0; i < n; i++) {
      core.writeAddr(0, v4("10.1.0.1", 1000 + i));
      core.writeAddr(1, v4("10.1.0.1", 30000 + i));
      expect(core.exports.createMapinfo(i % 10 === 0 ? 3 : 2, i % 2)).toBe(0);
    }
    core.feed(daemon.mapinfoRequest(4), daemon.port);
    const events = core.drainEvents();
    expect(events.map((e) => e.kind)).toEqual(["mapinfoRequest", "mapinfoSent"]);
    const sent = socket.take();
    const num = sent.pop();
    const ports: number[] = [];
    const seqs = new Set<number>();
    for (const d of sent) {
      expect(d.bytes.length).toBeLessThanOrEqual(4112);
      expect(d.port).toBe(daemon.port);
      const msgs = parseDatagram(d.bytes);
      expect(msgs.at(-1)?.type).toBe(3); // NLMSG_DONE ends each datagram
      for (const m of msgs.slice(0, -1)) {
        expect(m).toMatchObject({ type: 0x806, flags: 2 });
        // Each record has a sequence number of its own, so a HANDLE_ERR can name it.
        expect(m.seq).toBeGreaterThan(0);
        seqs.add(m.seq);
        ports.push(new DataView(m.attrs.get(1)?.buffer as ArrayBuffer, (m.attrs.get(1)?.byteOffset as number) + 2).getUint16(0, false));
      }
    }
    const expected = Array.from({ length: n }, (_, i) => 1000 + i).filter((_, i) => i % 10 !== 0);
    expect(ports).toEqual(expected);
    expect(seqs.size).toBe(expected.length);
    expect(events[1]).toMatchObject({ records: expected.length, datagrams: sent.length, status: 0 });
    const [numMsg] = parseDatagram(num?.bytes as Uint8Array);
    expect(numMsg?.type).toBe(0x807);
    expect(u32(numMsg?.attrs.get(1))).toBe(0);
    expect(u32(numMsg?.attrs.get(2))).toBe(expected.length);
    core.feed(daemon.mapinfoAck(numMsg?.seq as number, expected.length, expected.length), daemon.port);
    expect(only(core, "mapinfoAck")).toMatchObject({ sent: expected.length, acked: expected.length });
    expect(core.exports.registration(2)).toBe(REG_INCOMPL);
  });

  it("sends nothing back when no client holds any record", async () => {
    const { core, socket, daemon } = await loadRegisteredCore();
    core.feed(daemon.mapinfoRequest(4), daemon.port);
    expect(core.drainEvents().map((e) => e.kind)).toEqual(["mapinfoRequest"]);
    expect(socket.sent).toHaveLength(0);
  });
});

describe("timeouts", () => {
  it("settles a request at its deadline with TIMEOUT and frees it", async () => {
    const { core, clock } = await loadRegisteredCore();
    core.exports.setTimeoutMs(1000);
    // Only the deadline here; liveness probes have their own tests.
    core.exports.setLivenessMs(0);
    core.writeAddr(0, v4("10.0.0.1", 5555));
    const seq = core.exports.addMapping(2, 0);
    expect(core.exports.nextTimeoutMs()).toBe(1000);
    clock.advance(999);
    expect(core.exports.tick()).toBe(0);
    expect(core.exports.nextTimeoutMs()).toBe(1);
    clock.advance(1);
    expect(core.exports.tick()).toBe(1);
    expect(only(core, "requestDone")).toMatchObject({ seq, status: 120, op: 1 });
    expect(core.exports.requestCount()).toBe(0);
    expect(core.exports.nextTimeoutMs()).toBe(-1);
    expect(core.daemonPid()).toBe(1234);
  });

  it("expires by deadline, not by send order, when the timeout changes", async () => {
    const { core, clock } = await loadRegisteredCore();
    core.writeAddr(0, v4("10.0.0.1", 1));
    core.exports.setTimeoutMs(5000);
    const slow = core.exports.addMapping(2, 0);
    core.exports.setTimeoutMs(1000);
    const fast = core.exports.addMapping(2, 0);
    clock.advance(1000);
    core.exports.tick();
    expect(only(core, "requestDone").seq).toBe(fast);
    clock.advance(4000);
    core.exports.tick();
    expect(only(core, "requestDone").seq).toBe(slow);
  });
});

describe("lifecycle and failures", () => {
  it("fails a client's pending requests when its last init is undone", async () => {
    const { core } = await loadRegisteredCore();
    // A second init resets registration (as the refcounted kernel API did): register again.
    core.exports.init(2);
    expect(core.exports.registration(2)).toBe(REG_UNDEF);
    core.writeNames("siw0", "lo");
    core.feed(new FakeDaemon(1234).regPidReply(core.exports.registerPid(2), "siw0"), 1234);
    core.drainEvents();
    core.writeAddr(0, v4("10.0.0.1", 5555));
    const seq = core.exports.addMapping(2, 0);
    expect(core.exports.exit(2)).toBe(0);
    expect(core.drainEvents()).toEqual([]);
    expect(core.exports.exit(2)).toBe(0);
    expect(only(core, "requestDone")).toMatchObject({ seq, status: 128 });
    expect(core.exports.exit(2)).toBe(-121);
  });

  it("applies the kernel's pid rules to a failed send", async () => {
    const { core, socket } = await loadRegisteredCore();
    core.writeAddr(0, v4("10.0.0.1", 5555));
    socket.failWith = 14;
    expect(core.exports.addMapping(2, 0)).toBe(-125);
    expect(core.exports.lastErrno()).toBe(14);
    expect(core.daemonPid()).toBe(-1);
  });
});

describe("replies sent at the end of a poll pass", () => {
  it("reports a HELLO answer the socket refused in the daemonHello event, after the pass", async () => {
    const { core, socket } = await loadTestCore();
    const daemon = new FakeDaemon(5555);
    core.exports.init(2);
    core.exports.setPort(4321);
    socket.inbox.push({ bytes: daemon.hello(4), port: daemon.port, groups: 0 });
    socket.failWith = 14;
    core.exports.poll();
    expect(only(core, "daemonHello")).toMatchObject({ port: 5555, status: 125 });
    expect(core.exports.lastErrno()).toBe(14);
    expect(core.stats().txDatagrams).toBe(0);
  });
});
