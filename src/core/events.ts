import { readSockaddr, SOCKADDR_SIZE, type SockAddr } from "./sockaddr.js";

// Event records the core appends for its host (assembly/client/events.ts).

export const EV_REQUEST_DONE = 1;
export const EV_REMOTE_INFO = 2;
export const EV_MAPPING_ERROR = 3;
export const EV_DAEMON_HELLO = 4;
export const EV_MAPINFO_REQUEST = 5;
export const EV_MAPINFO_SENT = 6;
export const EV_MAPINFO_ACK = 7;
export const EV_MAPINFO_REFUSED = 8;

const E_KIND = 0;
const E_CLIENT = 2;
const E_STATUS = 4;
const E_SEQ = 8;
const E_OP = 12;
const E_A = 16;
const E_B = 20;
const E_C = 24;
const E_PORT = 28;
const E_ADDRS = 32;

export type CoreEvent =
  | {
      kind: "requestDone";
      nlClient: number;
      seq: number;
      op: number;
      status: number;
      /** REG_PID: the negotiated and the daemon's version; failures: the errno of a failed send. */
      a: number;
      b: number;
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

function addr(view: DataView, at: number, n: number): SockAddr | null {
  return readSockaddr(view, at + E_ADDRS + n * SOCKADDR_SIZE);
}

function must(a: SockAddr | null): SockAddr {
  if (a === null) throw new Error("core event carries an address of an unknown family");
  return a;
}

export function readEvent(view: DataView, at: number): CoreEvent {
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
        mappedRemote: ok ? addr(view, at, 1) : null,
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
        mappedRemote: must(addr(view, at, 3)),
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
    case EV_MAPINFO_REFUSED:
      return {
        kind: "mapinfoRefused",
        nlClient,
        code: status,
        local: must(addr(view, at, 0)),
        mapped: must(addr(view, at, 1)),
        flags: a,
        resent: b,
        resendStatus: view.getInt32(at + E_C, true),
        port,
      };
    default:
      throw new Error(`core event of unknown kind ${kind}`);
  }
}
