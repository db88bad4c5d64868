// ../../tmp/cap/mkscen.ts
import { writeFileSync } from "node:fs";

// src/capture/pcap.ts
var LINKTYPE_NULL = 0;
var LINKTYPE_ETHERNET = 1;
var LINKTYPE_RAW = 101;
var LINKTYPE_LOOP = 108;
var LINKTYPE_LINUX_SLL = 113;
var LINKTYPE_IPV4 = 228;
var LINKTYPE_IPV6 = 229;
var LINKTYPE_NETLINK = 253;
var LINKTYPE_LINUX_SLL2 = 276;
var ARPHRD_NETLINK = 824;
var NETLINK_RDMA = 20;
var PACKET_HOST = 0;
var PACKET_OUTGOING = 4;
var NETLINK_HEADER_SIZE = 16;
var PCAP_MAGIC_US = 2712847316;
var PCAP_MAGIC_NS = 2712812621;
var PCAPNG_SHB = 168627466;
var PCAPNG_BYTE_ORDER = 439041101;
var PCAP_HEADER_SIZE = 24;
var PCAP_RECORD_HEADER = 16;
var DEFAULT_SNAPLEN = 262144;
var MAX_RECORD = 67108864;
var NG_IDB = 1;
var NG_PB = 2;
var NG_SPB = 3;
var NG_EPB = 6;
var NG_BLOCK_OVERHEAD = 12;
var NG_MIN_TOTAL = {
  [PCAPNG_SHB]: 28,
  [NG_IDB]: 20,
  [NG_PB]: 32,
  [NG_SPB]: 16,
  [NG_EPB]: 32
};
var NG_OPT_END = 0;
var NG_OPT_IF_TSRESOL = 9;
var NG_TSRESOL_MAX_DECIMAL = 18;
var NG_TSRESOL_MAX_BINARY = 63;
function timestampFromNs(ns) {
  return { sec: Number(ns / 1000000000n), nsec: Number(ns % 1000000000n) };
}
function wallClockNs() {
  const origin = performance.timeOrigin + performance.now();
  const ms = Math.floor(origin);
  return BigInt(ms) * 1000000n + BigInt(Math.floor((origin - ms) * 1e6));
}
function pcapFileHeader(opts = {}) {
  const out = new Uint8Array(PCAP_HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint32(0, opts.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, opts.snaplen ?? DEFAULT_SNAPLEN, true);
  v.setUint32(20, opts.linkType ?? LINKTYPE_NETLINK, true);
  return out;
}
var PcapWriter = class {
  constructor(sink, opts = {}) {
    this.sink = sink;
    this.linkType = opts.linkType ?? LINKTYPE_NETLINK;
    this.nanosecond = opts.nanosecond ?? false;
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    if (!opts.headerWritten) this.emit(pcapFileHeader(opts));
  }
  sink;
  linkType;
  nanosecond;
  snaplen;
  /** Records written so far. */
  packets = 0;
  /** Bytes handed to the sink so far, header included. */
  bytes = 0;
  /**
   * Appends one record. `data` may be several parts, concatenated (e.g. a pseudo-header and a
   * payload); `originalLength` is the length on the wire when the data was already cut.
   */
  writePacket(time, data, originalLength) {
    const ts = typeof time === "bigint" ? timestampFromNs(time) : time;
    const parts = data instanceof Uint8Array ? [data] : data;
    let length = 0;
    for (const p of parts) length += p.length;
    const stored = Math.min(length, this.snaplen);
    const out = new Uint8Array(PCAP_RECORD_HEADER + stored);
    const v = new DataView(out.buffer);
    v.setUint32(0, ts.sec >>> 0, true);
    v.setUint32(4, this.nanosecond ? ts.nsec : Math.floor(ts.nsec / 1e3), true);
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
  emit(bytes) {
    this.bytes += bytes.length;
    this.sink(bytes);
  }
};
function netlinkPseudoHeader(meta) {
  const out = new Uint8Array(NETLINK_HEADER_SIZE);
  const v = new DataView(out.buffer);
  v.setUint16(0, meta.direction === "out" ? PACKET_OUTGOING : PACKET_HOST, false);
  v.setUint16(2, ARPHRD_NETLINK, false);
  if (meta.port !== void 0 || meta.groups !== void 0) {
    v.setUint16(4, 8, false);
    v.setUint32(6, (meta.port ?? 0) >>> 0, false);
    v.setUint32(10, (meta.groups ?? 0) >>> 0, false);
  }
  v.setUint16(14, meta.protocol ?? NETLINK_RDMA, false);
  return out;
}
var NetlinkPcapWriter = class {
  pcap;
  constructor(sink, opts = {}) {
    this.pcap = new PcapWriter(sink, { ...opts, linkType: LINKTYPE_NETLINK });
  }
  /** Records one datagram; `originalLength` when the datagram was already cut (a truncated receive). */
  write(time, meta, datagram, originalLength) {
    const orig = originalLength === void 0 ? void 0 : NETLINK_HEADER_SIZE + originalLength;
    this.pcap.writePacket(time, [netlinkPseudoHeader(meta), datagram], orig);
  }
};
var CaptureFormatError = class extends Error {
  constructor(message, code = "DAMAGED", offset) {
    super(message);
    this.code = code;
    this.offset = offset;
  }
  code;
  offset;
  name = "CaptureFormatError";
};
var CaptureReader = class {
  constructor(onRecord) {
    this.onRecord = onRecord;
  }
  onRecord;
  format;
  records = 0;
  pending = new Uint8Array(0);
  /** File offset of pending[0]. */
  base = 0;
  little = true;
  pcapNs = false;
  pcapLinkType = 0;
  ifaces = [];
  linkTypes = [];
  ended = false;
  failed;
  /** Bytes consumed so far (whole records). */
  get consumed() {
    return this.base;
  }
  push(chunk) {
    if (this.failed) throw this.failed;
    if (this.ended) throw new Error("CaptureReader: push() after end()");
    let data;
    if (this.pending.length === 0) data = chunk;
    else {
      data = new Uint8Array(this.pending.length + chunk.length);
      data.set(this.pending, 0);
      data.set(chunk, this.pending.length);
    }
    let used;
    try {
      used = this.parse(data);
    } catch (err) {
      if (err instanceof CaptureFormatError) this.failed = err;
      throw err;
    }
    this.base += used;
    this.pending = used === data.length ? new Uint8Array(0) : data.slice(used);
  }
  /** Ends the input; throws CaptureFormatError for an empty file or one too short for a header. */
  end() {
    this.ended = true;
    if (this.failed) throw this.failed;
    if (this.format === void 0) {
      if (this.base + this.pending.length === 0) throw new CaptureFormatError("the file is empty", "EMPTY", 0);
      throw new CaptureFormatError(`the file (${this.pending.length} bytes) is too short for a pcap or pcapng header`, "NOT_A_CAPTURE", 0);
    }
    const out = {
      format: this.format,
      records: this.records,
      trailingBytes: this.pending.length,
      linkTypes: this.linkTypes.slice()
    };
    if (this.pending.length > 0) out.tail = this.tailError();
    return out;
  }
  /** Describes the unfinished unit at the end of the input. */
  tailError() {
    const p = this.pending;
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    let expected;
    if (this.format === "pcap" && p.length >= PCAP_RECORD_HEADER) expected = PCAP_RECORD_HEADER + v.getUint32(8, this.little);
    if (this.format === "pcapng" && p.length >= 8) expected = v.getUint32(4, this.little);
    const unit = this.format === "pcap" ? `record ${this.records + 1}` : "block";
    const have = expected === void 0 ? `${p.length} bytes of its header` : `${p.length} of its ${expected} bytes`;
    return new CaptureFormatError(
      `the capture was cut short: it ends inside ${unit} at offset ${this.base} (${have}); the ${this.records} records before it were read`,
      "TRUNCATED",
      this.base
    );
  }
  seeLinkType(lt) {
    if (!this.linkTypes.includes(lt)) this.linkTypes.push(lt);
  }
  damaged(at, what) {
    return new CaptureFormatError(
      `${what}: the file is damaged at offset ${this.base + at} (the ${this.records} records before it were read)`,
      "DAMAGED",
      this.base + at
    );
  }
  /** Parses whole units from `data`; returns the bytes used. */
  parse(data) {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    if (this.format === void 0) {
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
            4
          );
        this.pcapLinkType = v.getUint32(20, this.little) & 268435455;
        this.seeLinkType(this.pcapLinkType);
        this.format = "pcap";
        at = PCAP_HEADER_SIZE;
      }
    }
    if (this.format === "pcap") return this.parsePcap(data, v, at);
    return this.parsePcapng(data, v, at);
  }
  parsePcap(data, v, start) {
    let at = start;
    const le = this.little;
    while (at + PCAP_RECORD_HEADER <= data.length) {
      const incl = v.getUint32(at + 8, le);
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
        time: normalised(sec, this.pcapNs ? frac : frac * 1e3),
        data: data.subarray(offset, offset + incl),
        originalLength: Math.max(v.getUint32(at + 12, le), incl),
        fileOffset: this.base + offset
      });
      at = offset + incl;
    }
    return at;
  }
  parsePcapng(data, v, start) {
    let at = start;
    while (at + NG_BLOCK_OVERHEAD <= data.length) {
      const typeLE = v.getUint32(at, true);
      if (typeLE === PCAPNG_SHB) {
        const bom = v.getUint32(at + 8, true);
        if (bom === PCAPNG_BYTE_ORDER) this.little = true;
        else if (v.getUint32(at + 8, false) === PCAPNG_BYTE_ORDER) this.little = false;
        else throw this.damaged(at, "a pcapng section header has an unknown byte-order magic");
      }
      const le = this.little;
      const type = v.getUint32(at, le);
      const total = v.getUint32(at + 4, le);
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
        if (iface === void 0) throw this.damaged(at, `a pcapng packet names interface ${ifaceId}, which was never described`);
        const ts = BigInt(v.getUint32(body + 4, le)) << 32n | BigInt(v.getUint32(body + 8, le));
        const caplen = v.getUint32(body + 12, le);
        const origlen = v.getUint32(body + 16, le);
        const offset = body + 20;
        if (caplen > bodyEnd - offset) throw this.damaged(at, `a pcapng packet of ${caplen} bytes overruns its ${total}-byte block`);
        this.emitNg(data, iface, ifaceId, ts, offset, caplen, origlen);
      } else if (type === NG_SPB) {
        const iface = this.ifaces[0];
        if (iface === void 0) throw this.damaged(at, "a pcapng simple packet comes before any interface");
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
  tsresol(data, v, block, from, to) {
    const le = this.little;
    for (let o = from; o + 4 <= to; ) {
      const code = v.getUint16(o, le);
      const len = v.getUint16(o + 2, le);
      if (code === NG_OPT_END) break;
      if (o + 4 + len > to) throw this.damaged(block, `a pcapng interface option (code ${code}, ${len} bytes) overruns its block`);
      if (code === NG_OPT_IF_TSRESOL && len >= 1) {
        const r = data[o + 4];
        const binary = (r & 128) !== 0;
        const exp = r & 127;
        if (exp > (binary ? NG_TSRESOL_MAX_BINARY : NG_TSRESOL_MAX_DECIMAL))
          throw this.damaged(block, `a pcapng interface has an unusable timestamp resolution (if_tsresol 0x${r.toString(16)})`);
        return binary ? 1n << BigInt(exp) : 10n ** BigInt(exp);
      }
      o += 4 + (len + 3 & ~3);
    }
    return 1000000n;
  }
  emitNg(data, iface, ifaceId, ts, offset, caplen, origlen) {
    const sec = ts / iface.unitsPerSec;
    const rem = ts % iface.unitsPerSec;
    this.onRecord({
      index: this.records++,
      linkType: iface.linkType,
      interfaceId: ifaceId,
      time: { sec: Number(sec), nsec: Number(rem * 1000000000n / iface.unitsPerSec) },
      data: data.subarray(offset, offset + caplen),
      originalLength: Math.max(origlen, caplen),
      fileOffset: this.base + offset
    });
  }
};
function normalised(sec, nsec) {
  return nsec < 1e9 ? { sec, nsec } : { sec: sec + Math.floor(nsec / 1e9), nsec: nsec % 1e9 };
}
function isPcapMagic(m) {
  const swapped = (m & 255) << 24 | (m & 65280) << 8 | m >>> 8 & 65280 | m >>> 24;
  return [PCAP_MAGIC_US, PCAP_MAGIC_NS].some((x) => x === m || x === swapped >>> 0);
}
function notCapture(data) {
  const head = Array.from(data.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return new CaptureFormatError(
    `not a pcap or pcapng file (it starts with ${head}; pcap starts with d4 c3 b2 a1 or 4d 3c b2 a1, pcapng with 0a 0d 0d 0a)`,
    "NOT_A_CAPTURE",
    0
  );
}
function readCapture(bytes) {
  const records = [];
  const reader = new CaptureReader((r) => records.push(r));
  reader.push(bytes);
  return { records, summary: reader.end() };
}

// src/capture/tap.ts
var CaptureTap = class {
  constructor(inner, opts) {
    this.inner = inner;
    this.opts = opts;
    this.clock = opts.clock ?? wallClockNs;
  }
  inner;
  opts;
  /** Datagrams recorded, and recordings that failed. */
  recorded = 0;
  failed = 0;
  clock;
  sendTo(bytes, port, groups) {
    const time = this.clock();
    const errno = this.inner.sendTo(bytes, port, groups);
    if (errno === 0) this.keep({ time, direction: "out", port, groups, bytes, originalLength: bytes.length });
    return errno;
  }
  recvFrom() {
    const d = this.inner.recvFrom();
    if (d !== null) {
      const originalLength = Math.max(d.truncatedLength ?? 0, d.bytes.length);
      this.keep({ time: this.clock(), direction: "in", port: d.port, groups: d.groups, bytes: d.bytes, originalLength });
    }
    return d;
  }
  keep(d) {
    try {
      this.opts.record(d);
      this.recorded++;
    } catch (err) {
      this.failed++;
      try {
        this.opts.onError?.(err);
      } catch {
      }
    }
  }
};
function pcapRecorder(writer) {
  return (d) => writer.write(d.time, { direction: d.direction, port: d.port, groups: d.groups }, d.bytes, d.originalLength);
}

// src/core/status.ts
var STATUS_LIMIT = 130;
var TRAFFIC_STATS = ["rxDatagrams", "rxMessages", "txDatagrams", "txMessages", "dropped"];

// src/core/errors.ts
var IwpmError = class extends Error {
  constructor(code, message, status, iwpmCode, errno) {
    super(message);
    this.code = code;
    this.status = status;
    this.iwpmCode = iwpmCode;
    this.errno = errno;
  }
  code;
  status;
  iwpmCode;
  errno;
  name = "IwpmError";
};

// src/core/ip.ts
function parseIPv4(text) {
  const out = new Uint8Array(4);
  let octet = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c >= 48 && c <= 57) {
      if (digits === 1 && value === 0) return null;
      value = value * 10 + (c - 48);
      if (++digits > 3 || value > 255) return null;
    } else if (c === 46 && digits > 0 && octet < 4) {
      out[octet++] = value;
      value = 0;
      digits = 0;
    } else {
      return null;
    }
  }
  return octet === 4 ? out : null;
}
function parseIPv6(text) {
  let head = text;
  let tailV4 = null;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (s2) => {
    if (s2 === "") return [];
    const out2 = [];
    for (const g of s2.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out2.push(Number.parseInt(g, 16));
    }
    return out2;
  };
  const left = groups(halves[0]);
  const right = halves.length === 2 ? groups(halves[1]) : [];
  if (left === null || right === null) return null;
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 && missing !== 0 || halves.length === 2 && missing < 1) return null;
  const all = [...left, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 255;
  });
  if (tailV4 !== null) out.set(tailV4, 12);
  return out;
}
function formatIPv4(bytes) {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}
function formatIPv6(bytes) {
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes[i] << 8 | bytes[i + 1]);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs) => gs.map((g) => g.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

// src/core/sockaddr.ts
var SOCKADDR_SIZE = 128;
var AF_INET = 2;
var AF_INET6 = 10;
function writeSockaddr(view, offset, addr2) {
  new Uint8Array(view.buffer, view.byteOffset + offset, SOCKADDR_SIZE).fill(0);
  if (!Number.isInteger(addr2.port) || addr2.port < 0 || addr2.port > 65535) throw new RangeError(`port ${addr2.port} is not 0..65535`);
  if (addr2.family === "ipv4") {
    const ip2 = parseIPv4(addr2.address);
    if (ip2 === null) throw new RangeError(`"${addr2.address}" is not an IPv4 address`);
    view.setUint16(offset, AF_INET, true);
    view.setUint16(offset + 2, addr2.port, false);
    new Uint8Array(view.buffer, view.byteOffset + offset + 4, 4).set(ip2);
    return;
  }
  const ip = parseIPv6(addr2.address);
  if (ip === null) throw new RangeError(`"${addr2.address}" is not an IPv6 address`);
  view.setUint16(offset, AF_INET6, true);
  view.setUint16(offset + 2, addr2.port, false);
  view.setUint32(offset + 4, addr2.flowinfo ?? 0, false);
  new Uint8Array(view.buffer, view.byteOffset + offset + 8, 16).set(ip);
  view.setUint32(offset + 24, addr2.scopeId ?? 0, true);
}
function readSockaddr(view, offset) {
  const family = view.getUint16(offset, true);
  const port = view.getUint16(offset + 2, false);
  if (family === AF_INET) {
    return { family: "ipv4", address: formatIPv4(new Uint8Array(view.buffer, view.byteOffset + offset + 4, 4)), port };
  }
  if (family === AF_INET6) {
    const addr2 = {
      family: "ipv6",
      address: formatIPv6(new Uint8Array(view.buffer, view.byteOffset + offset + 8, 16)),
      port
    };
    const flowinfo = view.getUint32(offset + 4, false);
    const scopeId = view.getUint32(offset + 24, true);
    if (flowinfo !== 0) addr2.flowinfo = flowinfo;
    if (scopeId !== 0) addr2.scopeId = scopeId;
    return addr2;
  }
  return null;
}

// src/core/events.ts
var EV_REQUEST_DONE = 1;
var EV_REMOTE_INFO = 2;
var EV_MAPPING_ERROR = 3;
var EV_DAEMON_HELLO = 4;
var EV_MAPINFO_REQUEST = 5;
var EV_MAPINFO_SENT = 6;
var EV_MAPINFO_ACK = 7;
var E_KIND = 0;
var E_CLIENT = 2;
var E_STATUS = 4;
var E_SEQ = 8;
var E_OP = 12;
var E_A = 16;
var E_B = 20;
var E_C = 24;
var E_PORT = 28;
var E_ADDRS = 32;
function addr(view, at, n) {
  return readSockaddr(view, at + E_ADDRS + n * SOCKADDR_SIZE);
}
function must(a) {
  if (a === null) throw new Error("core event carries an address of an unknown family");
  return a;
}
function readEvent(view, at) {
  const kind = view.getUint16(at + E_KIND, true);
  const nlClient = view.getUint16(at + E_CLIENT, true);
  const status = view.getInt32(at + E_STATUS, true);
  const seq = view.getUint32(at + E_SEQ, true);
  const a = view.getUint32(at + E_A, true);
  const b = view.getUint32(at + E_B, true);
  const port = view.getUint32(at + E_PORT, true);
  switch (kind) {
    case EV_REQUEST_DONE: {
      const ok = status === 0;
      return {
        kind: "requestDone",
        nlClient,
        seq,
        op: view.getUint32(at + E_OP, true),
        status,
        a,
        b,
        port,
        mappedLocal: ok ? addr(view, at, 0) : null,
        mappedRemote: ok ? addr(view, at, 1) : null
      };
    }
    case EV_REMOTE_INFO:
      return {
        kind: "remoteInfo",
        nlClient,
        seq,
        local: must(addr(view, at, 0)),
        remote: must(addr(view, at, 1)),
        mappedLocal: must(addr(view, at, 2)),
        mappedRemote: must(addr(view, at, 3))
      };
    case EV_MAPPING_ERROR:
      return { kind: "mappingError", nlClient, code: status, port };
    case EV_DAEMON_HELLO:
      return { kind: "daemonHello", nlClient, status, port, version: a, offered: b, answeredAsV3: view.getUint32(at + E_C, true) === 1 };
    case EV_MAPINFO_REQUEST:
      return { kind: "mapinfoRequest", nlClient, port, version: a };
    case EV_MAPINFO_SENT:
      return { kind: "mapinfoSent", nlClient, status, seq, records: a, datagrams: b, port };
    case EV_MAPINFO_ACK:
      return { kind: "mapinfoAck", nlClient, seq, sent: a, acked: b, port };
    default:
      throw new Error(`core event of unknown kind ${kind}`);
  }
}

// src/core/core.ts
var CORE_ABI_VERSION = 3;
var ARG_DEVNAME = 512;
var ARG_IFNAME = 544;
async function instantiateCore(source, shim) {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const instance = await WebAssembly.instantiate(module, shim.imports);
  const exports = instance.exports;
  shim.bind(exports.memory);
  const found = exports.coreAbiVersion();
  if (found !== CORE_ABI_VERSION) {
    throw new IwpmError(
      "ABI_MISMATCH",
      `the iwpm core speaks ABI ${found} but this host expects ${CORE_ABI_VERSION}; rebuild the core with \`npm run build\` or install matching package versions`
    );
  }
  return new Core(exports);
}
var Core = class {
  constructor(exports) {
    this.exports = exports;
  }
  exports;
  /** A fresh view: memory.grow detaches earlier ones. */
  view() {
    return new DataView(this.exports.memory.buffer);
  }
  bytes() {
    return new Uint8Array(this.exports.memory.buffer);
  }
  writeAddr(slot, addr2) {
    writeSockaddr(this.view(), this.exports.argsPtr() + slot * SOCKADDR_SIZE, addr2);
  }
  readAddr(slot) {
    return readSockaddr(this.view(), this.exports.argsPtr() + slot * SOCKADDR_SIZE);
  }
  /** Writes the NUL-padded device (32) and netdev (16) names; false when either is too long. */
  writeNames(devName, ifName) {
    const enc = new TextEncoder();
    const dev = enc.encode(devName);
    const ifn = enc.encode(ifName);
    if (dev.length > 31 || ifn.length > 15) return false;
    const args = this.exports.argsPtr();
    const mem = this.bytes();
    mem.fill(0, args + ARG_DEVNAME, args + ARG_IFNAME + 16);
    mem.set(dev, args + ARG_DEVNAME);
    mem.set(ifn, args + ARG_IFNAME);
    return true;
  }
  /** The daemon's port when one is known, else the kernel's pid state: -1 undefined, -2 unavailable. */
  daemonPid() {
    const state = this.exports.pidState();
    return state === 1 ? this.exports.daemonPort() >>> 0 : state;
  }
  /** Reads and clears the events the last calls produced. */
  drainEvents() {
    const n = this.exports.eventCount();
    if (n === 0) return [];
    const view = this.view();
    const base = this.exports.eventsPtr();
    const size = this.exports.eventSize();
    const out = [];
    for (let i = 0; i < n; i++) out.push(readEvent(view, base + i * size));
    this.exports.eventsClear();
    return out;
  }
  /** Hands a datagram to the core as if it had arrived on the socket. */
  feed(datagram, port) {
    const len = Math.min(datagram.length, this.exports.rxCap());
    this.bytes().set(datagram.subarray(0, len), this.exports.rxPtr());
    this.exports.handleRx(len, port);
  }
  /** Per-reason drop counters (by status name) and traffic totals. */
  stats() {
    const view = this.view();
    const base = this.exports.statsPtr();
    const drops = {};
    for (let code = 0; code < STATUS_LIMIT; code++) {
      const n = view.getUint32(base + code * 4, true);
      if (n !== 0) drops[code] = n;
    }
    const total = (i) => view.getUint32(base + (STATUS_LIMIT + i) * 4, true);
    const [rxDatagrams, rxMessages, txDatagrams, txMessages, dropped] = TRAFFIC_STATS.map((_, i) => total(i));
    return { drops, rxDatagrams, rxMessages, txDatagrams, txMessages, dropped };
  }
  /** Every mapinfo record in creation order. */
  mapinfo() {
    const out = [];
    for (let i = this.exports.mapinfoHead(); i !== 0; i = this.exports.mapinfoAfter(i)) {
      const flags = this.exports.mapinfoRead(i);
      const local = this.readAddr(0);
      const mapped = this.readAddr(1);
      if (local === null || mapped === null) throw new Error("mapinfo record with an unknown address family");
      out.push({ nlClient: this.exports.mapinfoOwner(i), local, mapped, flags });
    }
    return out;
  }
};

// src/host/errno.ts
var Errno = {
  SUCCESS: 0,
  E2BIG: 1,
  // $2big
  EACCES: 2,
  // $acces
  EADDRINUSE: 3,
  EADDRNOTAVAIL: 4,
  EAFNOSUPPORT: 5,
  EAGAIN: 6,
  EALREADY: 7,
  EBADF: 8,
  EBADMSG: 9,
  EBUSY: 10,
  ECANCELED: 11,
  ECHILD: 12,
  ECONNABORTED: 13,
  ECONNREFUSED: 14,
  ECONNRESET: 15,
  EDEADLK: 16,
  EDESTADDRREQ: 17,
  EDOM: 18,
  EDQUOT: 19,
  EEXIST: 20,
  EFAULT: 21,
  EFBIG: 22,
  EHOSTUNREACH: 23,
  EIDRM: 24,
  EILSEQ: 25,
  EINPROGRESS: 26,
  EINTR: 27,
  EINVAL: 28,
  EIO: 29,
  EISCONN: 30,
  EISDIR: 31,
  ELOOP: 32,
  EMFILE: 33,
  EMLINK: 34,
  EMSGSIZE: 35,
  EMULTIHOP: 36,
  ENAMETOOLONG: 37,
  ENETDOWN: 38,
  ENETRESET: 39,
  ENETUNREACH: 40,
  ENFILE: 41,
  ENOBUFS: 42,
  ENODEV: 43,
  ENOENT: 44,
  ENOEXEC: 45,
  ENOLCK: 46,
  ENOLINK: 47,
  ENOMEM: 48,
  ENOMSG: 49,
  ENOPROTOOPT: 50,
  ENOSPC: 51,
  ENOSYS: 52,
  ENOTCONN: 53,
  ENOTDIR: 54,
  ENOTEMPTY: 55,
  ENOTRECOVERABLE: 56,
  ENOTSOCK: 57,
  ENOTSUP: 58,
  ENOTTY: 59,
  ENXIO: 60,
  EOVERFLOW: 61,
  EOWNERDEAD: 62,
  EPERM: 63,
  EPIPE: 64,
  EPROTO: 65,
  EPROTONOSUPPORT: 66,
  EPROTOTYPE: 67,
  ERANGE: 68,
  EROFS: 69,
  ESPIPE: 70,
  ESRCH: 71,
  ESTALE: 72,
  ETIMEDOUT: 73,
  ETXTBSY: 74,
  EXDEV: 75,
  ENOTCAPABLE: 76
  // $notcapable: a WASI extension with no POSIX counterpart
};
var ALIASES = /* @__PURE__ */ new Map([
  ["EWOULDBLOCK", Errno.EAGAIN],
  ["EOPNOTSUPP", Errno.ENOTSUP],
  ["EDEADLOCK", Errno.EDEADLK]
]);
var NAMES = new Map(Object.keys(Errno).map((name) => [Errno[name], name]));
function errnoFromCode(code, fallback = Errno.EIO) {
  if (code === void 0) return fallback;
  if (code !== "SUCCESS" && Object.hasOwn(Errno, code)) return Errno[code];
  return ALIASES.get(code) ?? fallback;
}
function errnoFromError(err, fallback = Errno.EIO) {
  const code = typeof err === "object" && err !== null ? err.code : void 0;
  return typeof code === "string" ? errnoFromCode(code, fallback) : fallback;
}

// src/host/shim.ts
var SocketMap = class extends Map {
};
var CLOCK_REALTIME = 0;
var CLOCK_MONOTONIC = 1;
var STDOUT = 1;
var STDERR = 2;
var CIOVEC_SIZE = 8;
var U32_MAX = 4294967295;
var RANDOM_CHUNK = 65536;
var portableClock = {
  monotonicNs: () => BigInt(Math.floor(performance.now() * 1e6)),
  realtimeNs: () => BigInt(Date.now()) * 1000000n
};
function cryptoRandom(buf) {
  for (let at = 0; at < buf.length; at += RANDOM_CHUNK) {
    crypto.getRandomValues(buf.subarray(at, at + RANDOM_CHUNK));
  }
}
function consoleLog(fd, text) {
  const line = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (fd === STDOUT) console.log(line);
  else console.error(line);
}
function fits(size, ptr, len) {
  return ptr + len <= size;
}
function createShim(opts) {
  const { sockets } = opts;
  const clock = opts.clock ?? portableClock;
  const random = opts.random ?? cryptoRandom;
  const log = opts.log ?? consoleLog;
  const decoders = /* @__PURE__ */ new Map();
  let memory;
  function buffer() {
    if (memory === void 0) throw new Error("shim: bind(memory) was not called");
    return memory.buffer;
  }
  let viewed;
  let u8 = new Uint8Array(0);
  let dv = new DataView(u8.buffer);
  function refresh() {
    const b = buffer();
    if (b !== viewed) {
      viewed = b;
      u8 = new Uint8Array(b);
      dv = new DataView(b);
    }
  }
  const bytes = () => {
    refresh();
    return u8;
  };
  const data = () => {
    refresh();
    return dv;
  };
  function hostError(err) {
    try {
      opts.onHostError?.(err);
    } catch {
    }
    return errnoFromError(err);
  }
  function clock_time_get(clockId, _precision, timeOut) {
    try {
      const out = timeOut >>> 0;
      let ns;
      if (clockId === CLOCK_MONOTONIC) ns = clock.monotonicNs();
      else if (clockId === CLOCK_REALTIME) ns = clock.realtimeNs();
      else return Errno.EINVAL;
      const view = data();
      if (!fits(view.byteLength, out, 8)) return Errno.EFAULT;
      view.setBigUint64(out, BigInt.asUintN(64, ns), true);
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }
  function random_get(buf, bufLen) {
    try {
      const at = buf >>> 0;
      const len = bufLen >>> 0;
      if (!fits(buffer().byteLength, at, len)) return Errno.EFAULT;
      const fill = new Uint8Array(len);
      random(fill);
      bytes().set(fill, at);
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }
  function fd_write(fd, iovs, iovsLen, nwritten) {
    try {
      if (fd !== STDOUT && fd !== STDERR) return Errno.EBADF;
      const base = iovs >>> 0;
      const count = iovsLen >>> 0;
      const out = nwritten >>> 0;
      const view = data();
      const size = view.byteLength;
      if (!fits(size, base, count * CIOVEC_SIZE) || !fits(size, out, 4)) return Errno.EFAULT;
      let total = 0;
      for (let i = 0; i < count; i++) {
        const at = view.getUint32(base + i * CIOVEC_SIZE, true);
        const len = view.getUint32(base + i * CIOVEC_SIZE + 4, true);
        if (!fits(size, at, len)) return Errno.EFAULT;
        total += len;
      }
      if (total > U32_MAX) return Errno.EINVAL;
      let decoder = decoders.get(fd);
      if (decoder === void 0) {
        decoder = new TextDecoder();
        decoders.set(fd, decoder);
      }
      const u82 = new Uint8Array(view.buffer);
      let text = "";
      for (let i = 0; i < count; i++) {
        const at = view.getUint32(base + i * CIOVEC_SIZE, true);
        const len = view.getUint32(base + i * CIOVEC_SIZE + 4, true);
        text += decoder.decode(u82.subarray(at, at + len), { stream: true });
      }
      if (text.length > 0) log(fd, text);
      data().setUint32(out, total, true);
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }
  function sendCopy(at, n, out, send) {
    const errno = send(bytes().slice(at, at + n));
    if (errno !== Errno.SUCCESS) return errno;
    data().setUint32(out, n, true);
    return Errno.SUCCESS;
  }
  function deliver(datagram, at, room, nreadOut) {
    const copied = Math.min(datagram.bytes.length, room);
    bytes().set(datagram.bytes.subarray(0, copied), at);
    const length = Math.max(datagram.truncatedLength ?? 0, datagram.bytes.length);
    data().setUint32(nreadOut, length, true);
    return length > copied ? Errno.EMSGSIZE : Errno.SUCCESS;
  }
  function send_to(fd, buf, len, port, groups, nsent) {
    try {
      const socket = sockets.get(fd >>> 0);
      if (socket === void 0) return Errno.EBADF;
      const at = buf >>> 0;
      const n = len >>> 0;
      const out = nsent >>> 0;
      const size = buffer().byteLength;
      if (!fits(size, at, n) || !fits(size, out, 4)) return Errno.EFAULT;
      return sendCopy(at, n, out, (datagram) => socket.sendTo(datagram, port >>> 0, groups >>> 0));
    } catch (err) {
      return hostError(err);
    }
  }
  function recv_from(fd, buf, cap, nread, port, groups) {
    try {
      const socket = sockets.get(fd >>> 0);
      if (socket === void 0) return Errno.EBADF;
      const at = buf >>> 0;
      const room = cap >>> 0;
      const nreadOut = nread >>> 0;
      const portOut = port >>> 0;
      const groupsOut = groups >>> 0;
      const size = buffer().byteLength;
      if (!fits(size, at, room) || !fits(size, nreadOut, 4) || !fits(size, portOut, 4) || !fits(size, groupsOut, 4)) {
        return Errno.EFAULT;
      }
      const datagram = socket.recvFrom();
      if (datagram === null) return Errno.EAGAIN;
      const errno = deliver(datagram, at, room, nreadOut);
      const view = data();
      view.setUint32(portOut, datagram.port >>> 0, true);
      view.setUint32(groupsOut, datagram.groups >>> 0, true);
      return errno;
    } catch (err) {
      return hostError(err);
    }
  }
  const PEER_SIZE = 24;
  function tcp_reserve(family, port, handleOut, portOut) {
    try {
      if (opts.ports === void 0) return Errno.ENOSYS;
      const h = handleOut >>> 0;
      const p = portOut >>> 0;
      const size = buffer().byteLength;
      if (!fits(size, h, 4) || !fits(size, p, 4)) return Errno.EFAULT;
      const result = opts.ports.reserve(family >>> 0, port & 65535);
      if (result.errno !== Errno.SUCCESS) return result.errno;
      const view = data();
      view.setUint32(h, (result.handle ?? 0) >>> 0, true);
      view.setUint32(p, (result.port ?? 0) & 65535, true);
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }
  function handle_close(handle) {
    try {
      if (opts.ports === void 0) return Errno.ENOSYS;
      return opts.ports.close(handle >>> 0);
    } catch (err) {
      return hostError(err);
    }
  }
  function udp_send_to(fd, buf, len, peer, nsent) {
    try {
      const socket = opts.udpSockets?.get(fd >>> 0);
      if (socket === void 0) return Errno.EBADF;
      const at = buf >>> 0;
      const n = len >>> 0;
      const to = peer >>> 0;
      const out = nsent >>> 0;
      const size = buffer().byteLength;
      if (!fits(size, at, n) || !fits(size, to, PEER_SIZE) || !fits(size, out, 4)) return Errno.EFAULT;
      const view = data();
      const address = {
        family: view.getUint16(to, true),
        port: view.getUint16(to + 2, true),
        scopeId: view.getUint32(to + 4, true),
        address: bytes().slice(to + 8, to + 24)
      };
      return sendCopy(at, n, out, (datagram) => socket.sendTo(datagram, address));
    } catch (err) {
      return hostError(err);
    }
  }
  function udp_recv_from(fd, buf, cap, nread, peer) {
    try {
      const socket = opts.udpSockets?.get(fd >>> 0);
      if (socket === void 0) return Errno.EBADF;
      const at = buf >>> 0;
      const room = cap >>> 0;
      const nreadOut = nread >>> 0;
      const from = peer >>> 0;
      const size = buffer().byteLength;
      if (!fits(size, at, room) || !fits(size, nreadOut, 4) || !fits(size, from, PEER_SIZE)) {
        return Errno.EFAULT;
      }
      const datagram = socket.recvFrom();
      if (datagram === null) return Errno.EAGAIN;
      const errno = deliver(datagram, at, room, nreadOut);
      const view = data();
      view.setUint16(from, datagram.from.family, true);
      view.setUint16(from + 2, datagram.from.port & 65535, true);
      view.setUint32(from + 4, datagram.from.scopeId >>> 0, true);
      const addr2 = new Uint8Array(16);
      addr2.set(datagram.from.address.subarray(0, 16));
      bytes().set(addr2, from + 8);
      return errno;
    } catch (err) {
      return hostError(err);
    }
  }
  return {
    imports: {
      wasi_snapshot_preview1: { clock_time_get, random_get, fd_write },
      iwpm_sock: {
        send_to,
        recv_from,
        tcp_reserve,
        handle_close,
        udp_send_to,
        udp_recv_from
      }
    },
    bind(mem) {
      memory = mem;
    }
  };
}

// test/support/core.ts
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
var wasmPath = fileURLToPath(new URL("../../build/core/iwpm.wasm", import.meta.url));
var compiled;
function coreModule() {
  compiled ??= new WebAssembly.Module(readFileSync(wasmPath));
  return compiled;
}
var FakeSocket = class {
  sent = [];
  inbox = [];
  /** When set, sendTo fails with this WASI errno. */
  failWith = 0;
  sendTo(bytes, port, groups) {
    if (this.failWith !== 0) return this.failWith;
    this.sent.push({ bytes, port, groups });
    return 0;
  }
  recvFrom() {
    return this.inbox.shift() ?? null;
  }
  take() {
    return this.sent.splice(0);
  }
};
var FakeClock = class {
  ns = 5000000000n;
  monotonicNs() {
    return this.ns;
  }
  realtimeNs() {
    return this.ns;
  }
  advance(ms) {
    this.ns += BigInt(ms) * 1000000n;
  }
};
var SOCKET_FD = 3;

// test/support/nl.ts
var NLM_F_REQUEST = 1;
var rdma = (client, op) => client << 10 | op;
var align4 = (n) => n + 3 & ~3;
function attrRaw(id, payload, lenOverride) {
  const out = new Uint8Array(4 + align4(payload.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, lenOverride ?? 4 + payload.length, true);
  v.setUint16(2, id, true);
  out.set(payload, 4);
  return out;
}
var attrU32 = (id, value) => {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, value >>> 0, true);
  return attrRaw(id, p);
};
var attrU16 = (id, value) => {
  const p = new Uint8Array(2);
  new DataView(p.buffer).setUint16(0, value, true);
  return attrRaw(id, p);
};
var attrStr = (id, s2) => attrRaw(id, new TextEncoder().encode(`${s2}\0`));
var attrAddr = (id, a) => {
  const p = new Uint8Array(SOCKADDR_SIZE);
  writeSockaddr(new DataView(p.buffer), 0, a);
  return attrRaw(id, p);
};
function nlmsg(h, attrs = [], lenOverride) {
  const body = attrs.reduce((n, a) => n + a.length, 0);
  const out = new Uint8Array(16 + body);
  const v = new DataView(out.buffer);
  v.setUint32(0, lenOverride ?? out.length, true);
  v.setUint16(4, h.type, true);
  v.setUint16(6, h.flags ?? NLM_F_REQUEST, true);
  v.setUint32(8, h.seq >>> 0, true);
  v.setUint32(12, h.pid >>> 0, true);
  let at = 16;
  for (const a of attrs) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

// test/support/fake-daemon.ts
var ULIB = "iWarpPortMapperUser";
var FakeDaemon = class {
  constructor(port = 1234, nlClient = 2) {
    this.port = port;
    this.nlClient = nlClient;
  }
  port;
  nlClient;
  counter = 0;
  header(op, seq) {
    return { type: rdma(this.nlClient, op), seq: seq ?? this.counter++, pid: this.port };
  }
  hello(version = 4, seq) {
    return nlmsg(this.header(8, seq), [attrU16(1, version)]);
  }
  mapinfoRequest(version = 4, seq, ulib = ULIB) {
    return nlmsg(this.header(6, seq), [attrStr(1, ulib), attrU16(2, version)]);
  }
  regPidReply(reqSeq, devName, o = {}) {
    return nlmsg(this.header(0, o.seq), [
      attrU32(1, reqSeq),
      attrStr(2, devName),
      attrStr(3, o.ulib ?? ULIB),
      attrU16(4, o.version ?? 4),
      attrU16(5, 0)
    ]);
  }
  addReply(reqSeq, local, mapped, seq) {
    return nlmsg(this.header(1, seq), [attrU32(1, reqSeq), attrAddr(2, local), attrAddr(3, mapped), attrU16(4, 0)]);
  }
  queryReply(reqSeq, a, err = 0) {
    return nlmsg(this.header(2), [
      attrU32(1, reqSeq),
      attrAddr(2, a.local),
      attrAddr(3, a.remote),
      attrAddr(4, a.mappedLocal),
      attrAddr(5, a.mappedRemote),
      attrU16(6, err)
    ]);
  }
  remoteInfo(a) {
    return nlmsg(this.header(4), [
      attrU32(1, 0),
      attrAddr(2, a.local),
      attrAddr(3, a.remote),
      attrAddr(4, a.mappedLocal),
      attrAddr(5, a.mappedRemote),
      attrU16(6, 0)
    ]);
  }
  handleErr(reqSeq, code) {
    return nlmsg(this.header(5), [attrU32(1, reqSeq), attrU16(2, code)]);
  }
  mapinfoAck(reqSeq, sent, acked) {
    return nlmsg(this.header(7), [attrU32(1, reqSeq), attrU32(2, sent), attrU32(3, acked)]);
  }
};
var v4 = (address, port) => ({ family: "ipv4", address, port });

// test/replay/scenario.ts
var CLIENT_PORT = 4321;
var DAEMON_1 = 1234;
var DAEMON_2 = 2345;
var EPOCH_NS = 1790000000000000000n;
function concatChunks(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
async function makeScenario(opts = {}) {
  const chunks = [];
  const writer = new NetlinkPcapWriter((b) => chunks.push(b), { nanosecond: opts.nanosecond ?? false });
  const socket = new FakeSocket();
  const clock = new FakeClock();
  const tap = new CaptureTap(socket, { record: pcapRecorder(writer), clock: () => EPOCH_NS + clock.ns });
  const shim = createShim({ sockets: new SocketMap([[SOCKET_FD, tap]]), clock, random: (b) => b.fill(17), log: () => {
  } });
  const core = await instantiateCore(coreModule(), shim);
  const x = core.exports;
  x.setSocket(SOCKET_FD);
  x.setPort(CLIENT_PORT);
  x.seedSequence(100);
  x.init(2);
  const marks = {};
  const seqs = {};
  const t0 = clock.ns + 5000000n;
  const mark = (name) => {
    marks[name] = Number(clock.ns - t0) / 1e9;
  };
  const deliver = (bytes, port) => {
    clock.advance(5);
    socket.inbox.push({ bytes, port, groups: 0 });
    x.poll();
    core.drainEvents();
  };
  const step = (ms = 5) => clock.advance(ms);
  const d1 = new FakeDaemon(DAEMON_1);
  deliver(d1.hello(4), DAEMON_1);
  deliver(d1.mapinfoRequest(4), DAEMON_1);
  mark("hello");
  step();
  core.writeNames("siw0", "lo");
  seqs.reg = x.registerPid(2);
  deliver(d1.regPidReply(seqs.reg, "siw0"), DAEMON_1);
  mark("registered");
  step();
  core.writeAddr(0, v4("127.0.0.1", 5555));
  seqs.add = x.addMapping(2, 0);
  mark("addSent");
  deliver(d1.addReply(seqs.add, v4("127.0.0.1", 5555), v4("127.0.0.1", 4e4)), DAEMON_1);
  core.writeAddr(0, v4("127.0.0.1", 5555));
  core.writeAddr(1, v4("127.0.0.1", 4e4));
  x.createMapinfo(2, 0);
  mark("added");
  step();
  core.writeAddr(0, v4("10.0.0.1", 6e3));
  core.writeAddr(1, v4("10.0.0.2", 7e3));
  seqs.query = x.addAndQueryMapping(2, 1);
  deliver(
    d1.queryReply(seqs.query, {
      local: v4("10.0.0.1", 6e3),
      remote: v4("10.0.0.2", 7e3),
      mappedLocal: v4("10.0.0.1", 6e3),
      mappedRemote: v4("10.0.0.2", 47e3)
    }),
    DAEMON_1
  );
  mark("queried");
  deliver(
    d1.remoteInfo({
      local: v4("127.0.0.1", 5555),
      remote: v4("10.0.0.9", 9e3),
      mappedLocal: v4("127.0.0.1", 4e4),
      mappedRemote: v4("10.0.0.9", 49e3)
    }),
    DAEMON_1
  );
  mark("remoteInfo");
  step();
  core.writeAddr(0, v4("127.0.0.1", 5555));
  seqs.dup = x.addMapping(2, 0);
  deliver(d1.handleErr(seqs.dup, 12), DAEMON_1);
  mark("handleErr");
  step();
  core.writeAddr(0, v4("10.0.0.1", 6e3));
  x.removeMapping(2);
  mark("removed");
  deliver(d1.addReply(999, v4("127.0.0.1", 1), v4("127.0.0.1", 2)), DAEMON_1);
  mark("stray");
  step(1e3);
  const d2 = new FakeDaemon(DAEMON_2);
  deliver(d2.hello(4), DAEMON_2);
  deliver(d2.mapinfoRequest(4), DAEMON_2);
  mark("restarted");
  const num = socket.sent.at(-1);
  const numSeq = num ? new DataView(num.bytes.buffer, num.bytes.byteOffset).getUint32(8, true) : 0;
  seqs.mapinfoNum = numSeq;
  deliver(d2.mapinfoAck(numSeq, 1, 1), DAEMON_2);
  mark("acked");
  step();
  core.writeNames("siw0", "lo");
  seqs.reg2 = x.registerPid(2);
  deliver(d2.regPidReply(seqs.reg2, "siw0"), DAEMON_2);
  core.writeAddr(0, v4("127.0.0.1", 6666));
  seqs.lost = x.addMapping(2, 0);
  mark("lostSent");
  step(11e3);
  x.tick();
  deliver(
    d2.remoteInfo({
      local: v4("127.0.0.1", 6666),
      remote: v4("10.0.0.3", 1),
      mappedLocal: v4("127.0.0.1", 6666),
      mappedRemote: v4("10.0.0.3", 1)
    }),
    DAEMON_2
  );
  mark("end");
  return { pcap: concatChunks(chunks), marks, seqs };
}

// test/capture/seeds.ts
var PCAPNG_SHB2 = 168627466;
var PCAPNG_BYTE_ORDER2 = 439041101;
var NG_IDB2 = 1;
var NG_EPB2 = 6;
var NG_SPB2 = 3;
var OPT_IF_TSRESOL = 9;
var IWPM_PEER_PORT = 3935;
function ngBlock(type, body) {
  const padded = body.length + 3 & ~3;
  const out = new Uint8Array(12 + padded);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, out.length, true);
  out.set(body, 8);
  v.setUint32(out.length - 4, out.length, true);
  return out;
}
function ngSectionHeader() {
  const shb = new Uint8Array(16);
  const v = new DataView(shb.buffer);
  v.setUint32(0, PCAPNG_BYTE_ORDER2, true);
  v.setUint16(4, 1, true);
  v.setBigInt64(8, -1n, true);
  return ngBlock(PCAPNG_SHB2, shb);
}
function ngInterface(linkType, tsresol) {
  const b = new Uint8Array(tsresol === void 0 ? 8 : 8 + 8 + 4);
  const v = new DataView(b.buffer);
  v.setUint16(0, linkType, true);
  v.setUint32(4, 262144, true);
  if (tsresol !== void 0) {
    v.setUint16(8, OPT_IF_TSRESOL, true);
    v.setUint16(10, 1, true);
    b[12] = tsresol;
  }
  return ngBlock(NG_IDB2, b);
}
function ngPacket(iface, ts, data) {
  const b = new Uint8Array(20 + data.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, iface, true);
  v.setUint32(4, Number(ts >> 32n), true);
  v.setUint32(8, Number(ts & 0xffffffffn), true);
  v.setUint32(12, data.length, true);
  v.setUint32(16, data.length, true);
  b.set(data, 20);
  return ngBlock(NG_EPB2, b);
}
function ngSimplePacket(data) {
  const b = new Uint8Array(4 + data.length);
  new DataView(b.buffer).setUint32(0, data.length, true);
  b.set(data, 4);
  return ngBlock(NG_SPB2, b);
}
function pcapFile(linkType, packets, nanosecond) {
  const chunks = [];
  const w = new PcapWriter((b) => chunks.push(b), { linkType, nanosecond });
  for (const p of packets) w.writePacket(p.time, p.data);
  return concatChunks(chunks);
}
function pcapngFile(linkType, packets, tsresol) {
  const units = tsresol === void 0 ? 1000000n : tsresol & 128 ? 1n << BigInt(tsresol & 127) : 10n ** BigInt(tsresol);
  const blocks = [ngSectionHeader(), ngInterface(linkType, tsresol)];
  for (const p of packets) blocks.push(ngPacket(0, BigInt(p.time.sec) * units + BigInt(p.time.nsec) * units / 1000000000n, p.data));
  if (packets[0]) blocks.push(ngSimplePacket(packets[0].data));
  return concatChunks(blocks);
}
function peerMessage(type, v6) {
  const out = new Uint8Array(64);
  const v = new DataView(out.buffer);
  out[0] = v6 ? 6 : 4;
  out[1] = type;
  v.setUint16(2, 4e4, false);
  v.setUint16(4, 6e3, false);
  v.setUint16(6, 5555, false);
  v.setBigUint64(8, 0x556677889900n, false);
  const addr2 = (at, last) => {
    if (v6) out.set([253, 119, ...new Array(13).fill(0), last], at);
    else out.set([10, 0, 0, last], at);
  };
  addr2(16, 1);
  addr2(32, 2);
  addr2(48, 1);
  return out;
}
function ipv4Udp(payload, reverse) {
  const out = new Uint8Array(20 + 8 + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 69;
  v.setUint16(2, out.length, false);
  out[8] = 64;
  out[9] = 17;
  out.set(reverse ? [10, 0, 0, 2] : [10, 0, 0, 1], 12);
  out.set(reverse ? [10, 0, 0, 1] : [10, 0, 0, 2], 16);
  v.setUint16(20, IWPM_PEER_PORT, false);
  v.setUint16(22, IWPM_PEER_PORT, false);
  v.setUint16(24, 8 + payload.length, false);
  out.set(payload, 28);
  return out;
}
function ipv6Udp(payload, reverse) {
  const out = new Uint8Array(40 + 8 + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 96;
  v.setUint16(4, 8 + payload.length, false);
  out[6] = 17;
  out[7] = 64;
  out.set([253, 119, ...new Array(13).fill(0), reverse ? 2 : 1], 8);
  out.set([253, 119, ...new Array(13).fill(0), reverse ? 1 : 2], 24);
  v.setUint16(40, IWPM_PEER_PORT, false);
  v.setUint16(42, IWPM_PEER_PORT, false);
  v.setUint16(44, 8 + payload.length, false);
  out.set(payload, 48);
  return out;
}
var be16 = (n) => new Uint8Array([n >> 8, n & 255]);
var ETHERTYPE_IPV4 = 2048;
var ETHERTYPE_IPV6 = 34525;
var FRAMING = [
  ["Ethernet", LINKTYPE_ETHERNET, (ip, v6) => concatChunks([new Uint8Array(12), be16(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4), ip])],
  ["SLL", LINKTYPE_LINUX_SLL, (ip, v6) => concatChunks([new Uint8Array(14), be16(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4), ip])],
  ["SLL2", LINKTYPE_LINUX_SLL2, (ip, v6) => concatChunks([be16(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4), new Uint8Array(18), ip])],
  ["NULL", LINKTYPE_NULL, (ip, v6) => concatChunks([new Uint8Array([v6 ? 30 : 2, 0, 0, 0]), ip])],
  ["LOOP", LINKTYPE_LOOP, (ip, v6) => concatChunks([new Uint8Array([0, 0, 0, v6 ? 30 : 2]), ip])],
  ["raw", LINKTYPE_RAW, (ip) => ip],
  ["IPv4", LINKTYPE_IPV4, (ip) => ip],
  ["IPv6", LINKTYPE_IPV6, (ip) => ip]
];
function peerPackets(frame, v6) {
  const ip = v6 ? ipv6Udp : ipv4Udp;
  return [0, 1, 2].map((type, i) => ({
    time: { sec: 179e7 + i, nsec: 123456e3 + i },
    data: frame(ip(peerMessage(type, v6), type === 1), v6)
  }));
}
function seedCaptures(netlink) {
  const out = [];
  const add = (name, linkType, packets) => {
    out.push({ name: `${name} pcap \xB5s`, linkType, bytes: pcapFile(linkType, packets, false) });
    out.push({ name: `${name} pcap ns`, linkType, bytes: pcapFile(linkType, packets, true) });
    out.push({ name: `${name} pcapng \xB5s`, linkType, bytes: pcapngFile(linkType, packets) });
    out.push({ name: `${name} pcapng ns`, linkType, bytes: pcapngFile(linkType, packets, 9) });
    out.push({ name: `${name} pcapng 2^-20 s`, linkType, bytes: pcapngFile(linkType, packets, 128 | 20) });
  };
  add(
    "netlink",
    LINKTYPE_NETLINK,
    readCapture(netlink).records.map((r) => ({ time: r.time, data: r.data.slice() }))
  );
  for (const [name, linkType, frame] of FRAMING) {
    if (linkType !== LINKTYPE_IPV6) add(`${name} IPv4`, linkType, peerPackets(frame, false));
    if (linkType !== LINKTYPE_IPV4) add(`${name} IPv6`, linkType, peerPackets(frame, true));
  }
  return out;
}

// ../../tmp/cap/mkscen.ts
var s = await makeScenario();
writeFileSync("/tmp/cap/scen.pcap", s.pcap);
for (const seed of seedCaptures(s.pcap)) writeFileSync(`/tmp/cap/seed-${seed.name.replace(/[^A-Za-z0-9]+/g, "_")}.pcap`, seed.bytes);
