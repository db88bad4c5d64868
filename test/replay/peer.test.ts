// The peers' UDP exchanges in a capture are paired by the daemon core (assembly/daemon/replay.ts),
// not by the replay's TypeScript: each rule is checked on a capture where the core's verdict is
// the only thing that can produce the expected anomaly.

import { beforeAll, describe, expect, it } from "vitest";
import { LINKTYPE_RAW, PcapWriter, readCapture } from "../../src/capture/pcap.js";
import type { CoreExports } from "../../src/core/core.js";
import { Status } from "../../src/core/status.js";
import { decodeRecords, loadDecoderCore } from "../../src/replay/decode.js";
import { loadDaemonCore, PeerEngine } from "../../src/replay/peer-engine.js";
import { buildTimeline, StateBuilder, type Timeline } from "../../src/replay/state.js";
import { coreModule, daemonCoreModule } from "../support/core.js";
import { ipv4Udp } from "../support/frames.js";
import { concatChunks } from "./scenario.js";

let x: CoreExports;
beforeAll(async () => {
  x = await loadDecoderCore(coreModule());
  await loadDaemonCore(daemonCoreModule());
});

const REQUEST = 0;
const ACCEPT = 1;
const ACK = 2;
const REJECT = 3;
const PEER_PORT = 3935;
const A = [10, 0, 0, 1];
const B = [10, 0, 0, 2];

interface Wire {
  type: number;
  assoc?: number;
  cp?: number[];
  cpport?: number;
  ap?: number[];
  apport?: number;
  mappedCpPort?: number;
  /** Bytes on the wire (default: 64 for a REQUEST, else 48). */
  length?: number;
  ipVersion?: number;
}

/** A port mappers' message as the protocol reference §5.4 lays it out (IPv4 addresses). */
function wire(w: Wire): Uint8Array {
  const out = new Uint8Array(w.length ?? (w.type === REQUEST ? 64 : 48));
  const full = new Uint8Array(Math.max(64, out.length));
  const v = new DataView(full.buffer);
  full[0] = ((w.type & 3) << 4) | (w.ipVersion ?? 4);
  v.setUint16(2, w.type === REQUEST ? (w.mappedCpPort ?? 40000) : 0, false);
  v.setUint16(4, w.apport ?? 6000, false);
  v.setUint16(6, w.cpport ?? 5555, false);
  v.setUint32(12, w.assoc ?? 1, false);
  full.set(w.cp ?? A, 16);
  full.set(w.ap ?? B, 32);
  if (w.type === REQUEST) full.set(w.cp ?? A, 48);
  out.set(full.subarray(0, out.length));
  return out;
}

/** A raw-IP capture of these messages at these seconds; REQUEST and ACK go A → B, the answers B → A. */
function capture(items: [number, Wire][]): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter((b) => chunks.push(b), { linkType: LINKTYPE_RAW });
  for (const [t, m] of items) {
    const toB = m.type === REQUEST || m.type === ACK;
    const frame = toB ? ipv4Udp(wire(m), A, B, 40001, PEER_PORT) : ipv4Udp(wire(m), B, A, PEER_PORT, 40001);
    w.writePacket({ sec: 100 + Math.floor(t), nsec: Math.round((t % 1) * 1e9) }, frame);
  }
  return concatChunks(chunks);
}

function timelineOf(items: [number, Wire][], end?: number): Timeline {
  return buildTimeline(decodeRecords(x, readCapture(capture(items)).records).messages, end);
}

const anomalies = (t: Timeline) => t.anomalies.map((a) => [a.kind, a.severity, a.index, a.reason]);

describe("peer exchanges, paired by the daemon core", () => {
  it("a REQUEST, its ACCEPT and the ACK make one finished exchange", () => {
    const t = timelineOf([
      [0, { type: REQUEST }],
      [0.5, { type: REQUEST }],
      [1, { type: ACCEPT, apport: 47000 }],
      [1.1, { type: ACK }],
    ]);
    expect(t.peer).toEqual([
      expect.objectContaining({
        assochandle: "0x0000000000000001",
        cp: "10.0.0.1:5555",
        mappedCp: "10.0.0.1:40000",
        ap: "10.0.0.2:6000",
        mappedAp: "10.0.0.2:47000",
        requests: 2,
        firstAt: 0,
        acceptedAt: 2,
        ackedAt: 3,
      }),
    ]);
    expect(t.stateAtIndex(2).peerOpen).toHaveLength(1);
    expect(t.final().peerOpen).toEqual([]);
    expect(t.anomalies).toEqual([]);
  });

  it("peer-unanswered: a warning once the peers' lifetime passed, else info", () => {
    const items: [number, Wire][] = [[0, { type: REQUEST }]];
    expect(anomalies(timelineOf(items, 12))).toEqual([["peer-unanswered", "warning", 0, undefined]]);
    expect(anomalies(timelineOf(items, 3))).toEqual([["peer-unanswered", "info", 0, undefined]]);
    expect(timelineOf(items, 12).stateAt(5).anomalies).toEqual([]);
  });

  it("peer-unacked: an ACCEPT never acknowledged", () => {
    const t = timelineOf([
      [0, { type: REQUEST }],
      [1, { type: ACCEPT }],
    ]);
    expect(anomalies(t)).toEqual([["peer-unacked", "warning", 1, undefined]]);
    expect(t.final().peerOpen).toHaveLength(1);
  });

  it("peer-reject: a REJECT ends the exchange", () => {
    const t = timelineOf([
      [0, { type: REQUEST }],
      [0.2, { type: REJECT }],
      [0.3, { type: REJECT }],
    ]);
    expect(anomalies(t)).toEqual([["peer-reject", "warning", 1, undefined]]);
    expect(t.final().peerOpen).toEqual([]);
  });

  it("an ACCEPT or ACK for no REQUEST seen is stray, also when only the connecting IP differs", () => {
    const t = timelineOf([
      [0, { type: REQUEST }],
      [0.1, { type: ACCEPT, assoc: 2 }],
      [0.2, { type: ACK, cp: [10, 0, 0, 9] }],
      [0.3, { type: ACCEPT }],
      [0.4, { type: ACK }],
    ]);
    expect(anomalies(t)).toEqual([
      ["stray-response", "warning", 1, "PEER_UNMATCHED"],
      ["stray-response", "warning", 2, "PEER_UNMATCHED"],
    ]);
    expect(t.peer).toHaveLength(1);
  });

  it("drops what a port mapper drops, and reads what it reads", () => {
    const t = timelineOf([
      // 50 bytes, and IP version 5: malformed
      [0, { type: REQUEST, length: 50 }],
      [0.1, { type: REQUEST, assoc: 2, ipVersion: 5 }],
      // A 48-byte REQUEST is taken (its mapped address reads as zeros); a 70-byte one as its first 64.
      [0.2, { type: REQUEST, assoc: 3, length: 48 }],
      [0.3, { type: REQUEST, assoc: 4, length: 70 }],
    ]);
    expect(t.anomalies.filter((a) => a.kind === "invalid-message").map((a) => [a.index, a.reason])).toEqual([
      [0, "PEER_MALFORMED"],
      [1, "PEER_MALFORMED"],
    ]);
    expect(t.peer.map((p) => [p.assochandle, p.mappedCp])).toEqual([
      ["0x0000000000000003", "0.0.0.0:40000"],
      ["0x0000000000000004", "10.0.0.1:40000"],
    ]);
  });

  it("the engine's verdicts are the daemon core's events and drop counters", () => {
    const e = new PeerEngine();
    const req = e.datagram(0, wire({ type: REQUEST }));
    expect(req).toMatchObject({ kind: "seen", event: { kind: "peerSeen", type: REQUEST, repeat: false, requests: 1 } });
    const id = req.kind === "seen" ? req.event.exchange : -1;
    expect(e.datagram(1, wire({ type: ACCEPT }))).toMatchObject({ kind: "seen", event: { exchange: id, type: ACCEPT, repeat: false } });
    expect(e.datagram(1.5, wire({ type: ACCEPT }))).toMatchObject({ kind: "seen", event: { exchange: id, repeat: true } });
    expect(e.datagram(2, wire({ type: ACK, assoc: 9 }))).toEqual({ kind: "unmatched" });
    expect(e.datagram(2, wire({ type: ACK, length: 47 }))).toEqual({ kind: "malformed" });
    expect(e.end(5)).toMatchObject([{ kind: "peerUnfinished", exchange: id, accepted: true, status: 0 }]);
    expect(e.end(20)).toMatchObject([{ exchange: id, accepted: true, status: Status.TIMEOUT }]);
  });

  it("needs its bytes, as netlink messages do", () => {
    const m = decodeRecords(x, readCapture(capture([[0, { type: REQUEST }]])).records).messages[0];
    expect(m).toBeDefined();
    const b = new StateBuilder();
    expect(() => b.add({ ...(m as NonNullable<typeof m>), bytes: undefined })).toThrow(/without its bytes/);
  });
});
