// Capture files: a classic pcap writer and a streaming reader of pcap and pcapng.
//
// Portable on purpose (Node, Deno, browsers, workers): bytes leave the writer through a sink
// callback and enter the reader through push(), so this file imports nothing host-specific.
//
// Netlink datagrams are stored with LINKTYPE_NETLINK (253): each record starts with the 16-byte
// pseudo-header Linux's nlmon device and libpcap use (the first 16 bytes of a Linux "cooked"
// header), followed by the datagram exactly as it crossed the socket (host byte order).
//
//   offset  size  field
//   0       2     packet type, big-endian: 0 incoming (PACKET_HOST), 4 outgoing (PACKET_OUTGOING)
//   2       2     ARPHRD_NETLINK = 824, big-endian (Wireshark ignores the record otherwise)
//   4       2     address length, big-endian: 8 in files written here, 0 when unknown
//   6       8     address: the peer's netlink port id (u32 BE) and the multicast groups (u32 BE);
//                 for an outgoing datagram its destination, for an incoming one its source
//   14      2     netlink protocol, big-endian: 20 (NETLINK_RDMA), also when the socket was a
//                 NETLINK_USERSOCK stand-in, so every tool sees iwpm traffic as RDMA netlink

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_NETLINK = 253;
export const LINKTYPE_LINUX_SLL2 = 276;

export const ARPHRD_NETLINK = 824;
export const NETLINK_RDMA = 20;
export const PACKET_HOST = 0;
export const PACKET_OUTGOING = 4;
export const NETLINK_HEADER_SIZE = 16;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const PCAP_HEADER_SIZE = 24;
const PCAP_RECORD_HEADER = 16;
/** Offset of incl_len (the stored length) in a pcap record header. */
const PCAP_INCL_LEN = 8;
const DEFAULT_SNAPLEN = 262144;
/** Larger records or blocks than this are damage, not data (libpcap refuses them too). */
const MAX_RECORD = 0x4000000;

// pcapng block types and the smallest total length each can have (type, length, fixed body,
// trailing length): anything shorter would make the fixed fields overrun the block.
const NG_IDB = 1;
const NG_PB = 2;
const NG_SPB = 3;
const NG_EPB = 6;
const NG_BLOCK_OVERHEAD = 12;
/** Offset of a block's total length, after its type. */
const NG_TOTAL_LENGTH = 4;
const NG_MIN_TOTAL: Record<number, number> = {
  [PCAPNG_SHB]: 28,
  [NG_IDB]: 20,
  [NG_PB]: 32,
  [NG_SPB]: 16,
  [NG_EPB]: 32,
};
const NG_OPT_END = 0;
const NG_OPT_IF_TSRESOL = 9;
/** The largest if_tsresol exponent whose unit is still at least 1e-18 s or 2^-63 s (ns from
 * either base cannot be represented more finely than that anyway). */
const NG_TSRESOL_MAX_DECIMAL = 18;
const NG_TSRESOL_MAX_BINARY = 63;

/** Receives the bytes of a capture file, in order. */
export type Sink = (bytes: Uint8Array) => void;

/** A capture timestamp: whole seconds since the epoch and nanoseconds within the second. */
export interface Timestamp {
  sec: number;
  nsec: number;
}

/** A timestamp from nanoseconds since the epoch. */
export function timestampFromNs(ns: bigint): Timestamp {
  return { sec: Number(ns / 1_000_000_000n), nsec: Number(ns % 1_000_000_000n) };
}

/** The current time from Date.now() (millisecond resolution) plus performance.now() (sub-ms). */
export function wallClockNs(): bigint {
  const origin = performance.timeOrigin + performance.now();
  const ms = Math.floor(origin);
  return BigInt(ms) * 1_000_000n + BigInt(Math.floor((origin - ms) * 1e6));
}

export interface PcapWriterOptions {
  /** Link type of every record (default 253, LINKTYPE_NETLINK). */
  linkType?: number;
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
  /** Largest record stored (default 262144); longer data is cut, keeping its original length. */
  snaplen?: number;
}

/** The 24-byte classic pcap file header (little-endian, version 2.4). */
export function pcapFileHeader(opts: PcapWriterOptions = {}): Uint8Array {
  const out = new Uint8Array(PCAP_HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, opts.snaplen ?? DEFAULT_SNAPLEN, true);
  v.setUint32(20, opts.linkType ?? LINKTYPE_NETLINK, true);
  return out;
}

/** Writes a classic pcap file: the header at once, then one record per writePacket. */
export class PcapWriter {
  readonly linkType: number;
  readonly nanosecond: boolean;
  readonly snaplen: number;
  /** Records written so far. */
  packets = 0;
  /** Bytes handed to the sink so far, header included. */
  bytes = 0;

  constructor(
    private readonly sink: Sink,
    opts: PcapWriterOptions & { headerWritten?: boolean } = {},
  ) {
    this.linkType = opts.linkType ?? LINKTYPE_NETLINK;
    this.nanosecond = opts.nanosecond ?? false;
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    if (!opts.headerWritten) this.emit(pcapFileHeader(opts));
  }

  /**
   * Appends one record. `data` may be several parts, concatenated (e.g. a pseudo-header and a
   * payload); `originalLength` is the length on the wire when the data was already cut.
   */
  writePacket(time: Timestamp | bigint, data: Uint8Array | readonly Uint8Array[], originalLength?: number): void {
    const ts = typeof time === "bigint" ? timestampFromNs(time) : time;
    const parts = data instanceof Uint8Array ? [data] : data;
    let length = 0;
    for (const p of parts) length += p.length;
    const stored = Math.min(length, this.snaplen);
    const out = new Uint8Array(PCAP_RECORD_HEADER + stored);
    const v = new DataView(out.buffer);
    v.setUint32(0, ts.sec >>> 0, true);
    v.setUint32(4, this.nanosecond ? ts.nsec : Math.floor(ts.nsec / 1000), true);
    v.setUint32(8, stored, true);
    v.setUint32(12, Math.max(length, originalLength ?? 0), true);
    let at = PCAP_RECORD_HEADER;
    for (const p of parts) {
      const room = out.length - at;
      if (room <= 0) break;
      out.set(p.length > room ? p.subarray(0, room) : p, at);
      at += Math.min(p.length, room);
    }
    this.packets++;
    this.emit(out);
  }

  private emit(bytes: Uint8Array): void {
    this.bytes += bytes.length;
    this.sink(bytes);
  }
}

// ---- netlink records ------------------------------------------------------------------------

export type Direction = "in" | "out";

export interface NetlinkMeta {
  /** "out": the capturing socket sent it; "in": it received it. */
  direction: Direction;
  /** The peer's netlink port id: destination of a sent datagram, source of a received one. */
  port?: number;
  /** Multicast groups bitmask of the datagram. */
  groups?: number;
  /** Netlink protocol written to the header (default 20, NETLINK_RDMA). */
  protocol?: number;
}

/** The 16-byte LINKTYPE_NETLINK pseudo-header for one datagram. */
export function netlinkPseudoHeader(meta: NetlinkMeta): Uint8Array {
  const out = new Uint8Array(NETLINK_HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint16(0, meta.direction === "out" ? PACKET_OUTGOING : PACKET_HOST, false);
  v.setUint16(2, ARPHRD_NETLINK, false);
  if (meta.port !== undefined || meta.groups !== undefined) {
    v.setUint16(4, 8, false);
    v.setUint32(6, (meta.port ?? 0) >>> 0, false);
    v.setUint32(10, (meta.groups ?? 0) >>> 0, false);
  }
  v.setUint16(14, meta.protocol ?? NETLINK_RDMA, false);
  return out;
}

/** A pcap writer of netlink datagrams (LINKTYPE_NETLINK). */
export class NetlinkPcapWriter {
  readonly pcap: PcapWriter;

  constructor(sink: Sink, opts: Omit<PcapWriterOptions, "linkType"> & { headerWritten?: boolean } = {}) {
    this.pcap = new PcapWriter(sink, { ...opts, linkType: LINKTYPE_NETLINK });
  }

  /** Records one datagram; `originalLength` when the datagram was already cut (a truncated receive). */
  write(time: Timestamp | bigint, meta: NetlinkMeta, datagram: Uint8Array, originalLength?: number): void {
    const orig = originalLength === undefined ? undefined : NETLINK_HEADER_SIZE + originalLength;
    this.pcap.writePacket(time, [netlinkPseudoHeader(meta), datagram], orig);
  }
}

export interface NetlinkRecord {
  /** Packet type from the pseudo-header: 0 incoming, 4 outgoing (others from other capture tools). */
  packetType: number;
  direction: Direction | "unknown";
  protocol: number;
  /** Peer port and groups when the pseudo-header carries them (files written here). */
  port?: number;
  groups?: number;
  /** The datagram (a view into the record). */
  payload: Uint8Array;
}

/** Splits a LINKTYPE_NETLINK record; null when it is not a netlink record (ARPHRD ≠ 824 or too short). */
export function parseNetlinkRecord(data: Uint8Array): NetlinkRecord | null {
  if (data.length < NETLINK_HEADER_SIZE) return null;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint16(2, false) !== ARPHRD_NETLINK) return null;
  const packetType = v.getUint16(0, false);
  const rec: NetlinkRecord = {
    packetType,
    direction: packetType === PACKET_OUTGOING ? "out" : packetType === PACKET_HOST ? "in" : "unknown",
    protocol: v.getUint16(14, false),
    payload: data.subarray(NETLINK_HEADER_SIZE),
  };
  if (v.getUint16(4, false) === 8) {
    rec.port = v.getUint32(6, false);
    rec.groups = v.getUint32(10, false);
  }
  return rec;
}

// ---- reading --------------------------------------------------------------------------------

export type CaptureFormat = "pcap" | "pcapng";

export interface CaptureRecord {
  /** Position of the record in the file, from 0. */
  index: number;
  linkType: number;
  /** pcapng interface id (0 for pcap). */
  interfaceId: number;
  time: Timestamp;
  /** The stored bytes: a view that stays valid only until the next push(). */
  data: Uint8Array;
  /** Length on the wire (≥ data.length when the capture cut it). */
  originalLength: number;
  /** Offset of `data` in the file. */
  fileOffset: number;
}

/**
 * Why a capture could not be read (or not to the end):
 * - EMPTY, NOT_A_CAPTURE, UNSUPPORTED: nothing was read;
 * - DAMAGED: a record or block further in is malformed; the records before it were delivered;
 * - TRUNCATED: the file ends inside a record (a capture cut short); the whole records before it
 *   were delivered.
 */
export type CaptureErrorCode = "EMPTY" | "NOT_A_CAPTURE" | "UNSUPPORTED" | "DAMAGED" | "TRUNCATED";

export class CaptureFormatError extends Error {
  override readonly name = "CaptureFormatError";
  constructor(
    message: string,
    readonly code: CaptureErrorCode = "DAMAGED",
    /** File offset of the record or block at fault. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

interface Iface {
  linkType: number;
  /** Timestamp units per second. */
  unitsPerSec: bigint;
}

export interface CaptureReaderSummary {
  format: CaptureFormat | undefined;
  records: number;
  /** Bytes at the end that do not form a whole record (a capture cut short). */
  trailingBytes: number;
  /** What those bytes are, as an error to show (code TRUNCATED); absent when there are none. */
  tail?: CaptureFormatError;
  /** Link types seen, in order of first use. */
  linkTypes: number[];
}

/**
 * A push parser of pcap (both byte orders, µs and ns) and pcapng (SHB, IDB, EPB, SPB, the
 * obsolete PB; other blocks are skipped). Feed it the file in chunks of any size; it calls
 * `onRecord` for every packet, synchronously, in file order. A malformed record or block throws
 * CaptureFormatError (code DAMAGED) from push() after every record before it was delivered;
 * push() after that, or after end(), throws the same error again.
 */
export class CaptureReader {
  format: CaptureFormat | undefined;
  records = 0;
  private pending: Uint8Array = new Uint8Array(0);
  /** File offset of pending[0]. */
  private base = 0;
  private little = true;
  private pcapNs = false;
  private pcapLinkType = 0;
  private ifaces: Iface[] = [];
  private readonly linkTypes: number[] = [];
  private ended = false;
  private failed: CaptureFormatError | undefined;

  constructor(private readonly onRecord: (rec: CaptureRecord) => void) {}

  /** Bytes consumed so far (whole records). */
  get consumed(): number {
    return this.base;
  }

  push(chunk: Uint8Array): void {
    if (this.failed) throw this.failed;
    if (this.ended) throw new Error("CaptureReader: push() after end()");
    let data: Uint8Array;
    if (this.pending.length === 0) data = chunk;
    else {
      data = new Uint8Array(this.pending.length + chunk.length);
      data.set(this.pending, 0);
      data.set(chunk, this.pending.length);
    }
    let used: number;
    try {
      used = this.parse(data);
    } catch (err) {
      if (err instanceof CaptureFormatError) this.failed = err;
      throw err;
    }
    this.base += used;
    // A copy: `chunk` belongs to the caller, who may reuse it.
    this.pending = used === data.length ? new Uint8Array(0) : data.slice(used);
  }

  /** Ends the input; throws CaptureFormatError for an empty file or one too short for a header. */
  end(): CaptureReaderSummary {
    this.ended = true;
    if (this.failed) throw this.failed;
    if (this.format === undefined) {
      if (this.base + this.pending.length === 0) throw new CaptureFormatError("the file is empty", "EMPTY", 0);
      throw new CaptureFormatError(`the file (${this.pending.length} bytes) is too short for a pcap or pcapng header`, "NOT_A_CAPTURE", 0);
    }
    const out: CaptureReaderSummary = {
      format: this.format,
      records: this.records,
      trailingBytes: this.pending.length,
      linkTypes: this.linkTypes.slice(),
    };
    if (this.pending.length > 0) out.tail = this.tailError();
    return out;
  }

  /** Describes the unfinished unit at the end of the input. */
  private tailError(): CaptureFormatError {
    const p = this.pending;
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    let expected: number | undefined;
    if (this.format === "pcap" && p.length >= PCAP_RECORD_HEADER) expected = PCAP_RECORD_HEADER + v.getUint32(PCAP_INCL_LEN, this.little);
    if (this.format === "pcapng" && p.length >= NG_TOTAL_LENGTH + 4) expected = v.getUint32(NG_TOTAL_LENGTH, this.little);
    const unit = this.format === "pcap" ? `record ${this.records + 1}` : "block";
    const have = expected === undefined ? `${p.length} bytes of its header` : `${p.length} of its ${expected} bytes`;
    return new CaptureFormatError(
      `the capture was cut short: it ends inside ${unit} at offset ${this.base} (${have}); the ${this.records} records before it were read`,
      "TRUNCATED",
      this.base,
    );
  }

  private seeLinkType(lt: number): void {
    if (!this.linkTypes.includes(lt)) this.linkTypes.push(lt);
  }

  private damaged(at: number, what: string): CaptureFormatError {
    return new CaptureFormatError(
      `${what}: the file is damaged at offset ${this.base + at} (the ${this.records} records before it were read)`,
      "DAMAGED",
      this.base + at,
    );
  }

  /** Parses whole units from `data`; returns the bytes used. */
  private parse(data: Uint8Array): number {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    if (this.format === undefined) {
      if (data.length < 4) return 0;
      const magicLE = v.getUint32(0, true);
      if (magicLE === PCAPNG_SHB) {
        this.format = "pcapng";
      } else {
        if (data.length < PCAP_HEADER_SIZE) {
          if (!isPcapMagic(magicLE)) throw notCapture(data);
          return 0;
        }
        const magicBE = v.getUint32(0, false);
        if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) this.little = true;
        else if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) this.little = false;
        else throw notCapture(data);
        this.pcapNs = v.getUint32(0, this.little) === PCAP_MAGIC_NS;
        const major = v.getUint16(4, this.little);
        if (major !== 2)
          throw new CaptureFormatError(
            `pcap version ${major}.${v.getUint16(6, this.little)} is not supported (only 2.x)`,
            "UNSUPPORTED",
            4,
          );
        // The FCS bits live in the top bits of the link type field (pcap-savefile(5)).
        this.pcapLinkType = v.getUint32(20, this.little) & 0x0fffffff;
        this.seeLinkType(this.pcapLinkType);
        this.format = "pcap";
        at = PCAP_HEADER_SIZE;
      }
    }
    if (this.format === "pcap") return this.parsePcap(data, v, at);
    return this.parsePcapng(data, v, at);
  }

  private parsePcap(data: Uint8Array, v: DataView, start: number): number {
    let at = start;
    const le = this.little;
    while (at + PCAP_RECORD_HEADER <= data.length) {
      const incl = v.getUint32(at + PCAP_INCL_LEN, le);
      if (incl > MAX_RECORD) throw this.damaged(at, `record ${this.records + 1} claims ${incl} bytes`);
      if (at + PCAP_RECORD_HEADER + incl > data.length) break;
      const sec = v.getUint32(at, le);
      const frac = v.getUint32(at + 4, le);
      const offset = at + PCAP_RECORD_HEADER;
      this.onRecord({
        index: this.records++,
        linkType: this.pcapLinkType,
        interfaceId: 0,
        // A damaged fraction may exceed a second; carry it rather than keep an impossible value.
        time: normalised(sec, this.pcapNs ? frac : frac * 1000),
        data: data.subarray(offset, offset + incl),
        originalLength: Math.max(v.getUint32(at + 12, le), incl),
        fileOffset: this.base + offset,
      });
      at = offset + incl;
    }
    return at;
  }

  private parsePcapng(data: Uint8Array, v: DataView, start: number): number {
    let at = start;
    while (at + NG_BLOCK_OVERHEAD <= data.length) {
      const typeLE = v.getUint32(at, true);
      if (typeLE === PCAPNG_SHB) {
        // A new section: its own byte order and interfaces.
        const bom = v.getUint32(at + 8, true);
        if (bom === PCAPNG_BYTE_ORDER) this.little = true;
        else if (v.getUint32(at + 8, false) === PCAPNG_BYTE_ORDER) this.little = false;
        else throw this.damaged(at, "a pcapng section header has an unknown byte-order magic");
      }
      const le = this.little;
      const type = v.getUint32(at, le);
      const total = v.getUint32(at + NG_TOTAL_LENGTH, le);
      const min = NG_MIN_TOTAL[type] ?? NG_BLOCK_OVERHEAD;
      if (total < min || total % 4 !== 0 || total > MAX_RECORD)
        throw this.damaged(at, `a pcapng block of type ${type} has a bad length ${total} (at least ${min}, a multiple of 4)`);
      if (at + total > data.length) break;
      const body = at + 8;
      const bodyEnd = at + total - 4;
      if (type === PCAPNG_SHB) this.ifaces = [];
      else if (type === NG_IDB) {
        const linkType = v.getUint16(body, le);
        this.ifaces.push({ linkType, unitsPerSec: this.tsresol(data, v, at, body + 8, bodyEnd) });
        this.seeLinkType(linkType);
      } else if (type === NG_EPB || type === NG_PB) {
        const ifaceId = type === NG_EPB ? v.getUint32(body, le) : v.getUint16(body, le);
        const iface = this.ifaces[ifaceId];
        if (iface === undefined) throw this.damaged(at, `a pcapng packet names interface ${ifaceId}, which was never described`);
        const ts = (BigInt(v.getUint32(body + 4, le)) << 32n) | BigInt(v.getUint32(body + 8, le));
        const caplen = v.getUint32(body + 12, le);
        const origlen = v.getUint32(body + 16, le);
        const offset = body + 20;
        if (caplen > bodyEnd - offset) throw this.damaged(at, `a pcapng packet of ${caplen} bytes overruns its ${total}-byte block`);
        this.emitNg(data, iface, ifaceId, ts, offset, caplen, origlen);
      } else if (type === NG_SPB) {
        // Simple Packet Block: interface 0, no timestamp
        const iface = this.ifaces[0];
        if (iface === undefined) throw this.damaged(at, "a pcapng simple packet comes before any interface");
        const origlen = v.getUint32(body, le);
        const offset = body + 4;
        const caplen = Math.min(origlen, bodyEnd - offset);
        this.emitNg(data, iface, 0, 0n, offset, caplen, origlen);
      }
      at += total;
    }
    return at;
  }

  /** The if_tsresol option of an interface block (default: microseconds). */
  private tsresol(data: Uint8Array, v: DataView, block: number, from: number, to: number): bigint {
    const le = this.little;
    for (let o = from; o + 4 <= to; ) {
      const code = v.getUint16(o, le);
      const len = v.getUint16(o + 2, le);
      if (code === NG_OPT_END) break;
      if (o + 4 + len > to) throw this.damaged(block, `a pcapng interface option (code ${code}, ${len} bytes) overruns its block`);
      if (code === NG_OPT_IF_TSRESOL && len >= 1) {
        const r = data[o + 4] as number;
        const binary = (r & 0x80) !== 0;
        const exp = r & 0x7f;
        if (exp > (binary ? NG_TSRESOL_MAX_BINARY : NG_TSRESOL_MAX_DECIMAL))
          throw this.damaged(block, `a pcapng interface has an unusable timestamp resolution (if_tsresol 0x${r.toString(16)})`);
        return binary ? 1n << BigInt(exp) : 10n ** BigInt(exp);
      }
      o += 4 + ((len + 3) & ~3);
    }
    return 1_000_000n;
  }

  private emitNg(data: Uint8Array, iface: Iface, ifaceId: number, ts: bigint, offset: number, caplen: number, origlen: number): void {
    const sec = ts / iface.unitsPerSec;
    const rem = ts % iface.unitsPerSec;
    this.onRecord({
      index: this.records++,
      linkType: iface.linkType,
      interfaceId: ifaceId,
      time: { sec: Number(sec), nsec: Number((rem * 1_000_000_000n) / iface.unitsPerSec) },
      data: data.subarray(offset, offset + caplen),
      originalLength: Math.max(origlen, caplen),
      fileOffset: this.base + offset,
    });
  }
}

function normalised(sec: number, nsec: number): Timestamp {
  return nsec < 1_000_000_000 ? { sec, nsec } : { sec: sec + Math.floor(nsec / 1_000_000_000), nsec: nsec % 1_000_000_000 };
}

function isPcapMagic(m: number): boolean {
  const swapped = ((m & 0xff) << 24) | ((m & 0xff00) << 8) | ((m >>> 8) & 0xff00) | (m >>> 24);
  return [PCAP_MAGIC_US, PCAP_MAGIC_NS].some((x) => x === m || x === swapped >>> 0);
}

function notCapture(data: Uint8Array): CaptureFormatError {
  const head = Array.from(data.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return new CaptureFormatError(
    `not a pcap or pcapng file (it starts with ${head}; pcap starts with d4 c3 b2 a1 or 4d 3c b2 a1, pcapng with 0a 0d 0d 0a)`,
    "NOT_A_CAPTURE",
    0,
  );
}

/** Reads a whole capture held in memory. Records' `data` are views into `bytes`. */
export function readCapture(bytes: Uint8Array): { records: CaptureRecord[]; summary: CaptureReaderSummary } {
  const records: CaptureRecord[] = [];
  const reader = new CaptureReader((r) => records.push(r));
  reader.push(bytes);
  return { records, summary: reader.end() };
}

/** Seconds from `a` to `b`. */
export function secondsBetween(a: Timestamp, b: Timestamp): number {
  return b.sec - a.sec + (b.nsec - a.nsec) / 1e9;
}
