import { beforeAll, describe, expect, it } from "vitest";
import { NetlinkPcapWriter, readCapture } from "../../src/capture/pcap.js";
import type { CoreExports } from "../../src/core/core.js";
import { decodeRecords, loadDecoderCore } from "../../src/replay/decode.js";
import { buildTimeline, type Timeline } from "../../src/replay/state.js";
import { coreModule } from "../support/core.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";
import { attrAddr, attrU32, nlmsg, rdma } from "../support/nl.js";
import { CLIENT_PORT, concatChunks, DAEMON_1, DAEMON_2, makeScenario, type Scenario } from "./scenario.js";

let x: CoreExports;
let s: Scenario;
let tl: Timeline;
beforeAll(async () => {
  x = await loadDecoderCore(coreModule());
  s = await makeScenario();
  tl = buildTimeline(decodeRecords(x, readCapture(s.pcap).records).messages);
});

const kinds = (t: Timeline, at: number) => t.stateAt(at).anomalies.map((a) => a.kind);

describe("state over time", () => {
  it("has no state before the first message and the daemon once HELLO arrived", () => {
    const before = tl.stateAt(-1);
    expect(before).toMatchObject({ index: -1, mappings: [], pending: [], daemon: { pid: null } });
    expect(tl.stateAt(s.marks.hello as number).daemon).toMatchObject({ pid: DAEMON_1, version: 4 });
    // HELLO only offers a version: with no answer from the client, none is in use
    const unanswered = timelineOf([
      [0, "in", new FakeDaemon(DAEMON_1).hello(4), DAEMON_1],
      [0.1, "out", add(7, 5555)],
    ]);
    expect(unanswered.final().daemon).toMatchObject({ pid: DAEMON_1, version: null, offered: 4 });
  });

  it("shows a request pending between its sending and its answer", () => {
    const sent = tl.stateAt(s.marks.addSent as number);
    expect(sent.pending.map((r) => [r.label, r.seq, r.subject, r.overdue])).toEqual([
      ["ADD_MAPPING request", s.seqs.add, "127.0.0.1:5555", false],
    ]);
    expect(sent.mappings).toEqual([]);
    const added = tl.stateAt(s.marks.added as number);
    expect(added.pending).toEqual([]);
    expect(added.mappings.map((m) => [m.client, m.local, m.mapped, m.source])).toEqual([
      [2, "127.0.0.1:5555", "127.0.0.1:40000", "ADD_MAPPING"],
    ]);
  });

  it("adds the queried mapping with its remote, drops it at REMOVE, and keeps REMOTE_INFO", () => {
    const q = tl.stateAt(s.marks.queried as number);
    expect(q.mappings.map((m) => m.local)).toEqual(["127.0.0.1:5555", "10.0.0.1:6000"]);
    expect(q.mappings[1]).toMatchObject({ source: "QUERY_MAPPING", flags: 1, remote: "10.0.0.2:7000", mappedRemote: "10.0.0.2:47000" });
    expect(tl.stateAt(s.marks.remoteInfo as number).remoteInfo).toMatchObject([
      { local: "127.0.0.1:5555", remote: "10.0.0.9:9000", mappedRemote: "10.0.0.9:49000" },
    ]);
    const removed = tl.stateAt(s.marks.removed as number);
    expect(removed.mappings.map((m) => m.local)).toEqual(["127.0.0.1:5555"]);
    expect(tl.mappings.find((m) => m.local === "10.0.0.1:6000")?.removed).toBeCloseTo(s.marks.removed as number, 6);
  });

  it("lists anomalies as they become evident", () => {
    expect(kinds(tl, s.marks.queried as number)).toEqual([]);
    expect(kinds(tl, s.marks.handleErr as number)).toEqual(["handle-err"]);
    expect(kinds(tl, s.marks.stray as number)).toEqual(["handle-err", "stray-response"]);
    expect(kinds(tl, s.marks.restarted as number)).toEqual(["handle-err", "stray-response", "daemon-restart"]);
    // the lost ADD is pending, not yet an anomaly, until 10 s have passed
    const lost = s.marks.lostSent as number;
    expect(tl.stateAt(lost + 5).pending.map((r) => [r.seq, r.overdue])).toEqual([[s.seqs.lost, false]]);
    expect(kinds(tl, lost + 5)).not.toContain("unanswered");
    expect(tl.stateAt(lost + 10.5).pending.map((r) => [r.seq, r.overdue])).toEqual([[s.seqs.lost, true]]);
    expect(kinds(tl, lost + 10.5)).toContain("unanswered");
  });

  it("follows the restarted daemon: new port, the replayed MAPINFO record matches the table", () => {
    const r = tl.stateAt(s.marks.acked as number);
    expect(r.daemon).toMatchObject({ pid: DAEMON_2, version: 4 });
    expect(r.mappings.map((m) => [m.local, m.source])).toEqual([["127.0.0.1:5555", "ADD_MAPPING"]]);
    expect(tl.daemons.map((d) => d.pid)).toEqual([DAEMON_1, DAEMON_2]);
  });

  it("answers by message index as well as by time", () => {
    expect(tl.stateAtIndex(6).mappings).toHaveLength(1);
    expect(tl.stateAtIndex(5).mappings).toHaveLength(0);
    expect(tl.indexAt(s.marks.added as number)).toBe(6);
    expect(tl.final({ limit: 1 }).remoteInfo).toHaveLength(1);
    expect(tl.final({ limit: 1 }).counts.remoteInfo).toBe(2);
  });

  it("flags late and duplicate answers, a REMOVE of an unknown mapping, and a short MAPINFO ack", () => {
    const d = new FakeDaemon(DAEMON_1);
    const remove = nlmsg({ type: rdma(2, 3), seq: 3, pid: CLIENT_PORT }, [attrU32(1, 0), attrAddr(2, v4("127.0.0.1", 9999))]);
    const num = nlmsg({ type: rdma(2, 7), seq: 4, pid: CLIENT_PORT }, [attrU32(1, 0), attrU32(2, 5)]);
    const reply = d.addReply(1, v4("127.0.0.1", 5555), v4("127.0.0.1", 40000));
    const onTime = d.addReply(2, v4("127.0.0.1", 5556), v4("127.0.0.1", 40001));
    const t2 = timelineOf([
      [0, "out", add(1, 5555)],
      [12, "in", reply], // after the client's 10 s
      [12.05, "in", reply], // again: the client still knows it only as timed out
      [12.06, "out", add(2, 5556)],
      [12.07, "in", onTime],
      [12.1, "in", onTime], // again, once answered
      [12.2, "out", remove],
      [12.3, "out", num],
      [12.4, "in", d.mapinfoAck(4, 5, 3)],
    ]);
    expect(t2.final().anomalies.map((a) => [a.kind, a.reason])).toEqual([
      ["late-response", "LATE_RESPONSE"],
      ["late-response", "LATE_RESPONSE"],
      ["duplicate-response", "DUPLICATE_RESPONSE"],
      ["unknown-remove", "NOT_FOUND"],
      ["mapinfo-count", undefined],
    ]);
    expect(t2.requests[0]).toMatchObject({ outcome: "ok", late: true });
    expect(t2.requests[1]).toMatchObject({ outcome: "ok" });
    expect(t2.requests[1]?.late).toBeUndefined();
    expect(t2.final().mappings.map((m) => m.local)).toEqual(["127.0.0.1:5556"]);
  });

  it("reports what the client refuses with the client's own drop reason", () => {
    const d = new FakeDaemon(DAEMON_1);
    const t = timelineOf([
      [0, "in", d.hello(4), DAEMON_1],
      [0.1, "out", add(7, 5555)],
      // the daemon's pid in a datagram from another port: a forgery the client refuses
      [0.2, "in", d.addReply(7, v4("127.0.0.1", 5555), v4("127.0.0.1", 41000)), 6666],
      // a reply naming a seq the client never used
      [0.3, "in", d.addReply(8, v4("127.0.0.1", 5555), v4("127.0.0.1", 41000)), DAEMON_1],
      [0.4, "in", d.addReply(7, v4("127.0.0.1", 5555), v4("127.0.0.1", 40000)), DAEMON_1],
      // the same seq asked again while it waits: no client does that
      [0.5, "out", add(9, 5557)],
      [0.6, "out", add(9, 5558)],
    ]);
    const a = t.final().anomalies;
    expect(a.map((x) => [x.index, x.kind, x.reason])).toEqual([
      [2, "invalid-message", "WRONG_SOURCE"],
      [3, "stray-response", "STRAY_SEQ"],
      [5, "unanswered", undefined],
      [6, "duplicate-response", "SEQ_IN_USE"],
      [6, "unanswered", undefined],
    ]);
    // The forged reply settled nothing; the genuine one did, with its own mapped address.
    expect(t.final().mappings.map((m) => m.mapped)).toEqual(["127.0.0.1:40000"]);
    expect(t.requests[0]).toMatchObject({ outcome: "ok", answeredAt: 4 });
  });
});

const add = (seq: number, port: number) =>
  nlmsg({ type: rdma(2, 1), seq, pid: CLIENT_PORT }, [attrU32(1, 0), attrAddr(2, v4("127.0.0.1", port)), attrU32(3, 0)]);

/** The timeline of a client-side capture of these datagrams (seconds, direction, bytes, peer port). */
function timelineOf(items: [number, "in" | "out", Uint8Array, number?][]): Timeline {
  const chunks: Uint8Array[] = [];
  const w = new NetlinkPcapWriter((b) => chunks.push(b));
  for (const [t, direction, bytes, port] of items)
    w.write({ sec: 100 + Math.floor(t), nsec: Math.round((t % 1) * 1e9) }, { direction, port: port ?? 0 }, bytes);
  return buildTimeline(decodeRecords(x, readCapture(concatChunks(chunks)).records, { side: "client" }).messages);
}
