import { describe, expect, it } from "vitest";
import { Status } from "../../src/gen/protocol.js";
import { loadRegisteredCore, loadTestCore } from "../support/core.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";
import { parseDatagram } from "../support/nl.js";

// Liveness: requests that wait make the core probe the daemon's port; a refused probe fails them
// all at once with DAEMON_GONE (fake socket and clock: the socket refuses ports marked gone).

const NLMSG_DONE = 3;
const PID_UNDEFINED = -1;

function addMappings(t: Awaited<ReturnType<typeof loadRegisteredCore>>, n: number): number[] {
  const seqs: number[] = [];
  for (let k = 0; k < n; k++) {
    t.core.writeAddr(0, v4("10.0.0.1", 5000 + k));
    const seq = t.core.exports.addMapping(2, 0);
    expect(seq).toBeGreaterThan(0);
    seqs.push(seq);
  }
  t.socket.take();
  return seqs;
}

describe("liveness probes", () => {
  it("arms the probe before the timeout and sends a bare NLMSG_DONE to the daemon's port", async () => {
    const t = await loadRegisteredCore();
    t.core.exports.setLivenessMs(300);
    addMappings(t, 1);
    expect(t.core.exports.nextTimeoutMs()).toBe(300);
    t.clock.advance(299);
    expect(t.core.exports.tick()).toBe(0);
    expect(t.socket.take()).toEqual([]);
    t.clock.advance(1);
    expect(t.core.exports.tick()).toBe(0);
    const [probe, ...more] = t.socket.take();
    expect(more).toEqual([]);
    expect(probe).toMatchObject({ port: t.daemon.port, groups: 0 });
    const [msg, ...rest] = parseDatagram(probe?.bytes as Uint8Array);
    expect(rest).toEqual([]);
    expect(msg).toMatchObject({ type: NLMSG_DONE, pid: 4321 });
    // The daemon held its port: the next probe is one interval later, the request still waits.
    expect(t.core.exports.nextTimeoutMs()).toBe(300);
    expect(t.core.exports.requestCount()).toBe(1);
    expect(t.core.drainEvents()).toEqual([]);
  });

  it("fails every pending request with DAEMON_GONE when the daemon's port is refused", async () => {
    const t = await loadRegisteredCore();
    const seqs = addMappings(t, 100);
    t.socket.gone.add(t.daemon.port);
    t.clock.advance(250);
    expect(t.core.exports.tick()).toBe(100);
    const events = t.core.drainEvents();
    expect(events.map((e) => (e.kind === "requestDone" ? e.seq : -1)).sort()).toEqual([...seqs].sort());
    for (const e of events) expect(e).toMatchObject({ kind: "requestDone", status: Status.DAEMON_GONE, op: 1 });
    expect(t.core.exports.requestCount()).toBe(0);
    expect(t.core.exports.nextTimeoutMs()).toBe(-1);
    // As after a failed send in the kernel: no daemon is known, so mapping calls fail at once.
    expect(t.core.daemonPid()).toBe(PID_UNDEFINED);
    t.core.writeAddr(0, v4("10.0.0.1", 6000));
    expect(t.core.exports.addMapping(2, 0)).toBe(-Status.DAEMON_UNAVAILABLE);
  });

  it("lets a restarted daemon announce itself from a new port after it was found gone", async () => {
    const t = await loadRegisteredCore();
    addMappings(t, 1);
    t.socket.gone.add(t.daemon.port);
    t.clock.advance(250);
    t.core.exports.tick();
    t.core.drainEvents();
    const fresh = new FakeDaemon(5678);
    t.core.feed(fresh.hello(4), fresh.port);
    expect(t.core.daemonPid()).toBe(fresh.port);
    expect(t.core.stats().drops).toEqual({});
  });

  it("probes nothing with liveness 0, or without a known daemon", async () => {
    const off = await loadRegisteredCore();
    off.core.exports.setLivenessMs(0);
    addMappings(off, 1);
    off.socket.gone.add(off.daemon.port);
    off.clock.advance(9_999);
    expect(off.core.exports.tick()).toBe(0);
    expect(off.socket.take()).toEqual([]);
    off.clock.advance(1);
    expect(off.core.exports.tick()).toBe(1);
    expect(off.core.drainEvents()).toMatchObject([{ status: Status.TIMEOUT }]);

    const t = await loadTestCore();
    t.core.exports.init(2);
    t.core.writeNames("siw0", "lo");
    expect(t.core.exports.registerPid(2)).toBeGreaterThan(0);
    t.socket.take();
    expect(t.core.exports.nextTimeoutMs()).toBe(10_000);
    t.clock.advance(5_000);
    expect(t.core.exports.tick()).toBe(0);
    expect(t.socket.take()).toEqual([]);
  });

  it("counts the interval from when requests started waiting again, not from an earlier idle time", async () => {
    const t = await loadRegisteredCore();
    const [first] = addMappings(t, 1);
    t.core.feed(t.daemon.addReply(first as number, v4("10.0.0.1", 5000), v4("10.0.0.1", 40000)), t.daemon.port);
    expect(t.core.drainEvents()).toMatchObject([{ kind: "requestDone", status: Status.OK }]);
    t.clock.advance(1_000);
    addMappings(t, 1);
    expect(t.core.exports.nextTimeoutMs()).toBe(250);
    expect(t.core.exports.tick()).toBe(0);
    expect(t.socket.take()).toEqual([]);
  });
});
