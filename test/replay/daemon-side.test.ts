// Daemon-side captures replayed on a daemon core instance: the captures are what a real daemon
// core received and answered (the service harness), written as its own socket saw them; some have
// an answer forged, so that only the replay's daemon instance can tell what the daemon did.

import { beforeAll, describe, expect, it } from "vitest";
import { NetlinkPcapWriter, readCapture } from "../../src/capture/pcap.js";
import type { CoreExports } from "../../src/core/core.js";
import { decodeRecords, loadDecoderCore } from "../../src/replay/decode.js";
import { OP_QUERY_MAPPING } from "../../src/replay/names.js";
import { loadDaemonCore } from "../../src/replay/peer-engine.js";
import { buildTimeline, type Timeline } from "../../src/replay/state.js";
import { loadService, type ServiceHarness } from "../service/harness.js";
import { addMapping, CLIENT_PORT, mapinfo, queryMapping, regPid, removeMapping } from "../service/messages.js";
import { coreModule, daemonCoreModule } from "../support/core.js";
import { attrAddr, attrU32, nlmsg, rdma } from "../support/nl.js";
import { concatChunks } from "./scenario.js";

let x: CoreExports;
beforeAll(async () => {
  x = await loadDecoderCore(coreModule());
  await loadDaemonCore(daemonCoreModule());
});

const v4 = (address: string, port: number) => ({ family: "ipv4" as const, address, port });
const EPOCH_NS = 1_790_000_000_000_000_000n;
const STEP_NS = 10_000_000n;

/** The daemon's socket as a capture: what it received ("in") and what it sent ("out"). */
class DaemonCapture {
  private readonly chunks: Uint8Array[] = [];
  private readonly writer = new NetlinkPcapWriter((b) => this.chunks.push(b));
  private ns = EPOCH_NS;
  /** Message index of each record written, in order. */
  count = 0;

  private constructor(private h: ServiceHarness) {}

  static async start(): Promise<DaemonCapture> {
    return new DaemonCapture(await loadService());
  }

  /** Another daemon takes over the socket's place (netlink port `port`) and announces itself. */
  async restart(port: number): Promise<number> {
    this.h = await loadService({ port });
    const at = this.count;
    this.h.core.exports.serviceStart();
    for (const s of this.h.nl.take()) this.record("out", s.port, s.bytes);
    return at;
  }

  /** Feeds `bytes` to the daemon and records it with whatever the daemon sent; returns its index. */
  receive(bytes: Uint8Array, from = CLIENT_PORT): number {
    const at = this.record("in", from, bytes);
    this.h.feed(bytes);
    for (const s of this.h.nl.take()) this.record("out", s.port, s.bytes);
    return at;
  }

  /** Feeds `bytes` to the daemon but records, instead of its answers, `forged` as if it sent that. */
  receiveForged(bytes: Uint8Array, forged: Uint8Array): { at: number; answers: Uint8Array[] } {
    const at = this.record("in", CLIENT_PORT, bytes);
    this.h.feed(bytes);
    const answers = this.h.nl.take().map((s) => s.bytes);
    this.record("out", CLIENT_PORT, forged);
    return { at, answers };
  }

  /** The answers the daemon sent to the last message it received. */
  lastOut(): Uint8Array[] {
    return this.outs;
  }
  private outs: Uint8Array[] = [];

  private record(direction: "in" | "out", port: number, bytes: Uint8Array): number {
    this.ns += STEP_NS;
    this.writer.write(this.ns, { direction, port }, bytes);
    if (direction === "in") this.outs = [];
    else this.outs.push(bytes);
    return this.count++;
  }

  timeline(): Timeline {
    return buildTimeline(decodeRecords(x, readCapture(concatChunks(this.chunks)).records, { side: "daemon" }).messages);
  }
}

describe("a daemon-side capture replayed on a daemon instance", () => {
  it("shows a mapping the daemon made from its reply on, with the reply's mapped address", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    const add = c.receive(addMapping(2, v4("10.0.0.1", 5555)));
    const end = c.timeline().final();
    expect(end.mappings).toHaveLength(1);
    const [m] = end.mappings;
    expect(m?.local).toBe("10.0.0.1:5555");
    expect(m?.mapped).toMatch(/^10\.0\.0\.1:\d+$/);
    expect(m?.createdAt).toBe(add + 1);
    expect(end.anomalies).toEqual([]);
    expect(end.pending).toEqual([]);
  });

  it("an ADD from a client index that never registered is the daemon's notRegistered drop", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    const add = nlmsg({ type: rdma(5, 1), seq: 9, pid: CLIENT_PORT }, [attrU32(1, 0), attrAddr(2, v4("10.0.0.1", 5555)), attrU32(3, 0)]);
    const at = c.receive(add);
    expect(c.lastOut()).toEqual([]);
    const end = c.timeline().final();
    // The client is left waiting: the drop says why.
    expect(end.anomalies.map((a) => [a.kind, a.index, a.reason])).toEqual([
      ["invalid-message", at, "notRegistered"],
      ["unanswered", at, undefined],
    ]);
    expect(end.mappings).toEqual([]);
  });

  it("a second ADD of the same address is the daemon's HANDLE_ERR, once, even when the capture shows success", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    c.receive(addMapping(2, v4("10.0.0.1", 5555)));
    // A success for seq 3, as another daemon answered it.
    const other = await DaemonCapture.start();
    other.receive(regPid(1, "siw0"));
    other.receive(addMapping(3, v4("10.0.0.1", 5555)));
    const [okReply] = other.lastOut();
    expect(okReply).toBeDefined();
    // As the daemon answered: its HANDLE_ERR, one anomaly.
    const honest = await DaemonCapture.start();
    honest.receive(regPid(1, "siw0"));
    honest.receive(addMapping(2, v4("10.0.0.1", 5555)));
    const again = honest.receive(addMapping(3, v4("10.0.0.1", 5555)));
    const h = honest.timeline().final();
    expect(h.anomalies.map((a) => [a.kind, a.index, a.reason])).toEqual([["handle-err", again, "IWPM_DUPLICATE_MAPPING_ERR"]]);
    expect(h.mappings).toHaveLength(1);
    // A capture claiming the daemon mapped it again: the daemon instance refuses it, no second mapping.
    const { at, answers } = c.receiveForged(addMapping(3, v4("10.0.0.1", 5555)), okReply as Uint8Array);
    expect(answers).toHaveLength(1);
    const f = c.timeline().final();
    expect(f.anomalies.map((a) => [a.kind, a.index, a.reason])).toEqual([["handle-err", at, "IWPM_DUPLICATE_MAPPING_ERR"]]);
    expect(f.mappings).toHaveLength(1);
  });

  it("a message the daemon finds malformed is its invalid drop", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    // An ADD without its local address.
    const at = c.receive(nlmsg({ type: rdma(2, 1), seq: 4, pid: CLIENT_PORT }, [attrU32(1, 0), attrU32(3, 0)]));
    const end = c.timeline().final();
    expect(end.anomalies.filter((a) => a.index === at).map((a) => [a.kind, a.reason])).toEqual([["handle-err", "invalid"]]);
    expect(end.mappings).toEqual([]);
  });

  it("a request of an op the daemon does not know is its unknownOp drop", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    const at = c.receive(nlmsg({ type: rdma(2, 13), seq: 5, pid: CLIENT_PORT }, [attrU32(1, 0)]));
    expect(c.lastOut()).toEqual([]);
    const end = c.timeline().final();
    expect(end.anomalies.map((a) => [a.kind, a.index, a.reason])).toEqual([["invalid-message", at, "unknownOp"]]);
  });

  it("a REMOVE of an address the daemon never mapped is its verdict, and ends nothing", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    c.receive(addMapping(2, v4("10.0.0.1", 5555)));
    const at = c.receive(removeMapping(3, v4("10.0.0.1", 6000)));
    const end = c.timeline().final();
    expect(end.anomalies.map((a) => [a.kind, a.index, a.reason])).toEqual([["unknown-remove", at, "NOT_FOUND"]]);
    expect(end.mappings.map((m) => m.local)).toEqual(["10.0.0.1:5555"]);
  });

  it("a REMOVE of a mapping the daemon refused, though the capture shows it made, ends nothing it had", async () => {
    const c = await DaemonCapture.start();
    // A success for seq 2 from a daemon the client registered with.
    const other = await DaemonCapture.start();
    other.receive(regPid(1, "siw0"));
    other.receive(addMapping(2, v4("10.0.0.1", 5555)));
    const [okReply] = other.lastOut();
    expect(okReply).toBeDefined();
    // This daemon never saw the REG_PID: it drops the ADD; the capture claims it answered.
    const { at: add } = c.receiveForged(addMapping(2, v4("10.0.0.1", 5555)), okReply as Uint8Array);
    const remove = c.receive(removeMapping(3, v4("10.0.0.1", 5555)));
    const tl = c.timeline();
    expect(tl.stateAtIndex(add + 1).mappings).toEqual([]);
    expect(tl.final().anomalies.map((a) => [a.kind, a.index, a.reason])).toEqual([
      ["invalid-message", add, "notRegistered"],
      ["unknown-remove", remove, "NOT_FOUND"],
    ]);
  });

  it("a shared wildcard mapping is one mapping, and stays until its last reference is removed", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    c.receive(addMapping(2, v4("0.0.0.0", 5555)));
    const second = c.receive(addMapping(3, v4("0.0.0.0", 5555)));
    const first = c.receive(removeMapping(4, v4("0.0.0.0", 5555)));
    const last = c.receive(removeMapping(5, v4("0.0.0.0", 5555)));
    const tl = c.timeline();
    expect(tl.stateAtIndex(second + 1).mappings.map((m) => m.local)).toEqual(["0.0.0.0:5555"]);
    expect(tl.stateAtIndex(first).mappings.map((m) => m.local)).toEqual(["0.0.0.0:5555"]);
    expect(tl.stateAtIndex(last).mappings).toEqual([]);
    expect(tl.final().anomalies).toEqual([]);
  });

  it("a daemon starting again starts with an empty table: its predecessor's mappings end there", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    c.receive(addMapping(2, v4("10.0.0.1", 5555)));
    const hello = await c.restart(2345);
    c.receive(regPid(3, "siw0"));
    const again = c.receive(addMapping(4, v4("10.0.0.1", 5555)));
    const tl = c.timeline();
    expect(tl.stateAtIndex(hello).mappings).toEqual([]);
    expect(tl.final().mappings.map((m) => [m.local, m.createdAt])).toEqual([["10.0.0.1:5555", again + 1]]);
    expect(tl.final().anomalies.map((a) => a.kind)).toEqual(["daemon-restart"]);
  });

  it("a MAPINFO record the daemon refuses proves no mapping", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    c.receive(addMapping(2, v4("10.0.0.1", 5555)));
    // The same local address with another mapped one: a conflicting record.
    const at = c.receive(mapinfo(v4("10.0.0.1", 5555), v4("10.0.0.1", 1)));
    const end = c.timeline().final();
    expect(end.anomalies.filter((a) => a.index === at).map((a) => a.kind)).toEqual(["handle-err"]);
    expect(end.mappings.map((m) => m.mapped)).not.toContain("10.0.0.1:1");
  });

  it("a QUERY's outcome is the capture's reply; the instance's own peer query adds no anomaly", async () => {
    const c = await DaemonCapture.start();
    c.receive(regPid(1, "siw0"));
    c.receive(queryMapping(2, v4("10.0.0.1", 5555), v4("10.0.0.2", 6000)));
    const end = c.timeline().final();
    expect(end.pending.map((r) => r.op)).toEqual([OP_QUERY_MAPPING]);
    expect(end.anomalies.map((a) => a.kind)).toEqual(["unanswered"]);
  });
});
