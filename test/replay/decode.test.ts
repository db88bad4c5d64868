import { beforeAll, describe, expect, it } from "vitest";
import {
  type CaptureRecord,
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  type NetlinkMeta,
  NetlinkPcapWriter,
  PcapWriter,
  readCapture,
} from "../../src/capture/pcap.js";
import type { CoreExports } from "../../src/core/core.js";
import { type CaptureMessage, decodeRecords, loadDecoderCore, type NetlinkMessage, type PeerMessage } from "../../src/replay/decode.js";
import { fields, summary, toJson } from "../../src/replay/format.js";
import { extractUdp, parsePeerWire } from "../../src/replay/peer.js";
import { loadDaemonCore } from "../../src/replay/peer-engine.js";
import { coreModule, daemonCoreModule } from "../support/core.js";
import { FakeDaemon, v4, v6 } from "../support/fake-daemon.js";
import { ipv4Udp } from "../support/frames.js";
import { attrAddr, attrFixedStr, attrU16, attrU32, concat, fromHex, NLM_F_MULTI, nlmsg, rdma } from "../support/nl.js";
import { CLIENT_PORT, concatChunks, DAEMON_1, makeScenario } from "./scenario.js";

let x: CoreExports;
beforeAll(async () => {
  x = await loadDecoderCore(coreModule());
  // The daemon core reads the peer (UDP 3935) messages.
  await loadDaemonCore(daemonCoreModule());
});

type Entry = [dir: "in" | "out", bytes: Uint8Array, port?: number];

/** A capture of datagrams, 1 ms apart, as one socket saw them. */
function capture(entries: Entry[]): CaptureRecord[] {
  const chunks: Uint8Array[] = [];
  const w = new NetlinkPcapWriter((b) => chunks.push(b));
  entries.forEach(([direction, bytes, port], i) => {
    const meta: NetlinkMeta = { direction, port: port ?? 0, groups: 0 };
    w.write({ sec: 1_800_000_000, nsec: i * 1_000_000 }, meta, bytes);
  });
  return readCapture(concatChunks(chunks)).records;
}

const nl = (ms: CaptureMessage[]) => ms as NetlinkMessage[];

// client-side messages (our port CLIENT_PORT)
const regPid = (seq: number) =>
  nlmsg({ type: rdma(2, 0), seq, pid: CLIENT_PORT }, [
    attrU32(1, 0),
    attrFixedStr(2, "lo", 16),
    attrFixedStr(3, "siw0", 32),
    attrFixedStr(4, "iWarpPortMapperUser", 32),
  ]);
const addV3 = (seq: number) => nlmsg({ type: rdma(2, 1), seq, pid: CLIENT_PORT }, [attrU32(1, 0), attrAddr(2, v4("127.0.0.1", 5555))]);
const addV4 = (seq: number, flags = 0) =>
  nlmsg({ type: rdma(2, 1), seq, pid: CLIENT_PORT }, [attrU32(1, 0), attrAddr(2, v4("127.0.0.1", 5555)), attrU32(3, flags)]);

describe("the netlink decoder", () => {
  it("decodes the core-made scenario: every message, both directions, the side inferred", async () => {
    const s = await makeScenario();
    const { messages, stats } = decodeRecords(x, readCapture(s.pcap).records);
    expect(stats).toMatchObject({ invalid: 0, side: "client", sideInferred: true, echoes: 0, netlinkMessages: 25, records: 24 });
    const ms = nl(messages);
    expect(ms.map((m) => m.label).slice(0, 8)).toEqual([
      "HELLO",
      "HELLO reply",
      "MAPINFO request",
      "REG_PID request",
      "REG_PID reply",
      "ADD_MAPPING request",
      "ADD_MAPPING reply",
      "QUERY_MAPPING request",
    ]);
    const add = ms[5] as NetlinkMessage;
    expect(add).toMatchObject({ dir: 0, captured: "out", port: DAEMON_1, client: 2, op: 1, seq: s.seqs.add, pid: CLIENT_PORT, version: 4 });
    expect(add.attrs).toEqual({ echoSeq: 2, local: "127.0.0.1:5555", flags: 0 });
    expect(ms[6]?.attrs).toEqual({ requestSeq: s.seqs.add, local: "127.0.0.1:5555", mappedLocal: "127.0.0.1:40000", err: 0 });
    expect(ms[7]?.attrs.flags).toBe(1);
    // the MAPINFO replay: records and the DONE share one datagram
    const batch = ms.filter((m) => m.record === ms.find((n) => n.label === "MAPINFO record")?.record);
    expect(batch.map((m) => [m.label, m.part, m.parts])).toEqual([
      ["MAPINFO record", 0, 2],
      ["NLMSG_DONE", 1, 2],
    ]);
    expect(summary(ms[6] as NetlinkMessage)).toBe(`for seq ${s.seqs.add}: 127.0.0.1:5555 → 127.0.0.1:40000`);
    expect(fields(add).find(([k]) => k === "flags")?.[1]).toBe("0 (0)");
    expect(toJson(add)).toMatchObject({ label: "ADD_MAPPING request", direction: "to_daemon", attrs: { local: "127.0.0.1:5555" } });
    // nanosecond files decode the same
    const ns = decodeRecords(x, readCapture((await makeScenario({ nanosecond: true })).pcap).records);
    expect(ns.messages.map((m) => m.label)).toEqual(messages.map((m) => m.label));
  });

  it("decodes the same datagrams as the daemon saw them (side daemon), and obeys --side", () => {
    const d = new FakeDaemon(DAEMON_1);
    const entries: Entry[] = [
      ["out", d.hello(4)],
      ["in", nlmsg({ type: rdma(2, 8), seq: 1, pid: CLIENT_PORT }, [attrU16(1, 4)])],
      ["out", d.mapinfoRequest(4)],
      ["in", regPid(2)],
      ["out", d.regPidReply(2, "siw0")],
    ];
    const daemonSide = decodeRecords(x, capture(entries));
    expect(daemonSide.stats).toMatchObject({ side: "daemon", sideInferred: true, invalid: 0 });
    expect(daemonSide.messages.map((m) => m.label)).toEqual([
      "HELLO",
      "HELLO reply",
      "MAPINFO request",
      "REG_PID request",
      "REG_PID reply",
    ]);
    // the wrong side on purpose: what the daemon sent reads as client → daemon, and fails
    const forced = decodeRecords(x, capture(entries), { side: "client" });
    expect(forced.stats).toMatchObject({ side: "client", sideInferred: false });
    expect(forced.stats.invalid).toBeGreaterThan(0);
  });

  it("infers the side from iwpmd's seq-0 HELLO alone, and from the kernel's DONE acknowledgements", () => {
    const d = new FakeDaemon(DAEMON_1);
    expect(decodeRecords(x, capture([["out", d.hello(4)]])).stats.side).toBe("daemon");
    expect(decodeRecords(x, capture([["in", d.hello(4)]])).stats.side).toBe("client");
    const kernelDone = fromHex("14000000030002000000000000000000ea ffffff".replace(" ", ""));
    expect(decodeRecords(x, capture([["in", kernelDone]])).stats.side).toBe("daemon");
  });

  it("follows ABI v3: NLMSG_ERROR for HELLO, v3 layouts without FLAGS, ULIB_VER 3", () => {
    const d = new FakeDaemon(DAEMON_1);
    const hello = d.hello(4);
    const err = nlmsg({ type: 2, seq: 0, pid: 0 }, [new Uint8Array([0xa1, 0xff, 0xff, 0xff]), hello.subarray(0, 16)]);
    const records = capture([
      ["in", hello],
      ["out", err],
      ["in", d.mapinfoRequest(3)],
      ["out", regPid(10)],
      ["in", d.regPidReply(10, "siw0", { version: 3 })],
      ["out", addV3(11)],
      ["in", d.addReply(11, v4("127.0.0.1", 5555), v4("127.0.0.1", 40000))],
    ]);
    const { messages, stats } = decodeRecords(x, records);
    expect(stats.invalid).toBe(0);
    const ms = nl(messages);
    expect(ms[1]).toMatchObject({
      kind: "error",
      label: "NLMSG_ERROR",
      control: { value: -95, header: { type: 0x808, seq: 0, label: "HELLO" } },
    });
    expect(summary(ms[1] as NetlinkMessage)).toBe(`error -95 (EOPNOTSUPP) for HELLO seq 0 pid ${DAEMON_1}`);
    expect(ms[5]).toMatchObject({ label: "ADD_MAPPING request", version: 3, attrs: { echoSeq: 0, local: "127.0.0.1:5555" } });
    expect(ms[5]?.attrs.flags).toBeUndefined();
    // a v4 message after all decodes with the v4 layout (FLAGS known, not "unknown attribute")
    const late = decodeRecords(
      x,
      capture([
        ["in", d.mapinfoRequest(3)],
        ["out", addV4(12, 1)],
      ]),
    );
    expect(nl(late.messages)[1]).toMatchObject({ version: 4, attrs: { flags: 1 } });
    expect(nl(late.messages)[1]?.unknownAttrs).toBeUndefined();
  });

  it("reports malformed messages with the core's status, and keeps going", () => {
    const good = addV4(20);
    const cut = good.slice(0, 100); // nlmsg_len 164 in a 100-byte datagram
    const missing = nlmsg({ type: rdma(2, 1), seq: 21, pid: CLIENT_PORT }, [attrU32(1, 0)]);
    const unknownOp = nlmsg({ type: rdma(2, 12), seq: 22, pid: CLIENT_PORT }, [attrU32(1, 0)]);
    const { messages, stats } = decodeRecords(
      x,
      capture([
        ["out", regPid(1)],
        ["out", cut],
        ["out", missing],
        ["out", unknownOp],
        ["out", good],
      ]),
      { side: "client" },
    );
    const ms = nl(messages);
    expect(ms.map((m) => [m.label, m.statusName])).toEqual([
      ["REG_PID request", "OK"],
      ["invalid", "BAD_MSG_LEN"],
      ["ADD_MAPPING request (invalid)", "MISSING_ATTR"],
      ["OP_12 (unknown op)", "UNKNOWN_OP"],
      ["ADD_MAPPING request", "OK"],
    ]);
    expect(stats.invalid).toBe(3);
    expect(stats.invalidByStatus).toEqual({ BAD_MSG_LEN: 1, MISSING_ATTR: 1, UNKNOWN_OP: 1 });
  });

  it("frames a datagram as the client reads one: bytes after the last message are a cut header", () => {
    const good = addV4(30);
    // 8 bytes of a header after a whole message: the client stops there with TRUNCATED_HEADER
    const tail = concat(good, new Uint8Array(8).fill(0xee));
    const { messages } = decodeRecords(x, capture([["out", tail]]), { side: "client" });
    expect(nl(messages).map((m) => [m.label, m.statusName, m.part, m.parts, m.len])).toEqual([
      ["ADD_MAPPING request", "OK", 0, 2, good.length],
      ["invalid", "TRUNCATED_HEADER", 1, 2, 0xeeeeeeee], // the length field is there; the rest of the header is not
    ]);
  });

  it("recognises the client's own multicast REG_PID coming back", () => {
    const d = new FakeDaemon(DAEMON_1);
    const { messages, stats } = decodeRecords(
      x,
      capture([
        ["out", regPid(5), 0],
        ["in", regPid(5), CLIENT_PORT],
        ["in", d.regPidReply(5, "siw0"), DAEMON_1],
      ]),
    );
    expect(stats).toMatchObject({ invalid: 0, echoes: 1, side: "client" });
    expect(nl(messages).map((m) => [m.label, m.echo ?? false, m.dir])).toEqual([
      ["REG_PID request", false, 0],
      ["REG_PID request", true, 0],
      ["REG_PID reply", false, 1],
    ]);
  });

  it("keeps several messages of one datagram apart, with IPv6 addresses", () => {
    const rec = (l: string, m: string) =>
      nlmsg({ type: rdma(2, 6), flags: NLM_F_MULTI, seq: 0, pid: CLIENT_PORT }, [
        attrAddr(1, v6(l, 7000)),
        attrAddr(2, v6(m, 40000)),
        attrU32(3, 0),
      ]);
    const done = nlmsg({ type: 3, flags: NLM_F_MULTI, seq: 0, pid: 0 });
    const d = concat(rec("fd77::1", "fd77::1"), rec("::1", "::1"), rec("fe80::1", "fe80::1"), done);
    const { messages } = decodeRecords(x, capture([["out", d]]), { side: "client" });
    expect(nl(messages).map((m) => [m.label, m.part, m.parts, m.attrs.local])).toEqual([
      ["MAPINFO record", 0, 4, "[fd77::1]:7000"],
      ["MAPINFO record", 1, 4, "[::1]:7000"],
      ["MAPINFO record", 2, 4, "[fe80::1]:7000"],
      ["NLMSG_DONE", 3, 4, undefined],
    ]);
  });
});

// ---- peer wire -----------------------------------------------------------------------------

// §6: REQUEST 10.0.0.1:5555 (mapped 40000) to 10.0.0.2:6000, assochandle 0x0000556677889900
const REQUEST = fromHex(`
  04 00 9c 40 17 70 15 b3 00 00 55 66 77 88 99 00
  0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
  0a 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00
  0a 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00`);

function ipv6Udp(payload: Uint8Array, hopByHop = false): Uint8Array {
  const ext = hopByHop ? 8 : 0;
  const out = new Uint8Array(40 + ext + 8 + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 0x60;
  v.setUint16(4, ext + 8 + payload.length, false);
  out[6] = hopByHop ? 0 : 17;
  out[7] = 64;
  out.set([0xfd, 0x77, ...new Array(13).fill(0), 1], 8);
  out.set([0xfd, 0x77, ...new Array(13).fill(0), 2], 24);
  if (hopByHop) out[40] = 17; // next header UDP, length 0 (8 bytes)
  v.setUint16(40 + ext, 3935, false);
  v.setUint16(42 + ext, 3935, false);
  v.setUint16(44 + ext, 8 + payload.length, false);
  out.set(payload, 48 + ext);
  return out;
}

const cat = (...parts: Uint8Array[]) => concatChunks(parts);
const be16 = (n: number) => new Uint8Array([n >> 8, n & 255]);

describe("the peer wire decoder", () => {
  it("parses the reference REQUEST", () => {
    expect(REQUEST.length).toBe(64);
    const w = parsePeerWire(REQUEST);
    expect(w).toMatchObject({
      version: 0,
      typeName: "REQUEST",
      ipVersion: 4,
      mappedCpPort: 40000,
      apport: 6000,
      cpport: 5555,
      assochandle: "0x0000556677889900",
      cpIp: "10.0.0.1",
      apIp: "10.0.0.2",
      mappedCpIp: "10.0.0.1",
    });
    expect(w?.problem).toBeUndefined();
    const short = parsePeerWire(REQUEST.subarray(0, 50));
    expect(short?.problem).toBe("length 50, iwpmd expects 64");
    expect(parsePeerWire(REQUEST.subarray(0, 40))).toBeNull();
  });

  const v4frame = ipv4Udp(REQUEST);
  const frames: [string, number, Uint8Array][] = [
    ["Ethernet", LINKTYPE_ETHERNET, cat(new Uint8Array(12), be16(0x0800), v4frame)],
    ["Ethernet + 802.1Q", LINKTYPE_ETHERNET, cat(new Uint8Array(12), be16(0x8100), be16(5), be16(0x0800), v4frame)],
    ["Linux SLL", LINKTYPE_LINUX_SLL, cat(new Uint8Array(14), be16(0x0800), v4frame)],
    ["Linux SLL2", LINKTYPE_LINUX_SLL2, cat(be16(0x86dd), new Uint8Array(18), ipv6Udp(REQUEST))],
    ["NULL, little-endian AF_INET", LINKTYPE_NULL, cat(new Uint8Array([2, 0, 0, 0]), v4frame)],
    ["NULL, big-endian AF_INET6 (30)", LINKTYPE_NULL, cat(new Uint8Array([0, 0, 0, 30]), ipv6Udp(REQUEST))],
    ["LOOP", LINKTYPE_LOOP, cat(new Uint8Array([0, 0, 0, 2]), v4frame)],
    ["raw IPv4", LINKTYPE_RAW, v4frame],
    ["raw IPv6 with a hop-by-hop header", LINKTYPE_RAW, ipv6Udp(REQUEST, true)],
    ["IPv4 link type", LINKTYPE_IPV4, v4frame],
    ["IPv6 link type", LINKTYPE_IPV6, ipv6Udp(REQUEST)],
  ];

  it.each(frames)("finds the UDP datagram in %s", (_name, linkType, frame) => {
    const udp = extractUdp(linkType, frame);
    expect(udp?.dstPort).toBe(3935);
    expect(parsePeerWire(udp?.payload as Uint8Array)?.assochandle).toBe("0x0000556677889900");
  });

  it("decodes pcap files of every link type into peer messages, and skips other traffic", () => {
    for (const [name, linkType, frame] of frames) {
      const chunks: Uint8Array[] = [];
      const w = new PcapWriter((b) => chunks.push(b), { linkType });
      w.writePacket({ sec: 1, nsec: 0 }, frame);
      w.writePacket(
        { sec: 1, nsec: 1000 },
        linkType === LINKTYPE_ETHERNET ? cat(new Uint8Array(12), be16(0x0806), new Uint8Array(28)) : new Uint8Array(30),
      ); // ARP / junk
      const { messages, stats } = decodeRecords(x, readCapture(concatChunks(chunks)).records);
      expect(stats, name).toMatchObject({ peerMessages: 1, skippedRecords: 1, netlinkMessages: 0 });
      const m = messages[0] as PeerMessage;
      expect(m.label).toBe("peer REQUEST");
      expect(m.dst.endsWith(":3935")).toBe(true);
      expect(summary(m)).toContain("10.0.0.1:5555 (mapped 10.0.0.1:40000) → 10.0.0.2:6000");
    }
  });

  it("ignores non-first IPv4 fragments and non-UDP packets", () => {
    const frag = v4frame.slice();
    new DataView(frag.buffer).setUint16(6, 100, false); // fragment offset 100
    expect(extractUdp(LINKTYPE_RAW, frag)).toBeNull();
    const tcp = v4frame.slice();
    tcp[9] = 6;
    expect(extractUdp(LINKTYPE_RAW, tcp)).toBeNull();
  });
});
