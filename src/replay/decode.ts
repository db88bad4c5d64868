// Decodes every iwpm message of a capture with the core's own codec (`decode` export,
// docs/abi.md), and iwpmd's UDP peer messages next to them.
//
// Netlink records (LINKTYPE_NETLINK) carry datagrams as one socket saw them: "out" ones it sent,
// "in" ones it received. Which socket that was decides the direction of each message: from a
// client's socket (our PortMapperClient under a CaptureTap) "out" means client → daemon; from
// iwpmd's socket (the LD_PRELOAD recording mode) it means daemon → client. Unless told, the
// decoder infers the side from the messages whose layout exists in one direction only (a
// REG_PID request, an ADD reply, a MAPINFO request, …), holding back the first records until
// it knows. The ABI version (v3 layouts lack FLAGS) is tracked by the core (decodeTracked,
// trackVersion), which also decodes a message that only fits the other version with that one.
//
// Portable: no host I/O. Feed CaptureRecords (src/capture/pcap.ts) and take messages from a
// callback.

import type { CaptureRecord, Timestamp } from "../capture/pcap.js";
import { LINKTYPE_NETLINK, NETLINK_RDMA, parseNetlinkRecord, secondsBetween } from "../capture/pcap.js";
import { type CoreExports, instantiateCore } from "../core/core.js";
import { readSockaddr, type SockAddr } from "../core/sockaddr.js";
import { statusInfo } from "../core/status.js";
import {
  D_ATTR_COUNT,
  D_ATTRS,
  D_CONTROL_HAS_VALUE,
  D_CONTROL_VALUE,
  D_ERROR_ATTR,
  D_ERROR_OFFSET,
  D_KIND,
  D_MSG,
  D_ORIG_HEADER,
  D_PRESENT,
  D_VALUES,
  DA_LEN,
  DA_OFFSET,
  DA_SIZE,
  DA_TYPE,
  DECODE_VERSION_SHIFT,
  DV_LEN,
  DV_OFFSET,
  DV_SIZE,
  MSG_DONE,
  MSG_ERROR,
  NLA_HDRLEN,
  NLA_TYPE_MASK,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_FLAGS_AT,
  NLMSG_HDRLEN,
  NLMSG_LEN_AT,
  NLMSG_MIN_TYPE,
  NLMSG_PID_AT,
  NLMSG_SEQ_AT,
  NLMSG_TYPE_AT,
  Status,
  TYPE_CLIENT_MASK,
  TYPE_CLIENT_SHIFT,
  TYPE_OP_MASK,
} from "../gen/protocol.js";
import { createShim, SocketMap } from "../host/shim.js";
import { type ReplayExports, rememberCoreModule } from "./engine.js";
import {
  type AttrSpec,
  attrSpecs,
  CODE_CONTROL,
  CODE_DONE,
  CODE_ERROR,
  CODE_INVALID,
  CODE_PEER,
  DIR_TO_CLIENT,
  DIR_TO_DAEMON,
  type Dir,
  iwpmCode,
  messageLabel,
  OP_HELLO,
  OP_NAMES,
  opExists,
} from "./names.js";
import { endpoint, extractUdp, IWPM_PEER_PORT, PEER_LINK_TYPES, type PeerWireMessage, parsePeerWire } from "./peer.js";
import { rememberedDaemonModule } from "./peer-engine.js";

// The decoded-message record's layout (docs/abi.md) comes from the protocol description; the
// header fields and the client index and op are read from the message itself.

const ST_TOO_LONG = Status.NO_SPACE; // longer than the core's codec buffer
/** NLMSG_DONE's int32 status: a DONE of exactly this payload is the kernel's acknowledgement. */
const DONE_STATUS_SIZE = 4;

/** Each offset and length frameDatagram lists is a u32. */
const FRAME_FIELD = 4;
/** NLMSG_ALIGN(len) */
const nlmsgAlign = (len: number) => (len + 3) & ~3;
const typeOp = (type: number) => type & TYPE_OP_MASK;
const typeClient = (type: number) => (type >> TYPE_CLIENT_SHIFT) & TYPE_CLIENT_MASK;

// A decode's status and the ABI version that gave it, in one number (decodeTracked's result).
const STATUS_MASK = (1 << DECODE_VERSION_SHIFT) - 1;
const statusOf = (packed: number) => packed & STATUS_MASK;
const versionOf = (packed: number) => packed >>> DECODE_VERSION_SHIFT;

/** The client core's decode with the ABI version a capture's sides speak (docs/abi.md "Exports of the client core"). */
interface TrackedDecodeExports {
  decodeTracked(len: number, dir: number, tracked: number): number;
  trackVersion(tracked: number, result: number, dir: number, echo: number): number;
}

/** The attributes of (dir, op) that `version`'s layout has, by id - 1; computed once per layout. */
const layouts = new Map<number, readonly AttrSpec[]>();
function layoutOf(dir: Dir, op: number, version: number): readonly AttrSpec[] {
  const key = (version << 16) | (dir << 8) | op;
  let specs = layouts.get(key);
  if (specs === undefined) {
    specs = attrSpecs(dir, op).filter((spec) => version > 3 || !spec.v4only);
    layouts.set(key, specs);
  }
  return specs;
}

/** A little-endian header field of a message, or 0 where the message is too short to hold it. */
function header16(b: Uint8Array, at: number): number {
  return b.length >= at + 2 ? (b[at] as number) | ((b[at + 1] as number) << 8) : 0;
}
function header32(b: Uint8Array, at: number): number {
  return b.length >= at + 4
    ? ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0
    : 0;
}

/** Which socket a netlink capture was taken on. */
export type Side = "client" | "daemon";

export type AttrValue = number | string;

interface MessageBase {
  /** Position among all messages of the capture, from 0. */
  index: number;
  /** Index of the capture record (packet) it came in, from 0. */
  record: number;
  /** Seconds since the first record of the capture. */
  time: number;
  timestamp: Timestamp;
  /** Compact code (src/replay/names.ts): op and direction, control kind or peer type. */
  code: number;
  /** "ADD_MAPPING request", "NLMSG_DONE", "peer ACCEPT", … */
  label: string;
  /** The message's bytes (the netlink message, or the UDP payload of a peer one), with DecoderOptions.keepBytes. */
  bytes?: Uint8Array;
}

export interface NetlinkMessage extends MessageBase {
  proto: "netlink";
  /** Position of the message in its datagram, and how many the datagram held. */
  part: number;
  parts: number;
  dir: Dir;
  /** How the capturing socket saw the datagram. */
  captured: "in" | "out" | "unknown";
  /** The capturing socket's peer (destination when sent, source when received), when recorded. */
  port?: number;
  groups?: number;
  /** A request of the capturing client that came back to it (its own multicast REG_PID). */
  echo?: boolean;
  kind: "iwpm" | "done" | "error" | "control" | "invalid";
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  client?: number;
  op?: number;
  opName?: string;
  /** ABI version whose layout decoded it. */
  version?: number;
  /** 0 when the message is well formed; else the core's status (why a receiver would drop it). */
  status: number;
  statusName: string;
  /** Attribute values by name; addresses as "ip:port" text. */
  attrs: Record<string, AttrValue>;
  /** Attributes the schema does not know: their type and length. */
  unknownAttrs?: { type: number; length: number }[];
  /** NLMSG_DONE status; NLMSG_ERROR error and the header it answers. */
  control?: { value?: number; header?: { len: number; type: number; flags: number; seq: number; pid: number; label: string } };
  /** Offset from the message start of the attribute a failed decode names (or the message end for MISSING_ATTR). */
  errorOffset?: number;
  /** The attribute id a failed decode names (the missing one for MISSING_ATTR). */
  errorAttr?: number;
  /**
   * Each attribute's place in the message, in arrival order, unknown and duplicate ones
   * included: offset from the start of the message, length = nla_len (its 4-byte header
   * included, padding not); name is the kernel's IWPM_NLA_* name, or "" when the layout has none.
   */
  attrSpans: { id: number; name: string; offset: number; length: number }[];
}

export interface PeerMessage extends MessageBase {
  proto: "peer";
  src: string;
  dst: string;
  ipVersion: 4 | 6;
  wire: PeerWireMessage;
}

export type CaptureMessage = NetlinkMessage | PeerMessage;

export interface DecodeStats {
  records: number;
  netlinkRecords: number;
  peerRecords: number;
  /** Records that are neither iwpm netlink nor UDP 3935 (other netlink families, other traffic). */
  skippedRecords: number;
  /** Records the capture cut short (snaplen). */
  truncatedRecords: number;
  messages: number;
  netlinkMessages: number;
  peerMessages: number;
  /** Messages that did not decode (status ≠ 0), by status name. */
  invalid: number;
  invalidByStatus: Record<string, number>;
  /** Own multicast requests seen coming back. */
  echoes: number;
  side: Side | undefined;
  /** Whether `side` was inferred rather than given. */
  sideInferred: boolean;
  first: Timestamp | undefined;
  last: Timestamp | undefined;
  /** Messages per label. */
  byLabel: Record<string, number>;
}

export interface DecoderOptions {
  /** The capturing socket's role in netlink captures; inferred when absent. */
  side?: Side;
  /** Time zero for `time` (default: the first record's timestamp); for decoding part of a capture. */
  origin?: Timestamp;
  /** Keep a copy of every message's bytes in `bytes` (for hex dumps). */
  keepBytes?: boolean;
  /** The compiled daemon core that reads peer (UDP 3935) messages (default: the one loadDaemonCore remembered). */
  daemonModule?: WebAssembly.Module;
  /**
   * Leave `attrs`, `attrSpans` and `unknownAttrs` empty (the core follows the ABI version from its
   * own record): for a first pass that lists messages by header, code and status only.
   */
  headersOnly?: boolean;
  /** Receives each message, and its bytes (the netlink message, or a peer one's UDP payload), which stay valid only during the call. */
  onMessage: (m: CaptureMessage, bytes: Uint8Array) => void;
}

/** Loads the core for decoding only: no sockets, nothing else imported. */
export async function loadDecoderCore(source: BufferSource | WebAssembly.Module): Promise<CoreExports> {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  const shim = createShim({ sockets: new SocketMap(), random: (b) => b.fill(0), log: () => {} });
  const core = await instantiateCore(module, shim);
  // Replays (StateBuilder) run on instances of their own, made from the same compiled core.
  rememberCoreModule(module);
  return core.exports;
}

// Records held back until the side is known, and the votes that decide it.
const HOLD_MAX_RECORDS = 4096;
const VOTES_NEEDED = 32;

interface Held {
  rec: CaptureRecord;
}

export class CaptureDecoder {
  readonly stats: DecodeStats;
  /** The ABI version the core tracks for this capture (0: none yet), handed back with each decode. */
  private tracked = 0;
  private readonly tx: TrackedDecodeExports;
  private next = 0;
  private held: Held[] = [];
  private votes = { client: 0, daemon: 0 };
  private weakVotes = { client: 0, daemon: 0 };
  private readonly onMessage: (m: CaptureMessage, bytes: Uint8Array) => void;
  private readonly keepBytes: boolean;
  private readonly daemonModule: WebAssembly.Module | undefined;
  private readonly headersOnly: boolean;
  private readonly textDecoder = new TextDecoder();
  private readonly decoded: number;
  private readonly codecPtr: number;
  private readonly codecCap: number;
  private readonly rxPtr: number;
  private readonly rxCap: number;
  private readonly framesPtr: number;
  /** Views of core memory, made again when a grown memory detaches them. */
  private mem: Uint8Array;
  private view: DataView;
  /** The last frame()'s offsets and lengths, in pairs: copied out, as decoding may reuse the core's. */
  private frames: number[] = [];
  /** Why the last frame() stopped before the end of its datagram (a status), or 0. */
  private framing = 0;

  constructor(
    private readonly x: CoreExports,
    opts: DecoderOptions,
  ) {
    this.onMessage = opts.onMessage;
    this.keepBytes = opts.keepBytes === true;
    this.daemonModule = opts.daemonModule;
    this.tx = x as CoreExports & TrackedDecodeExports;
    this.headersOnly = opts.headersOnly === true;
    this.decoded = x.decodedPtr();
    this.codecPtr = x.codecPtr();
    this.codecCap = x.codecCap();
    const r = x as ReplayExports;
    this.rxPtr = r.rxPtr();
    this.rxCap = r.rxCap();
    this.framesPtr = r.framesPtr();
    this.mem = new Uint8Array(x.memory.buffer);
    this.view = new DataView(x.memory.buffer);
    this.stats = {
      records: 0,
      netlinkRecords: 0,
      peerRecords: 0,
      skippedRecords: 0,
      truncatedRecords: 0,
      messages: 0,
      netlinkMessages: 0,
      peerMessages: 0,
      invalid: 0,
      invalidByStatus: {},
      echoes: 0,
      side: opts.side,
      sideInferred: false,
      first: opts.origin,
      last: undefined,
      byLabel: {},
    };
  }

  /** Takes one capture record; its data need not outlive the call. */
  record(rec: CaptureRecord): void {
    this.stats.records++;
    this.stats.first ??= rec.time;
    this.stats.last = rec.time;
    if (rec.data.length < rec.originalLength) this.stats.truncatedRecords++;
    if (rec.linkType === LINKTYPE_NETLINK && this.stats.side === undefined) {
      this.held.push({ rec: { ...rec, data: rec.data.slice() } });
      this.vote(rec);
      if (this.held.length >= HOLD_MAX_RECORDS || this.votes.client + this.votes.daemon >= VOTES_NEEDED) this.decideSide();
      return;
    }
    if (this.held.length > 0) {
      // A non-netlink record while netlink ones wait: keep the file order.
      this.held.push({ rec: { ...rec, data: rec.data.slice() } });
      return;
    }
    this.process(rec);
  }

  /** Ends the input: decodes what was held back. */
  finish(): DecodeStats {
    if (this.held.length > 0 || this.stats.side === undefined) this.decideSide();
    return this.stats;
  }

  private decideSide(): void {
    if (this.stats.side === undefined) {
      const v = this.votes.client + this.votes.daemon > 0 ? this.votes : this.weakVotes;
      this.stats.side = v.daemon > v.client ? "daemon" : "client";
      this.stats.sideInferred = true;
    }
    const held = this.held;
    this.held = [];
    for (const h of held) this.process(h.rec);
  }

  /**
   * Counts the datagram's messages that decode in one direction only (strong votes), and those
   * whose form tells the sender although their layout fits both ways (weak votes, which count
   * only when no strong one came): a HELLO with seq 0 is iwpmd's first message, a 20-byte
   * NLMSG_DONE is the kernel's acknowledgement to iwpmd, NLMSG_ERROR only ever goes to iwpmd.
   */
  private vote(rec: CaptureRecord): void {
    const nl = parseNetlinkRecord(rec.data);
    if (nl === null || nl.direction === "unknown") return;
    const d = nl.payload;
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const frames = this.frame(d);
    const cast = (sentDir: number, strong: boolean) => {
      // Seen going out as client → daemon: the capturing socket is a client's.
      const clientSide = (nl.direction === "out") === (sentDir === DIR_TO_DAEMON);
      const box = strong ? this.votes : this.weakVotes;
      if (clientSide) box.client++;
      else box.daemon++;
    };
    for (let i = 0; i < frames.length; i += 2) {
      const at = frames[i] as number;
      const len = frames[i + 1] as number;
      const type = v.getUint16(at + NLMSG_TYPE_AT, true);
      if (type >= NLMSG_MIN_TYPE && len <= this.codecCap) {
        this.load(d.subarray(at, at + len));
        const ok0 = statusOf(this.decodeEither(len, DIR_TO_DAEMON)) === 0;
        const ok1 = statusOf(this.decodeEither(len, DIR_TO_CLIENT)) === 0;
        if (ok0 !== ok1) cast(ok0 ? DIR_TO_DAEMON : DIR_TO_CLIENT, true);
        else if (ok0 && typeOp(type) === OP_HELLO && v.getUint32(at + NLMSG_SEQ_AT, true) === 0) cast(DIR_TO_CLIENT, false);
      } else if (type === NLMSG_ERROR || (type === NLMSG_DONE && len === NLMSG_HDRLEN + DONE_STATUS_SIZE)) {
        cast(DIR_TO_DAEMON, false);
      }
    }
  }

  private process(rec: CaptureRecord): void {
    if (rec.linkType === LINKTYPE_NETLINK) {
      const nl = parseNetlinkRecord(rec.data);
      if (nl === null || nl.protocol !== NETLINK_RDMA) {
        this.stats.skippedRecords++;
        return;
      }
      this.stats.netlinkRecords++;
      this.datagram(rec, nl.payload, nl.direction, nl.port, nl.groups);
      return;
    }
    if (!PEER_LINK_TYPES.includes(rec.linkType)) {
      this.stats.skippedRecords++;
      return;
    }
    const udp = extractUdp(rec.linkType, rec.data);
    if (udp === null || (udp.srcPort !== IWPM_PEER_PORT && udp.dstPort !== IWPM_PEER_PORT)) {
      this.stats.skippedRecords++;
      return;
    }
    const wire = parsePeerWire(udp.payload, this.daemonModule ?? rememberedDaemonModule());
    if (wire === null) {
      this.stats.skippedRecords++;
      return;
    }
    this.stats.peerRecords++;
    const m: PeerMessage = {
      proto: "peer",
      index: this.next++,
      record: rec.index,
      time: this.relTime(rec.time),
      timestamp: rec.time,
      code: CODE_PEER + wire.type,
      label: `peer ${wire.typeName}`,
      src: endpoint(udp.srcIp, udp.srcPort),
      dst: endpoint(udp.dstIp, udp.dstPort),
      ipVersion: udp.ipVersion,
      wire,
    };
    if (this.keepBytes) m.bytes = udp.payload.slice();
    this.stats.peerMessages++;
    this.emit(m, udp.payload);
  }

  private relTime(t: Timestamp): number {
    return this.stats.first === undefined ? 0 : secondsBetween(this.stats.first, t);
  }

  private emit(m: CaptureMessage, bytes: Uint8Array): void {
    this.stats.messages++;
    this.stats.byLabel[m.label] = (this.stats.byLabel[m.label] ?? 0) + 1;
    this.onMessage(m, bytes);
  }

  /** The direction of a datagram the capturing socket saw going `captured`. */
  private dirOf(captured: "in" | "out" | "unknown"): Dir | undefined {
    if (captured === "unknown") return undefined;
    const clientSide = this.stats.side !== "daemon";
    return (captured === "out") === clientSide ? DIR_TO_DAEMON : DIR_TO_CLIENT;
  }

  /** Core memory's bytes, its view renewed when the memory grew (the old one is then empty). */
  private memory(): Uint8Array {
    if (this.mem.byteLength === 0) {
      this.mem = new Uint8Array(this.x.memory.buffer);
      this.view = new DataView(this.x.memory.buffer);
    }
    return this.mem;
  }

  private load(bytes: Uint8Array): void {
    this.memory().set(bytes, this.codecPtr);
  }

  /**
   * Decodes the loaded message in `dir` with the tracked ABI version's layout, or the other one's
   * (the core's rule). Returns the status and the version that decoded it, packed (statusOf,
   * versionOf).
   */
  private decodeEither(len: number, dir: Dir): number {
    return this.tx.decodeTracked(len, dir, this.tracked);
  }

  /**
   * Frames the datagram `d` with the core, as the client reads one: each message's offset and
   * length, in pairs. Where framing stopped early is in `framing` (0: it did not).
   */
  private frame(d: Uint8Array): number[] {
    const x = this.x as ReplayExports;
    const len = Math.min(d.length, this.rxCap);
    this.memory().set(len === d.length ? d : d.subarray(0, len), this.rxPtr);
    const count = x.frameDatagram(len);
    this.framing = x.framingStatus();
    const frames = this.frames;
    frames.length = count * 2;
    const view = this.view;
    for (let i = 0; i < count * 2; i++) frames[i] = view.getUint32(this.framesPtr + i * FRAME_FIELD, true);
    return frames;
  }

  private datagram(rec: CaptureRecord, d: Uint8Array, captured: "in" | "out" | "unknown", port?: number, groups?: number): void {
    // Frame first, so every message knows how many the datagram holds.
    const frames = this.frame(d);
    const count = frames.length / 2;
    const stopped = this.framing;
    const total = Math.max(count + (stopped !== 0 ? 1 : 0), 1);
    const time = this.relTime(rec.time);
    let end = 0;
    for (let part = 0; part < count; part++) {
      const at = frames[2 * part] as number;
      const len = frames[2 * part + 1] as number;
      const bytes = d.subarray(at, at + len);
      this.emitNetlink(this.message(rec, time, bytes, captured, part, total, port, groups), bytes);
      end = at + nlmsgAlign(len);
    }
    if (stopped !== 0) {
      const head = d.subarray(end);
      const m = this.bare(rec, time, head, captured, count, total, port, groups);
      this.fail(m, stopped);
      this.emitNetlink(m, head);
    }
  }

  private emitNetlink(m: NetlinkMessage, bytes: Uint8Array): void {
    this.stats.netlinkMessages++;
    if (m.status !== 0) {
      this.stats.invalid++;
      this.stats.invalidByStatus[m.statusName] = (this.stats.invalidByStatus[m.statusName] ?? 0) + 1;
    }
    if (m.echo) this.stats.echoes++;
    this.emit(m, bytes);
  }

  /** A message with its header read from the bytes and nothing decoded yet. */
  private bare(
    rec: CaptureRecord,
    time: number,
    bytes: Uint8Array,
    captured: "in" | "out" | "unknown",
    part: number,
    parts: number,
    port?: number,
    groups?: number,
  ): NetlinkMessage {
    const m: NetlinkMessage = {
      proto: "netlink",
      index: this.next++,
      record: rec.index,
      time,
      timestamp: rec.time,
      code: CODE_INVALID,
      label: "invalid",
      part,
      parts,
      dir: this.dirOf(captured) ?? DIR_TO_DAEMON,
      captured,
      kind: "invalid",
      len: header32(bytes, NLMSG_LEN_AT),
      type: header16(bytes, NLMSG_TYPE_AT),
      flags: header16(bytes, NLMSG_FLAGS_AT),
      seq: header32(bytes, NLMSG_SEQ_AT),
      pid: header32(bytes, NLMSG_PID_AT),
      status: 0,
      statusName: "OK",
      attrs: {},
      attrSpans: [],
    };
    if (port !== undefined) m.port = port;
    if (groups !== undefined) m.groups = groups;
    if (this.keepBytes) m.bytes = bytes.slice();
    return m;
  }

  private fail(m: NetlinkMessage, status: number): void {
    m.status = status;
    m.statusName = status === ST_TOO_LONG ? "TOO_LONG" : statusInfo(status).name;
  }

  private message(
    rec: CaptureRecord,
    time: number,
    bytes: Uint8Array,
    captured: "in" | "out" | "unknown",
    part: number,
    parts: number,
    port?: number,
    groups?: number,
  ): NetlinkMessage {
    const m = this.bare(rec, time, bytes, captured, part, parts, port, groups);
    if (bytes.length > this.codecCap) {
      this.fail(m, ST_TOO_LONG);
      return m;
    }
    this.load(bytes);
    let dir = this.dirOf(captured);
    let result: number;
    if (dir === undefined) {
      // No packet direction (a capture tool other than ours): the layout decides; a message
      // valid both ways (HELLO, control) from port 0 came from the kernel, i.e. the client.
      const ok0 = statusOf(this.decodeEither(bytes.length, DIR_TO_DAEMON)) === 0;
      const ok1 = statusOf(this.decodeEither(bytes.length, DIR_TO_CLIENT)) === 0;
      if (ok0 && !ok1) dir = DIR_TO_DAEMON;
      else if (ok1 && !ok0) dir = DIR_TO_CLIENT;
      else dir = m.pid === 0 ? DIR_TO_DAEMON : DIR_TO_CLIENT;
      result = this.decodeEither(bytes.length, dir);
    } else {
      result = this.decodeEither(bytes.length, dir);
      if (statusOf(result) !== 0 && m.type >= NLMSG_MIN_TYPE && captured === "in") {
        const back = (1 - dir) as Dir;
        const other = this.decodeEither(bytes.length, back);
        if (statusOf(other) === 0) {
          // Only a request coming back to its sender decodes the other way round.
          dir = back;
          result = other;
          m.echo = true;
        } else {
          this.decodeEither(bytes.length, dir);
        }
      }
    }
    m.dir = dir;
    this.read(m, statusOf(result), versionOf(result));
    // The decoded record is still this message's, as the version rule needs.
    this.tracked = this.tx.trackVersion(this.tracked, result, dir, m.echo === true ? 1 : 0);
    return m;
  }

  /** Fills `m` from the core's decoded record. */
  private read(m: NetlinkMessage, status: number, version: number): void {
    const base = this.decoded;
    const mem = this.memory();
    const view = this.view;
    const kind = view.getUint32(base + D_KIND, true);
    if (m.type < NLMSG_MIN_TYPE) {
      if (kind === MSG_DONE) {
        m.kind = "done";
        m.code = CODE_DONE;
        m.label = "NLMSG_DONE";
        m.control = view.getUint32(base + D_CONTROL_HAS_VALUE, true) ? { value: view.getInt32(base + D_CONTROL_VALUE, true) } : {};
      } else if (kind === MSG_ERROR || m.type === NLMSG_ERROR) {
        m.kind = "error";
        m.code = CODE_ERROR;
        m.label = "NLMSG_ERROR";
        if (status === 0) {
          const h = base + D_ORIG_HEADER;
          const type = view.getUint16(h + NLMSG_TYPE_AT, true);
          const origDir = (1 - m.dir) as Dir;
          m.control = {
            value: view.getInt32(base + D_CONTROL_VALUE, true),
            header: {
              len: view.getUint32(h + NLMSG_LEN_AT, true),
              type,
              flags: view.getUint16(h + NLMSG_FLAGS_AT, true),
              seq: view.getUint32(h + NLMSG_SEQ_AT, true),
              pid: view.getUint32(h + NLMSG_PID_AT, true),
              label: type >= NLMSG_MIN_TYPE ? messageLabel(origDir, typeOp(type)) : `control type ${type}`,
            },
          };
        }
      } else {
        m.kind = "control";
        m.code = CODE_CONTROL;
        m.label = `control type ${m.type}`;
      }
      if (status !== 0) this.fail(m, status);
      return;
    }
    const op = typeOp(m.type);
    m.client = typeClient(m.type);
    m.op = op;
    m.opName = OP_NAMES[op] ?? `OP_${op}`;
    m.version = version;
    if (status === 0 && this.headersOnly) {
      m.kind = "iwpm";
      m.code = iwpmCode(m.dir, op);
      m.label = messageLabel(m.dir, op);
      return;
    }
    const specs = layoutOf(m.dir, op, version);
    const count = view.getUint32(base + D_ATTR_COUNT, true);
    for (let i = 0; i < count; i++) {
      const e = base + D_ATTRS + i * DA_SIZE;
      const id = view.getUint16(e + DA_TYPE, true) & NLA_TYPE_MASK;
      m.attrSpans.push({
        id,
        name: specs[id - 1]?.kernel ?? "",
        offset: view.getUint32(e + DA_OFFSET, true),
        length: view.getUint16(e + DA_LEN, true),
      });
    }
    if (status !== 0) {
      this.fail(m, status);
      m.label = opExists(m.dir, op) ? `${messageLabel(m.dir, op)} (invalid)` : `${m.opName} (unknown op)`;
      const offset = view.getUint32(base + D_ERROR_OFFSET, true);
      if (offset !== 0) m.errorOffset = offset;
      const attr = view.getUint32(base + D_ERROR_ATTR, true);
      if (attr !== 0) m.errorAttr = attr;
      return;
    }
    m.kind = "iwpm";
    m.code = iwpmCode(m.dir, op);
    m.label = messageLabel(m.dir, op);
    const present = view.getUint32(base + D_PRESENT, true);
    // The record refers to the message where it lies in core memory; offsets count from its start.
    const msg = view.getUint32(base + D_MSG, true);
    for (const spec of specs) {
      if ((present & (1 << spec.id)) === 0) continue;
      const entry = base + D_VALUES + (spec.id - 1) * DV_SIZE;
      const at = msg + view.getUint32(entry + DV_OFFSET, true);
      if (spec.kind === "u32") m.attrs[spec.name] = view.getUint32(at, true);
      else if (spec.kind === "u16") m.attrs[spec.name] = view.getUint16(at, true);
      else if (spec.kind === "addr") m.attrs[spec.name] = formatSockaddr(view, at);
      else {
        const bytes = mem.subarray(at, at + view.getUint32(entry + DV_LEN, true));
        const nul = bytes.indexOf(0);
        m.attrs[spec.name] = this.textDecoder.decode(bytes.subarray(0, nul < 0 ? bytes.length : nul));
      }
    }
    for (const a of m.attrSpans) {
      if (a.name !== "") continue;
      m.unknownAttrs ??= [];
      m.unknownAttrs.push({ type: a.id, length: a.length - NLA_HDRLEN });
    }
  }
}

/** "127.0.0.1:5555", "[fd77::1]:5555", "[fe80::1%2]:5555"; "family N" for other families. */
export function formatSockaddr(view: DataView, at: number): string {
  const a = readSockaddr(view, at);
  if (a === null) return `family ${view.getUint16(at, true)}`;
  return formatAddr(a);
}

export function formatAddr(a: SockAddr): string {
  if (a.family === "ipv4") return `${a.address}:${a.port}`;
  // A scope id means something for link-local addresses only; elsewhere it is whatever the
  // sender left in those bytes (iwpmd leaves the mapped remote's uninitialised).
  const scope = a.scopeId && /^fe[89ab]/i.test(a.address) ? `%${a.scopeId}` : "";
  return `[${a.address}${scope}]:${a.port}`;
}

/**
 * Decodes a whole capture held in memory; returns the messages and the statistics. The messages
 * keep their bytes (unless `keepBytes` is false), so they can be replayed (buildTimeline).
 */
export function decodeRecords(
  x: CoreExports,
  records: Iterable<CaptureRecord>,
  opts: { side?: Side; keepBytes?: boolean } = {},
): { messages: CaptureMessage[]; stats: DecodeStats } {
  const messages: CaptureMessage[] = [];
  const dec = new CaptureDecoder(x, { ...opts, keepBytes: opts.keepBytes ?? true, onMessage: (m) => messages.push(m) });
  for (const r of records) dec.record(r);
  return { messages, stats: dec.finish() };
}
