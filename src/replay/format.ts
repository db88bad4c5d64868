// Text for decoded messages and reconstructed state: one-line summaries, field lists, and the
// JSON form. Shared by the CLI and the browser page.

import type { AttrValue, CaptureMessage, NetlinkMessage, PeerMessage } from "./decode.js";
import {
  DIR_TO_DAEMON,
  iwpmErrorName,
  nlFlagsText,
  OP_ADD_MAPPING,
  OP_HANDLE_ERR,
  OP_HELLO,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOTE_INFO,
  OP_REMOVE_MAPPING,
} from "./names.js";

const s = (v: unknown) => (v === undefined ? "?" : String(v));

/** "NO_PORT_MAP" for flag 1, the number otherwise. */
export function mappingFlagsText(flags: number): string {
  if (flags === 0) return "0";
  const rest = flags & ~1;
  return [flags & 1 ? "NO_PORT_MAP" : "", rest ? `0x${rest.toString(16)}` : ""].filter(Boolean).join("|");
}

/** What the message says, in a few words (no header fields). */
export function summary(m: CaptureMessage): string {
  if (m.proto === "peer") return peerSummary(m);
  return netlinkSummary(m);
}

function netlinkSummary(m: NetlinkMessage): string {
  if (m.kind === "invalid") return `${m.statusName}: ${m.len} bytes`;
  if (m.kind === "done") return m.control?.value !== undefined ? `status ${m.control.value}` : "";
  if (m.kind === "error") {
    const h = m.control?.header;
    if (m.status !== 0) return m.statusName;
    return `error ${s(m.control?.value)}${errnoName(m.control?.value)} for ${h ? `${h.label} seq ${h.seq} pid ${h.pid}` : "?"}`;
  }
  if (m.kind === "control") return "";
  if (m.status !== 0) return `${m.statusName}${m.errorOffset !== undefined ? ` at offset ${m.errorOffset}` : ""}`;
  const a = m.attrs;
  const toDaemon = m.dir === DIR_TO_DAEMON;
  const echo = m.echo ? " (own request, back)" : "";
  switch (m.op) {
    case OP_REG_PID:
      return toDaemon
        ? `dev ${s(a.devName)} if ${s(a.ifName)} ulib ${s(a.ulibName)}${echo}`
        : `for seq ${s(a.requestSeq)}: dev ${s(a.devName)} ulib ${s(a.ulibName)} v${s(a.ulibVersion)}${a.pidErr ? ` err ${a.pidErr}` : ""}`;
    case OP_ADD_MAPPING:
      return toDaemon
        ? `${s(a.local)}${a.flags !== undefined ? ` flags ${mappingFlagsText(a.flags as number)}` : ""}`
        : `for seq ${s(a.requestSeq)}: ${s(a.local)} → ${s(a.mappedLocal)}${a.err ? ` err ${iwpmErrorName(a.err as number)}` : ""}`;
    case OP_QUERY_MAPPING:
      return toDaemon
        ? `${s(a.local)} → ${s(a.remote)}${a.flags !== undefined ? ` flags ${mappingFlagsText(a.flags as number)}` : ""}`
        : `for seq ${s(a.requestSeq)}: ${s(a.local)} → ${s(a.mappedLocal)}, remote ${s(a.remote)} → ${s(a.mappedRemote)}${a.err ? ` ${iwpmErrorName(a.err as number)}` : ""}`;
    case OP_REMOVE_MAPPING:
      return s(a.local);
    case OP_REMOTE_INFO:
      return `${s(a.local)} (mapped ${s(a.mappedLocal)}) ← ${s(a.remote)} (mapped ${s(a.mappedRemote)})`;
    case OP_HANDLE_ERR:
      return `${iwpmErrorName(a.errCode as number)} (${s(a.errCode)}) for ${a.errSeq === 0 ? "a MAPINFO record" : `seq ${s(a.errSeq)}`}`;
    case OP_MAPINFO:
      return toDaemon
        ? `${s(a.local)} → ${s(a.mapped)} flags ${mappingFlagsText((a.flags as number) ?? 0)}`
        : `${s(a.ulibName)} v${s(a.ulibVersion)}`;
    case OP_MAPINFO_NUM:
      return toDaemon ? `${s(a.sendNum)} records` : `for seq ${s(a.requestSeq)}: ${s(a.sendNum)} sent, ${s(a.ackNum)} accepted`;
    case OP_HELLO:
      return `ABI ${s(a.abiVersion)}`;
    default:
      return "";
  }
}

function peerSummary(m: PeerMessage): string {
  const w = m.wire;
  const ep = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
  const cp = ep(w.cpIp, w.cpport);
  const ap = ep(w.apIp, w.apport);
  const base =
    w.type === 0
      ? `${cp} (mapped ${ep(w.mappedCpIp ?? "?", w.mappedCpPort)}) → ${ap}`
      : w.type === 1
        ? `${ap} accepts ${cp}`
        : w.type === 2
          ? `${cp} acks ${ap}`
          : `${ap} rejects ${cp}`;
  return `${m.src} → ${m.dst}  ${base} handle ${w.assochandle}${w.problem ? ` [${w.problem}]` : ""}`;
}

const ERRNO: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  16: "EBUSY",
  22: "EINVAL",
  95: "EOPNOTSUPP",
  111: "ECONNREFUSED",
  105: "ENOBUFS",
};

function errnoName(v: number | undefined): string {
  if (v === undefined || v >= 0) return "";
  const name = ERRNO[-v];
  return name ? ` (${name})` : "";
}

/** "client→daemon" / "daemon→client" / "peer". */
export function directionText(m: CaptureMessage): string {
  if (m.proto === "peer") return "peer";
  return m.dir === DIR_TO_DAEMON ? "client→daemon" : "daemon→client";
}

/** Every field, one "name: value" per entry (the verbose form). */
export function fields(m: CaptureMessage): [string, string][] {
  const out: [string, string][] = [
    ["message", `#${m.index} (record ${m.record}${m.proto === "netlink" && m.parts > 1 ? `, part ${m.part + 1} of ${m.parts}` : ""})`],
    ["time", `${m.time.toFixed(6)} s (${isoTime(m.timestamp.sec, m.timestamp.nsec)})`],
  ];
  if (m.proto === "peer") {
    const w = m.wire;
    out.push(
      ["udp", `${m.src} → ${m.dst} (IPv${m.ipVersion})`],
      ["type", `${w.typeName} (${w.type}), protocol version ${w.version}, IP version ${w.ipVersion}`],
      ["assochandle", w.assochandle],
      ["cp (connecting)", `${w.cpIp} port ${w.cpport}`],
      ["ap (accepting)", `${w.apIp} port ${w.apport}`],
    );
    if (w.type === 0) out.push(["mapped cp", `${w.mappedCpIp ?? "?"} port ${w.mappedCpPort}`]);
    out.push(["pmtime", String(w.pmtime)]);
    if (w.problem) out.push(["problem", w.problem]);
    return out;
  }
  out.push([
    "direction",
    `${directionText(m)} (captured ${m.captured}${m.port !== undefined ? `, peer port ${m.port}` : ""}${m.groups ? `, groups 0x${m.groups.toString(16)}` : ""})${m.echo ? ", the client's own request back" : ""}`,
  ]);
  out.push(
    ["nlmsg_len", String(m.len)],
    ["nlmsg_type", `0x${m.type.toString(16).padStart(4, "0")}`],
    ["nlmsg_flags", `0x${m.flags.toString(16)} (${nlFlagsText(m.flags)})`],
  );
  out.push(["nlmsg_seq", String(m.seq)], ["nlmsg_pid", String(m.pid)]);
  if (m.client !== undefined) out.push(["client index", String(m.client)], ["op", `${m.opName} (${m.op})`]);
  if (m.version !== undefined && m.kind === "iwpm") out.push(["layout", `ABI v${m.version}`]);
  out.push(["status", m.status === 0 ? "OK" : `${m.statusName} (${m.status})`]);
  if (m.errorOffset !== undefined) out.push(["error offset", String(m.errorOffset)]);
  for (const [k, v] of Object.entries(m.attrs)) {
    let text = String(v);
    if (k === "flags" && typeof v === "number") text = `${v} (${mappingFlagsText(v)})`;
    if ((k === "err" || k === "errCode") && typeof v === "number" && v !== 0) text = `${v} (${iwpmErrorName(v)})`;
    out.push([k, text]);
  }
  for (const u of m.unknownAttrs ?? []) out.push([`attr ${u.type}`, `${u.length} bytes (not in the schema)`]);
  if (m.control?.value !== undefined)
    out.push([m.kind === "error" ? "error" : "status", `${m.control.value}${errnoName(m.control.value)}`]);
  const h = m.control?.header;
  if (h)
    out.push([
      "answers",
      `${h.label}: len ${h.len} type 0x${h.type.toString(16)} flags 0x${h.flags.toString(16)} seq ${h.seq} pid ${h.pid}`,
    ]);
  return out;
}

// The date and time of the last whole second formatted: captures hold many messages per second.
let isoSec = Number.NaN;
let isoHead = "";

/** "2026-09-21T14:13:25" for a second since 1970, or "" past what Date covers; the last one is kept. */
function isoSecond(sec: number): string {
  if (sec !== isoSec) {
    const date = new Date(sec * 1000);
    // 2026-09-21T14:13:25.000Z, or +275760-09-13T00:00:00.000Z past year 9999
    isoHead = Number.isNaN(date.getTime()) ? "" : date.toISOString().replace(/\.\d{3}Z$/, "");
    isoSec = sec;
  }
  return isoHead;
}

/** UTC with nanoseconds; a damaged capture's timestamp past what Date covers stays readable as seconds. */
export function isoTime(sec: number, nsec: number): string {
  const frac = String(nsec).padStart(9, "0");
  const head = isoSecond(sec);
  return head === "" ? `${sec}.${frac} s after 1970` : `${head}.${frac}Z`;
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b];
  return out;
}
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** The JSON form of a message: plain data, stable field names. */
export function toJson(m: CaptureMessage): Record<string, unknown> {
  const base = {
    index: m.index,
    record: m.record,
    time: Number(m.time.toFixed(9)),
    timestamp: isoTime(m.timestamp.sec, m.timestamp.nsec),
    label: m.label,
    ...(m.bytes ? { bytes: hex(m.bytes) } : {}),
  };
  if (m.proto === "peer") return { ...base, proto: "peer", src: m.src, dst: m.dst, ...m.wire };
  const { proto, index, record, time, timestamp, label, code, bytes, ...rest } = m;
  void [proto, index, record, time, timestamp, label, code, bytes];
  return { ...base, proto: "netlink", direction: m.dir === DIR_TO_DAEMON ? "to_daemon" : "to_client", ...rest };
}

function jsonValue(v: unknown): string {
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  return JSON.stringify(v);
}

/** Where writeJsonLine puts its text: an output that takes pieces, so no string per line is built. */
export interface TextSink {
  /** Text known to hold only ASCII. */
  ascii(s: string): void;
  /** Any text. */
  text(s: string): void;
  /** A whole number ≥ 0, in decimal. */
  uint(v: number): void;
  /** Bytes already encoded (the fixed pieces of a line). */
  bytes(b: Uint8Array): void;
  /** A whole number from 0 to 999,999,999 in `width` digits, zeros in front. */
  zeroPadded(v: number, width: number): void;
  /**
   * `"s"` when `s` is printable ASCII without a quote or backslash (JSON needs no escape in it);
   * otherwise writes nothing and returns false.
   */
  quoted(s: string): boolean;
}

const utf8 = (s: string) => new TextEncoder().encode(s);
// The longest fixed pieces of a JSON line, encoded once: copied whole, they cost less than char by char.
const J_NETLINK_TO_DAEMON = utf8(',"proto":"netlink","direction":"to_daemon","part":');
const J_NETLINK_TO_CLIENT = utf8(',"proto":"netlink","direction":"to_client","part":');
const J_SPAN_FIRST = utf8('{"id":');
const J_SPAN_NEXT = utf8(',{"id":');
const J_SPAN_NAME = utf8(',"name":');
const J_SPAN_OFFSET = utf8(',"offset":');
const J_SPAN_LENGTH = utf8(',"length":');
const J_STATUS_NAME = utf8(',"statusName":');
const J_TIMESTAMP = utf8(',"timestamp":"');
const NSEC_DIGITS = 9;
/** A damaged capture's nanoseconds can reach this; isoTime then writes them all. */
const NSEC_LIMIT = 1e9;

/** A JSON string; as JSON.stringify writes it. */
function jsonString(out: TextSink, v: string): void {
  if (!out.quoted(v)) out.text(JSON.stringify(v));
}

/** A number as JSON.stringify writes it. */
function jsonNumber(out: TextSink, v: number): void {
  if (Number.isSafeInteger(v) && v >= 0) out.uint(v);
  else out.ascii(jsonValue(v));
}

/** Below this many seconds, a time rounded to nanoseconds has at most 15 significant digits. */
const EXACT_BELOW = 1e6;
/** Below this, Number's text switches to the exponent form. */
const EXPONENT_BELOW = 1e-6;

/**
 * `time` rounded to nanoseconds, as JSON.stringify(Number(time.toFixed(9))) writes it, without
 * the round trip through a number: with at most 15 significant digits the shortest text of the
 * number is the decimal itself, trailing zeros dropped.
 */
function jsonTime(time: number): string {
  const fixed = time.toFixed(9);
  if (!(time >= EXPONENT_BELOW && time < EXACT_BELOW)) return jsonValue(Number(fixed));
  let end = fixed.length;
  while (fixed.charCodeAt(end - 1) === ZERO_CHAR) end--;
  if (fixed.charCodeAt(end - 1) === DOT_CHAR) end--;
  return fixed.slice(0, end);
}
const ZERO_CHAR = 0x30;
const DOT_CHAR = 0x2e;

/**
 * One JSON Lines line, without its newline: the same object as toJson, plus the frame number
 * (from 1), the message's position in its frame and, when given, its file. Written member by
 * member into `out`: at a million messages the intermediate objects of toJson, or even one string
 * per line, cost several times the decoding. A test holds it equal to toJson, so a field added to
 * the messages cannot be left out here unnoticed.
 */
export function writeJsonLine(out: TextSink, m: CaptureMessage, frame: number, msg: number, file?: string): void {
  out.ascii('{"frame":');
  out.uint(frame);
  out.ascii(',"msg":');
  out.uint(msg);
  if (file !== undefined) {
    out.ascii(',"file":');
    jsonString(out, file);
  }
  out.ascii(',"index":');
  out.uint(m.index);
  out.ascii(',"record":');
  out.uint(m.record);
  out.ascii(',"time":');
  out.ascii(jsonTime(m.time));
  out.bytes(J_TIMESTAMP);
  const head = isoSecond(m.timestamp.sec);
  if (head === "" || m.timestamp.nsec >= NSEC_LIMIT) out.ascii(isoTime(m.timestamp.sec, m.timestamp.nsec));
  else {
    // isoTime's text, written in place
    out.ascii(head);
    out.ascii(".");
    out.zeroPadded(m.timestamp.nsec, NSEC_DIGITS);
    out.ascii("Z");
  }
  out.ascii('","label":');
  jsonString(out, m.label);
  if (m.bytes) {
    out.ascii(',"bytes":"');
    out.ascii(hex(m.bytes));
    out.ascii('"');
  }
  if (m.proto === "peer") {
    out.ascii(',"proto":"peer","src":');
    jsonString(out, m.src);
    out.ascii(',"dst":');
    jsonString(out, m.dst);
    const w = m.wire as unknown as Record<string, unknown>;
    for (const k in w) if (w[k] !== undefined) out.text(`,${JSON.stringify(k)}:${jsonValue(w[k])}`);
    out.ascii("}");
    return;
  }
  out.bytes(m.dir === DIR_TO_DAEMON ? J_NETLINK_TO_DAEMON : J_NETLINK_TO_CLIENT);
  out.uint(m.part);
  out.ascii(',"parts":');
  out.uint(m.parts);
  out.ascii(',"dir":');
  out.uint(m.dir);
  out.ascii(',"captured":"');
  out.ascii(m.captured);
  out.ascii('"');
  if (m.port !== undefined) {
    out.ascii(',"port":');
    jsonNumber(out, m.port);
  }
  if (m.groups !== undefined) {
    out.ascii(',"groups":');
    jsonNumber(out, m.groups);
  }
  if (m.echo !== undefined) out.ascii(m.echo ? ',"echo":true' : ',"echo":false');
  out.ascii(',"kind":"');
  out.ascii(m.kind);
  out.ascii('","len":');
  out.uint(m.len);
  out.ascii(',"type":');
  out.uint(m.type);
  out.ascii(',"flags":');
  out.uint(m.flags);
  out.ascii(',"seq":');
  out.uint(m.seq);
  out.ascii(',"pid":');
  out.uint(m.pid);
  if (m.client !== undefined) {
    out.ascii(',"client":');
    jsonNumber(out, m.client);
  }
  if (m.op !== undefined) {
    out.ascii(',"op":');
    jsonNumber(out, m.op);
  }
  if (m.opName !== undefined) {
    out.ascii(',"opName":');
    jsonString(out, m.opName);
  }
  if (m.version !== undefined) {
    out.ascii(',"version":');
    jsonNumber(out, m.version);
  }
  out.ascii(',"status":');
  jsonNumber(out, m.status);
  out.bytes(J_STATUS_NAME);
  jsonString(out, m.statusName);
  out.ascii(',"attrs":{');
  let first = true;
  for (const k in m.attrs) {
    const v = m.attrs[k] as AttrValue;
    out.ascii(first ? '"' : ',"');
    out.ascii(k);
    out.ascii('":');
    if (typeof v === "number") jsonNumber(out, v);
    else jsonString(out, v);
    first = false;
  }
  out.ascii("}");
  if (m.unknownAttrs !== undefined) out.text(`,"unknownAttrs":${JSON.stringify(m.unknownAttrs)}`);
  if (m.control !== undefined) out.text(`,"control":${JSON.stringify(m.control)}`);
  if (m.errorOffset !== undefined) {
    out.ascii(',"errorOffset":');
    jsonNumber(out, m.errorOffset);
  }
  if (m.attrSpans !== undefined) {
    out.ascii(',"attrSpans":[');
    for (const [i, a] of m.attrSpans.entries()) {
      out.bytes(i === 0 ? J_SPAN_FIRST : J_SPAN_NEXT);
      jsonNumber(out, a.id);
      out.bytes(J_SPAN_NAME);
      jsonString(out, a.name);
      out.bytes(J_SPAN_OFFSET);
      jsonNumber(out, a.offset);
      out.bytes(J_SPAN_LENGTH);
      jsonNumber(out, a.length);
      out.ascii("}");
    }
    out.ascii("]");
  }
  out.ascii("}");
}

// nlmsghdr (netlink(7)): where each field sits, for the hex dump
const NLMSG_FIELDS: [string, number, number][] = [
  ["nlmsg_len", 0, 4],
  ["nlmsg_type", 4, 2],
  ["nlmsg_flags", 6, 2],
  ["nlmsg_seq", 8, 4],
  ["nlmsg_pid", 12, 4],
];
// iwpmd's peer message (protocol reference §5.4), for the hex dump
const PEER_FIELDS: [string, number, number][] = [
  ["magic", 0, 1],
  ["pmtime", 1, 1],
  ["reserved", 2, 2],
  ["apport", 4, 2],
  ["cpport", 6, 2],
  ["assochandle", 8, 8],
  ["cpipaddr", 16, 16],
  ["apipaddr", 32, 16],
  ["mapped_cpipaddr", 48, 16],
];
const HEX_ROW = 16;

/** One header field or attribute of a message's bytes: where it sits and how `-x` names it. */
export interface ByteRange {
  /** The field's name (nlmsg_seq, an attribute's IWPM_NLA_* name, a peer field). */
  name: string;
  offset: number;
  length: number;
  /** The line text after the range: the name with its value or size. */
  label: string;
}

/** The byte range of each header field and attribute of a message with its bytes (empty without). */
export function byteRanges(m: CaptureMessage): ByteRange[] {
  const b = m.bytes;
  if (b === undefined) return [];
  const out: ByteRange[] = [];
  if (m.proto === "peer") {
    for (const [name, offset, length] of PEER_FIELDS) if (offset + length <= b.length) out.push({ name, offset, length, label: name });
    return out;
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const [name, offset, length] of NLMSG_FIELDS) {
    if (offset + length > b.length) continue;
    const value = length === 4 ? v.getUint32(offset, true) : v.getUint16(offset, true);
    const text = name === "nlmsg_type" || name === "nlmsg_flags" ? `0x${value.toString(16)}` : String(value);
    out.push({ name, offset, length, label: `${name.padEnd(12)} ${text}` });
  }
  for (const a of m.attrSpans ?? [])
    out.push({
      name: a.name,
      offset: a.offset,
      length: a.length,
      label: `attr ${a.id} ${a.name} (${a.length} bytes with its 4-byte header)`,
    });
  return out;
}

/**
 * The message's bytes (kept with DecoderOptions.keepBytes) as hex rows with their ASCII, then
 * the byte range of each header field and attribute; empty without bytes.
 */
export function hexDump(m: CaptureMessage): string[] {
  const b = m.bytes;
  if (b === undefined) return [];
  const out: string[] = [];
  for (let at = 0; at < b.length; at += HEX_ROW) {
    const row = b.subarray(at, at + HEX_ROW);
    let h = "";
    let text = "";
    for (let i = 0; i < HEX_ROW; i++) {
      const c = row[i];
      h += (c === undefined ? "  " : HEX[c]) + (i === HEX_ROW / 2 - 1 ? "  " : " ");
      if (c !== undefined) text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ".";
    }
    out.push(`${at.toString(16).padStart(4, "0")}  ${h} ${text}`);
  }
  for (const r of byteRanges(m)) out.push(`${`${r.offset}-${r.offset + r.length - 1}`.padEnd(9)} ${r.label}`);
  return out;
}
