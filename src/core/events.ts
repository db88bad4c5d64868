import {
  EV_DAEMON_HELLO,
  EV_MAPINFO_ACK,
  EV_MAPINFO_REFUSED,
  EV_MAPINFO_REQUEST,
  EV_MAPINFO_SENT,
  EV_MAPPING_ERROR,
  EV_REMOTE_INFO,
  EV_REQUEST_DONE,
  EVENT_KIND,
  readDaemonHello,
  readMapinfoAck,
  readMapinfoRefused,
  readMapinfoRequest,
  readMapinfoSent,
  readMappingError,
  readRemoteInfo,
  readRequestDone,
} from "../gen/events.js";
import type { SockAddr } from "./sockaddr.js";

// Event records the core appends for its host: each kind's fields are declared in
// build/protocol.mjs (CLIENT_EVENTS) and read by src/gen/events.ts; this module gives them the
// shapes the client API consumes.

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

function must(a: SockAddr | null): SockAddr {
  if (a === null) throw new Error("core event carries an address of an unknown family");
  return a;
}

export function readEvent(view: DataView, at: number): CoreEvent {
  const kind = view.getUint16(at + EVENT_KIND, true);
  switch (kind) {
    case EV_REQUEST_DONE: {
      const e = readRequestDone(view, at);
      const ok = e.status === 0;
      return {
        kind: "requestDone",
        nlClient: e.nlClient,
        seq: e.seq,
        op: e.op,
        status: e.status,
        // abiVersion and errno share a word: which one it holds depends on the status.
        abiVersion: ok ? e.abiVersion : 0,
        daemonVersion: e.daemonVersion,
        errno: ok ? 0 : e.errno,
        port: e.port,
        mappedLocal: ok ? e.mappedLocal : null,
        mappedRemote: ok ? e.mappedRemote : null,
      };
    }
    case EV_REMOTE_INFO: {
      const e = readRemoteInfo(view, at);
      return {
        kind: "remoteInfo",
        nlClient: e.nlClient,
        seq: e.seq,
        local: must(e.local),
        remote: must(e.remote),
        mappedLocal: must(e.mappedLocal),
        mappedRemote: must(e.mappedRemote),
      };
    }
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
    case EV_MAPINFO_REFUSED: {
      const e = readMapinfoRefused(view, at);
      return {
        kind: "mapinfoRefused",
        nlClient: e.nlClient,
        code: e.status,
        local: must(e.local),
        mapped: must(e.mapped),
        flags: e.flags,
        resent: e.resent,
        resendStatus: e.resendStatus,
        port: e.port,
      };
    }
    default:
      throw new Error(`core event of unknown kind ${kind}`);
  }
}
