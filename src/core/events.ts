import {
  EV_DAEMON_HELLO,
  EV_MAPINFO_ACK,
  EV_MAPINFO_REFUSED,
  EV_MAPINFO_REFUSED_FLAGS,
  EV_MAPINFO_REFUSED_LOCAL,
  EV_MAPINFO_REFUSED_MAPPED,
  EV_MAPINFO_REFUSED_PORT,
  EV_MAPINFO_REFUSED_RESEND_STATUS,
  EV_MAPINFO_REFUSED_RESENT,
  EV_MAPINFO_REQUEST,
  EV_MAPINFO_SENT,
  EV_MAPPING_ERROR,
  EV_REMOTE_INFO,
  EV_REMOTE_INFO_LOCAL,
  EV_REMOTE_INFO_MAPPED_LOCAL,
  EV_REMOTE_INFO_MAPPED_REMOTE,
  EV_REMOTE_INFO_REMOTE,
  EV_REQUEST_DONE,
  EV_REQUEST_DONE_ABI_VERSION,
  EV_REQUEST_DONE_DAEMON_VERSION,
  EV_REQUEST_DONE_ERRNO,
  EV_REQUEST_DONE_MAPPED_LOCAL,
  EV_REQUEST_DONE_MAPPED_REMOTE,
  EV_REQUEST_DONE_OP,
  EV_REQUEST_DONE_PORT,
  EVENT_KIND,
  EVENT_NL_CLIENT,
  EVENT_SEQ,
  EVENT_STATUS,
  readDaemonHello,
  readMapinfoAck,
  readMapinfoRequest,
  readMapinfoSent,
  readMappingError,
} from "../gen/events.js";
import { formatIPv4Number, formatIPv6 } from "./ip.js";
import { AF_INET, AF_INET6, type SockAddr } from "./sockaddr.js";

// Event records the core appends for its host: each kind's fields are declared in
// build/protocol.mjs (CLIENT_EVENTS) and read by src/gen/events.ts; this module gives them the
// shapes the client API consumes. An event's addresses are made into SockAddr objects (their text
// above all) only when read: a replay or a caller that ignores them never pays for it.

export {
  EV_DAEMON_HELLO,
  EV_MAPINFO_ACK,
  EV_MAPINFO_REFUSED,
  EV_MAPINFO_REQUEST,
  EV_MAPINFO_SENT,
  EV_MAPPING_ERROR,
  EV_REMOTE_INFO,
  EV_REQUEST_DONE,
};

export type CoreEvent =
  | {
      kind: "requestDone";
      nlClient: number;
      seq: number;
      op: number;
      status: number;
      /** REG_PID answered: the ABI version in use (0 on failure). */
      abiVersion: number;
      /** REG_PID answered: the version the daemon answered. */
      daemonVersion: number;
      /** NETLINK_ERROR or SEND_FAILED: the errno (WASI), else 0. */
      errno: number;
      port: number;
      mappedLocal: SockAddr | null;
      mappedRemote: SockAddr | null;
    }
  | { kind: "remoteInfo"; nlClient: number; seq: number; local: SockAddr; remote: SockAddr; mappedLocal: SockAddr; mappedRemote: SockAddr }
  | { kind: "mappingError"; nlClient: number; code: number; port: number }
  | { kind: "daemonHello"; nlClient: number; status: number; port: number; version: number; offered: number; answeredAsV3: boolean }
  | { kind: "mapinfoRequest"; nlClient: number; port: number; version: number }
  | { kind: "mapinfoSent"; nlClient: number; status: number; seq: number; records: number; datagrams: number; port: number }
  | { kind: "mapinfoAck"; nlClient: number; seq: number; sent: number; acked: number; port: number }
  | {
      kind: "mapinfoRefused";
      nlClient: number;
      /** The daemon's IWPM_* code. */
      code: number;
      local: SockAddr;
      mapped: SockAddr;
      flags: number;
      /** Records behind it in its datagram, which the daemon did not read, sent again. */
      resent: number;
      /** 0, or the status that stopped sending them again. */
      resendStatus: number;
      port: number;
    };

// struct sockaddr_in / sockaddr_in6 fields within an event's address slot (a sockaddr_storage).
const SA_PORT = 2;
const SIN_ADDR = 4;
const SIN6_FLOWINFO = 4;
const SIN6_ADDR = 8;
const SIN6_SCOPE_ID = 24;

/**
 * Stores a big-endian word byte by byte: a small typed array lives in the JS heap until its
 * `.buffer` is asked for, which moves it out at a cost far above formatting it.
 */
function putWord(bytes: Uint8Array, at: number, word: number): void {
  bytes[at] = word >>> 24;
  bytes[at + 1] = (word >>> 16) & 0xff;
  bytes[at + 2] = (word >>> 8) & 0xff;
  bytes[at + 3] = word & 0xff;
}

/**
 * An event slot's address, kept as numbers (the queue's memory is reused once drained) until it is
 * read; then its SockAddr, made once, with the same fields readSockaddr gives.
 */
class SlotAddr {
  private readonly family: number;
  private readonly port: number;
  private readonly flowinfo: number = 0;
  private readonly scopeId: number = 0;
  /** The address bytes as big-endian words: IPv4 uses the first. */
  private readonly w0: number = 0;
  private readonly w1: number = 0;
  private readonly w2: number = 0;
  private readonly w3: number = 0;
  private made: SockAddr | null | undefined = undefined;

  constructor(view: DataView, at: number) {
    this.family = view.getUint16(at, true);
    this.port = view.getUint16(at + SA_PORT, false);
    if (this.family === AF_INET) {
      this.w0 = view.getUint32(at + SIN_ADDR, false);
    } else if (this.family === AF_INET6) {
      this.flowinfo = view.getUint32(at + SIN6_FLOWINFO, false);
      this.w0 = view.getUint32(at + SIN6_ADDR, false);
      this.w1 = view.getUint32(at + SIN6_ADDR + 4, false);
      this.w2 = view.getUint32(at + SIN6_ADDR + 8, false);
      this.w3 = view.getUint32(at + SIN6_ADDR + 12, false);
      this.scopeId = view.getUint32(at + SIN6_SCOPE_ID, true);
    }
  }

  /** Of a family the API knows (AF_INET, AF_INET6). */
  known(): boolean {
    return this.family === AF_INET || this.family === AF_INET6;
  }

  value(): SockAddr | null {
    if (this.made === undefined) this.made = this.make();
    return this.made;
  }

  private make(): SockAddr | null {
    if (this.family === AF_INET) return { family: "ipv4", address: formatIPv4Number(this.w0), port: this.port };
    if (this.family !== AF_INET6) return null;
    const bytes = new Uint8Array(16);
    putWord(bytes, 0, this.w0);
    putWord(bytes, 4, this.w1);
    putWord(bytes, 8, this.w2);
    putWord(bytes, 12, this.w3);
    const addr: SockAddr = { family: "ipv6", address: formatIPv6(bytes), port: this.port };
    if (this.flowinfo !== 0) addr.flowinfo = this.flowinfo;
    if (this.scopeId !== 0) addr.scopeId = this.scopeId;
    return addr;
  }
}

/** An address the core validated: a slot of another family is a broken core, told at once. */
function must(view: DataView, at: number): SlotAddr {
  const a = new SlotAddr(view, at);
  if (!a.known()) throw new Error("core event carries an address of an unknown family");
  return a;
}

class RequestDone {
  readonly kind = "requestDone";
  readonly nlClient: number;
  readonly seq: number;
  readonly op: number;
  readonly status: number;
  readonly abiVersion: number;
  readonly daemonVersion: number;
  readonly errno: number;
  readonly port: number;
  private readonly localSlot: SlotAddr | null;
  private readonly remoteSlot: SlotAddr | null;

  constructor(view: DataView, at: number) {
    this.nlClient = view.getUint16(at + EVENT_NL_CLIENT, true);
    this.seq = view.getUint32(at + EVENT_SEQ, true);
    this.op = view.getUint32(at + EV_REQUEST_DONE_OP, true);
    this.status = view.getInt32(at + EVENT_STATUS, true);
    const ok = this.status === 0;
    // abiVersion and errno share a word: which one it holds depends on the status.
    this.abiVersion = ok ? view.getUint32(at + EV_REQUEST_DONE_ABI_VERSION, true) : 0;
    this.daemonVersion = view.getUint32(at + EV_REQUEST_DONE_DAEMON_VERSION, true);
    this.errno = ok ? 0 : view.getUint32(at + EV_REQUEST_DONE_ERRNO, true);
    this.port = view.getUint32(at + EV_REQUEST_DONE_PORT, true);
    this.localSlot = ok ? new SlotAddr(view, at + EV_REQUEST_DONE_MAPPED_LOCAL) : null;
    this.remoteSlot = ok ? new SlotAddr(view, at + EV_REQUEST_DONE_MAPPED_REMOTE) : null;
  }
  get mappedLocal(): SockAddr | null {
    return this.localSlot === null ? null : this.localSlot.value();
  }
  get mappedRemote(): SockAddr | null {
    return this.remoteSlot === null ? null : this.remoteSlot.value();
  }
}

class RemoteInfo {
  readonly kind = "remoteInfo";
  readonly nlClient: number;
  readonly seq: number;
  private readonly slots: readonly [SlotAddr, SlotAddr, SlotAddr, SlotAddr];

  constructor(view: DataView, at: number) {
    this.nlClient = view.getUint16(at + EVENT_NL_CLIENT, true);
    this.seq = view.getUint32(at + EVENT_SEQ, true);
    this.slots = [
      must(view, at + EV_REMOTE_INFO_LOCAL),
      must(view, at + EV_REMOTE_INFO_REMOTE),
      must(view, at + EV_REMOTE_INFO_MAPPED_LOCAL),
      must(view, at + EV_REMOTE_INFO_MAPPED_REMOTE),
    ];
  }
  get local(): SockAddr {
    return this.slots[0].value() as SockAddr;
  }
  get remote(): SockAddr {
    return this.slots[1].value() as SockAddr;
  }
  get mappedLocal(): SockAddr {
    return this.slots[2].value() as SockAddr;
  }
  get mappedRemote(): SockAddr {
    return this.slots[3].value() as SockAddr;
  }
}

class MapinfoRefused {
  readonly kind = "mapinfoRefused";
  readonly nlClient: number;
  readonly code: number;
  readonly flags: number;
  readonly resent: number;
  readonly resendStatus: number;
  readonly port: number;
  private readonly localSlot: SlotAddr;
  private readonly mappedSlot: SlotAddr;

  constructor(view: DataView, at: number) {
    this.nlClient = view.getUint16(at + EVENT_NL_CLIENT, true);
    this.code = view.getInt32(at + EVENT_STATUS, true);
    this.flags = view.getUint32(at + EV_MAPINFO_REFUSED_FLAGS, true);
    this.resent = view.getUint32(at + EV_MAPINFO_REFUSED_RESENT, true);
    this.resendStatus = view.getInt32(at + EV_MAPINFO_REFUSED_RESEND_STATUS, true);
    this.port = view.getUint32(at + EV_MAPINFO_REFUSED_PORT, true);
    this.localSlot = must(view, at + EV_MAPINFO_REFUSED_LOCAL);
    this.mappedSlot = must(view, at + EV_MAPINFO_REFUSED_MAPPED);
  }
  get local(): SockAddr {
    return this.localSlot.value() as SockAddr;
  }
  get mapped(): SockAddr {
    return this.mappedSlot.value() as SockAddr;
  }
}

export function readEvent(view: DataView, at: number): CoreEvent {
  const kind = view.getUint16(at + EVENT_KIND, true);
  switch (kind) {
    case EV_REQUEST_DONE:
      return new RequestDone(view, at);
    case EV_REMOTE_INFO:
      return new RemoteInfo(view, at);
    case EV_MAPPING_ERROR: {
      const e = readMappingError(view, at);
      return { kind: "mappingError", nlClient: e.nlClient, code: e.status, port: e.port };
    }
    case EV_DAEMON_HELLO: {
      const e = readDaemonHello(view, at);
      return {
        kind: "daemonHello",
        nlClient: e.nlClient,
        status: e.status,
        port: e.port,
        version: e.version,
        offered: e.offered,
        answeredAsV3: e.answeredAsV3,
      };
    }
    case EV_MAPINFO_REQUEST: {
      const e = readMapinfoRequest(view, at);
      return { kind: "mapinfoRequest", nlClient: e.nlClient, port: e.port, version: e.version };
    }
    case EV_MAPINFO_SENT: {
      const e = readMapinfoSent(view, at);
      return {
        kind: "mapinfoSent",
        nlClient: e.nlClient,
        status: e.status,
        seq: e.seq,
        records: e.records,
        datagrams: e.datagrams,
        port: e.port,
      };
    }
    case EV_MAPINFO_ACK: {
      const e = readMapinfoAck(view, at);
      return { kind: "mapinfoAck", nlClient: e.nlClient, seq: e.seq, sent: e.sent, acked: e.acked, port: e.port };
    }
    case EV_MAPINFO_REFUSED:
      return new MapinfoRefused(view, at);
    default:
      throw new Error(`core event of unknown kind ${kind}`);
  }
}
