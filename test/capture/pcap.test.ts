import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ARPHRD_NETLINK,
  CaptureFormatError,
  CaptureReader,
  type CaptureRecord,
  LINKTYPE_ETHERNET,
  LINKTYPE_NETLINK,
  NetlinkPcapWriter,
  netlinkPseudoHeader,
  PcapWriter,
  parseNetlinkRecord,
  readCapture,
} from "../../src/capture/pcap.js";
import { CaptureTap, pcapRecorder } from "../../src/capture/tap.js";
import type { Datagram, DatagramSocket } from "../../src/host/shim.js";
import { isoTime } from "../../src/replay/format.js";
import { concatChunks } from "../replay/scenario.js";
import { findExecutable } from "../support/netns.js";
import { ngInterface, ngPacket, ngSectionHeader, pcapFile, pcapngFile } from "./seeds.js";

const collect = () => {
  const chunks: Uint8Array[] = [];
  const sink = (b: Uint8Array) => chunks.push(b);
  const bytes = () => {
    const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  };
  return { sink, bytes };
};

// HELLO from iwpmd, pid 1234 (reference §6 (d)).
const hello = Uint8Array.from(Buffer.from("180000000808010000000000d2040000" + "0600010004000000", "hex"));

describe("pcap writer and reader", () => {
  it("round-trips netlink records with microsecond and nanosecond timestamps", () => {
    for (const nanosecond of [false, true]) {
      const out = collect();
      const w = new NetlinkPcapWriter(out.sink, { nanosecond });
      w.write(1_790_000_000_123_456_789n, { direction: "in", port: 1234, groups: 0 }, hello);
      w.write({ sec: 1_790_000_001, nsec: 5 }, { direction: "out", port: 0, groups: 2 }, hello.subarray(0, 20));
      const bytes = out.bytes();
      expect(bytes.length).toBe(24 + 2 * 16 + 2 * 16 + 24 + 20);
      const { records, summary } = readCapture(bytes);
      expect(summary).toMatchObject({ format: "pcap", records: 2, trailingBytes: 0, linkTypes: [LINKTYPE_NETLINK] });
      const [a, b] = records as [CaptureRecord, CaptureRecord];
      expect(a.time).toEqual({ sec: 1_790_000_000, nsec: nanosecond ? 123_456_789 : 123_456_000 });
      expect(b.time).toEqual({ sec: 1_790_000_001, nsec: nanosecond ? 5 : 0 });
      const ra = parseNetlinkRecord(a.data);
      expect(ra).toMatchObject({ packetType: 0, direction: "in", protocol: 20, port: 1234, groups: 0 });
      expect([...(ra?.payload ?? [])]).toEqual([...hello]);
      const rb = parseNetlinkRecord(b.data);
      expect(rb).toMatchObject({ packetType: 4, direction: "out", port: 0, groups: 2 });
      expect(rb?.payload.length).toBe(20);
    }
  });

  it("writes the header tools expect: magic, version 2.4, snaplen, link type 253", () => {
    const out = collect();
    new PcapWriter(out.sink, { nanosecond: true, snaplen: 4096 });
    const v = new DataView(out.bytes().buffer);
    expect(v.getUint32(0, true)).toBe(0xa1b23c4d);
    expect([v.getUint16(4, true), v.getUint16(6, true)]).toEqual([2, 4]);
    expect(v.getUint32(16, true)).toBe(4096);
    expect(v.getUint32(20, true)).toBe(253);
  });

  it("puts the 16-byte netlink pseudo-header in network byte order", () => {
    const h = netlinkPseudoHeader({ direction: "out", port: 0x01020304, groups: 2 });
    expect([...h]).toEqual([0, 4, 0x03, 0x38, 0, 8, 1, 2, 3, 4, 0, 0, 0, 2, 0, 20]);
    expect(ARPHRD_NETLINK).toBe(0x338);
    // Without an address the address length is 0; protocol 20 even for a USERSOCK socket.
    expect([...netlinkPseudoHeader({ direction: "in" })]).toEqual([0, 0, 3, 0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20]);
  });

  it("cuts records at the snap length and keeps the original length", () => {
    const out = collect();
    const w = new PcapWriter(out.sink, { snaplen: 10, linkType: LINKTYPE_ETHERNET });
    w.writePacket({ sec: 1, nsec: 0 }, [new Uint8Array(8).fill(1), new Uint8Array(8).fill(2)]);
    const { records } = readCapture(out.bytes());
    expect(records[0]?.data.length).toBe(10);
    expect(records[0]?.originalLength).toBe(16);
    expect([...(records[0]?.data ?? [])]).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 2, 2]);
  });

  it("parses the same records from chunks of any size, and reports a cut-off tail", () => {
    const out = collect();
    const w = new NetlinkPcapWriter(out.sink);
    for (let i = 0; i < 50; i++)
      w.write({ sec: i, nsec: i * 1000 }, { direction: i % 2 ? "in" : "out", port: i }, hello.subarray(0, 16 + (i % 9)));
    const whole = out.bytes();
    const reference = readCapture(whole).records.map((r) => [r.index, r.time.sec, r.fileOffset, Buffer.from(r.data).toString("hex")]);
    for (const size of [1, 3, 7, 64, 1000]) {
      const got: unknown[] = [];
      const reader = new CaptureReader((r) => got.push([r.index, r.time.sec, r.fileOffset, Buffer.from(r.data).toString("hex")]));
      for (let at = 0; at < whole.length; at += size) reader.push(whole.slice(at, at + size));
      expect(reader.end().trailingBytes).toBe(0);
      expect(got).toEqual(reference);
    }
    const cut = readCapture(whole.subarray(0, whole.length - 5));
    expect(cut.summary.records).toBe(49);
    expect(cut.summary.trailingBytes).toBeGreaterThan(0);
  });

  it("reads big-endian pcap files", () => {
    const le = collect();
    new NetlinkPcapWriter(le.sink).write({ sec: 7, nsec: 8000 }, { direction: "in" }, hello);
    const b = le.bytes();
    const v = new DataView(b.buffer);
    // byte-swap the file header and the record header
    for (const at of [0, 8, 12, 16, 20, 24, 28, 32, 36]) v.setUint32(at, v.getUint32(at, true), false);
    for (const at of [4, 6]) v.setUint16(at, v.getUint16(at, true), false);
    const { records } = readCapture(b);
    expect(records[0]?.time).toEqual({ sec: 7, nsec: 8000 });
    expect(records[0]?.data.length).toBe(16 + hello.length);
  });

  it("reads pcapng: interfaces with their own link types and timestamp resolutions", () => {
    const block = (type: number, body: Uint8Array) => {
      const padded = (body.length + 3) & ~3;
      const out = new Uint8Array(12 + padded);
      const v = new DataView(out.buffer);
      v.setUint32(0, type, true);
      v.setUint32(4, out.length, true);
      out.set(body, 8);
      v.setUint32(out.length - 4, out.length, true);
      return out;
    };
    const shb = new Uint8Array(16);
    new DataView(shb.buffer).setUint32(0, 0x1a2b3c4d, true);
    new DataView(shb.buffer).setUint16(4, 1, true);
    new DataView(shb.buffer).setBigInt64(8, -1n, true);
    const idb = (linkType: number, tsresol?: number) => {
      const b = new Uint8Array(tsresol === undefined ? 8 : 8 + 8 + 4);
      const v = new DataView(b.buffer);
      v.setUint16(0, linkType, true);
      v.setUint32(4, 65535, true);
      if (tsresol !== undefined) {
        v.setUint16(8, 9, true);
        v.setUint16(10, 1, true);
        b[12] = tsresol;
      }
      return b;
    };
    const epb = (iface: number, ts: bigint, data: Uint8Array) => {
      const b = new Uint8Array(20 + data.length);
      const v = new DataView(b.buffer);
      v.setUint32(0, iface, true);
      v.setUint32(4, Number(ts >> 32n), true);
      v.setUint32(8, Number(ts & 0xffffffffn), true);
      v.setUint32(12, data.length, true);
      v.setUint32(16, data.length, true);
      b.set(data, 20);
      return b;
    };
    const payload = new Uint8Array([...netlinkPseudoHeader({ direction: "in" }), ...hello]);
    const file = [
      block(0x0a0d0d0a, shb),
      block(1, idb(LINKTYPE_NETLINK)), // µs
      block(1, idb(LINKTYPE_ETHERNET, 9)), // ns
      block(6, epb(0, 1_790_000_000_000_001n, payload)),
      block(5, new Uint8Array(8)), // an interface statistics block: skipped
      block(6, epb(1, 1_790_000_000_000_000_002n, new Uint8Array(14))),
    ];
    const bytes = new Uint8Array(file.reduce((n, b) => n + b.length, 0));
    let at = 0;
    for (const b of file) {
      bytes.set(b, at);
      at += b.length;
    }
    const { records, summary } = readCapture(bytes);
    expect(summary).toMatchObject({ format: "pcapng", records: 2, linkTypes: [LINKTYPE_NETLINK, LINKTYPE_ETHERNET] });
    expect(records[0]).toMatchObject({ linkType: LINKTYPE_NETLINK, interfaceId: 0, time: { sec: 1_790_000_000, nsec: 1000 } });
    expect(records[1]).toMatchObject({ linkType: LINKTYPE_ETHERNET, interfaceId: 1, time: { sec: 1_790_000_000, nsec: 2 } });
    expect(parseNetlinkRecord(records[0]?.data as Uint8Array)?.payload.length).toBe(hello.length);
  });

  it("refuses what is not a capture, with the reason", () => {
    expect(() => readCapture(new TextEncoder().encode("hello world, this is text"))).toThrow(CaptureFormatError);
    expect(() => readCapture(new TextEncoder().encode("hello world, this is text"))).toThrow(
      /not a pcap or pcapng file \(it starts with 68 65 6c 6c/,
    );
    expect(() => readCapture(new Uint8Array(0))).toThrow(/empty/);
    expect(() => readCapture(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1, 2]))).toThrow(/too short/);
  });
});

class QueueSocket implements DatagramSocket {
  sent: { bytes: Uint8Array; port: number; groups: number }[] = [];
  inbox: Datagram[] = [];
  fail = 0;
  sendTo(bytes: Uint8Array, port: number, groups: number): number {
    if (this.fail) return this.fail;
    this.sent.push({ bytes, port, groups });
    return 0;
  }
  recvFrom(): Datagram | null {
    return this.inbox.shift() ?? null;
  }
}

describe("CaptureTap", () => {
  it("records what goes out and comes in, with port, groups and truncation, and passes everything through", () => {
    const out = collect();
    const inner = new QueueSocket();
    let t = 1_000_000_000n;
    const tap = new CaptureTap(inner, {
      record: pcapRecorder(new NetlinkPcapWriter(out.sink, { nanosecond: true })),
      clock: () => (t += 1000n),
    });
    expect(tap.sendTo(hello, 0, 2)).toBe(0);
    inner.fail = 111;
    expect(tap.sendTo(hello, 99, 0)).toBe(111); // refused: not recorded
    inner.inbox.push({ bytes: hello, port: 1234, groups: 0 }, { bytes: hello.subarray(0, 16), port: 7, groups: 0, truncatedLength: 24 });
    expect(tap.recvFrom()?.port).toBe(1234);
    expect(tap.recvFrom()?.truncatedLength).toBe(24);
    expect(tap.recvFrom()).toBeNull();
    expect(inner.sent).toHaveLength(1);
    expect(tap.recorded).toBe(3);
    const { records } = readCapture(out.bytes());
    const nl = records.map((r) => ({ ...parseNetlinkRecord(r.data), orig: r.originalLength, nsec: r.time.nsec }));
    expect(nl.map(({ direction, port, groups, orig }) => ({ direction, port, groups, orig }))).toEqual([
      { direction: "out", port: 0, groups: 2, orig: 40 },
      { direction: "in", port: 1234, groups: 0, orig: 40 },
      { direction: "in", port: 7, groups: 0, orig: 40 },
    ]);
    expect(nl.map((r) => r.nsec)).toEqual([1000, 3000, 4000]); // the refused send took a tick too
  });

  it("never turns a recording failure into a socket failure", () => {
    const inner = new QueueSocket();
    const errors: unknown[] = [];
    const tap = new CaptureTap(inner, {
      record: () => {
        throw new Error("disk full");
      },
      onError: (e) => errors.push(e),
    });
    expect(tap.sendTo(hello, 1, 0)).toBe(0);
    expect(inner.sent).toHaveLength(1);
    expect(tap.failed).toBe(1);
    expect(String(errors[0])).toContain("disk full");
  });
});

const tshark = findExecutable("tshark");
if (!tshark) console.warn("[capture/pcap] tshark tests skipped: tshark not found (apt-get install tshark)");

describe.skipIf(!tshark)("tshark reads our files", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "iwpm-pcap-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("decodes the cooked header and every nlmsghdr (µs and ns files)", () => {
    for (const nanosecond of [false, true]) {
      const out = collect();
      const w = new NetlinkPcapWriter(out.sink, { nanosecond });
      w.write({ sec: 1_790_000_000, nsec: 1000 }, { direction: "in", port: 1234 }, hello);
      // two messages in one datagram: a MAPINFO-style DONE after a HELLO
      const two = new Uint8Array(24 + 16);
      two.set(hello, 0);
      two.set(Buffer.from("10000000030002000000000000000000", "hex"), 24);
      w.write({ sec: 1_790_000_000, nsec: 2000 }, { direction: "out", port: 1234 }, two);
      const file = path.join(dir, `t${nanosecond ? "ns" : "us"}.pcap`);
      writeFileSync(file, out.bytes());
      const r = spawnSync(
        tshark as string,
        ["-r", file, "-T", "fields", "-e", "netlink.hatype", "-e", "netlink.family", "-e", "netlink.hdr_type", "-e", "netlink.hdr_pid"],
        {
          encoding: "utf8",
        },
      );
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/error|malformed|appears to be damaged/i);
      expect(r.stdout.trim().split("\n")).toEqual(["824\t0x0014\t0x0808\t1234", "824\t0x0014\t0x0808,0x0003\t1234,0"]);
    }
  });
});

describe("damaged captures (regressions)", () => {
  const payload = () => new Uint8Array([...netlinkPseudoHeader({ direction: "in", port: 1234 }), ...hello]);
  const packets = [0, 1, 2].map((i) => ({ time: { sec: 1_790_000_000 + i, nsec: 5000 }, data: payload() }));

  it("a 12-byte packet block at the end: the records before it, then a DAMAGED error with its offset", () => {
    const good = pcapngFile(LINKTYPE_NETLINK, packets);
    const tail = new Uint8Array(12);
    const v = new DataView(tail.buffer);
    v.setUint32(0, 6, true);
    v.setUint32(4, 12, true);
    v.setUint32(8, 12, true);
    const bytes = new Uint8Array([...good, ...tail]);
    const got: CaptureRecord[] = [];
    const reader = new CaptureReader((r) => got.push(r));
    let error: unknown;
    try {
      reader.push(bytes);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CaptureFormatError);
    expect(error).toMatchObject({ code: "DAMAGED", offset: good.length });
    expect((error as Error).message).toMatch(
      /block of type 6 has a bad length 12 .*damaged at offset \d+ \(the 4 records before it were read\)/,
    );
    expect(got).toHaveLength(4); // three EPBs and the SPB
    expect(() => reader.end()).toThrow(CaptureFormatError);
  });

  it("if_tsresol 0 (seconds) and 0x86 (1/64 s) are read; one finer than 2^-63 s is refused", () => {
    const secs = readCapture(pcapngFile(LINKTYPE_NETLINK, packets, 0)).records;
    expect(secs.slice(0, 3).map((r) => r.time)).toEqual(packets.map((p) => ({ sec: p.time.sec, nsec: 0 })));
    const sixtyFourths = readCapture(pcapngFile(LINKTYPE_NETLINK, packets, 0x86)).records;
    expect(sixtyFourths[0]?.time.sec).toBe(packets[0]?.time.sec);
    // a timestamp far beyond what Date covers, as a damaged if_tsresol 0 makes them
    const far = concatChunks([ngSectionHeader(), ngInterface(LINKTYPE_NETLINK, 0), ngPacket(0, 0xffffffff_ffffffffn, payload())]);
    const [rec] = readCapture(far).records;
    expect(rec?.time.sec).toBe(Number(0xffffffff_ffffffffn));
    expect(isoTime(rec?.time.sec as number, 0)).toBe("18446744073709552000.000000000 s after 1970");
    expect(() => readCapture(pcapngFile(LINKTYPE_NETLINK, packets, 0xff))).toThrow(/unusable timestamp resolution \(if_tsresol 0xff\)/);
    expect(() => readCapture(pcapngFile(LINKTYPE_NETLINK, packets, 19))).toThrow(CaptureFormatError);
  });

  it("a file cut inside a record: the whole records, and a TRUNCATED tail saying where", () => {
    const whole = pcapFile(LINKTYPE_NETLINK, packets, false);
    const { records, summary } = readCapture(whole.subarray(0, whole.length - 3));
    expect(records).toHaveLength(2);
    expect(summary.tail).toMatchObject({ code: "TRUNCATED" });
    expect(summary.tail?.message).toMatch(
      /cut short: it ends inside record 3 at offset \d+ \(\d+ of its \d+ bytes\); the 2 records before it were read/,
    );
    expect(readCapture(whole).summary.tail).toBeUndefined();
  });

  it("a pcap record's microseconds past one second carry into the seconds", () => {
    const b = pcapFile(LINKTYPE_NETLINK, packets.slice(0, 1), false);
    new DataView(b.buffer).setUint32(24 + 4, 2_500_000, true);
    expect(readCapture(b).records[0]?.time).toEqual({ sec: 1_790_000_002, nsec: 500_000_000 });
  });
});
