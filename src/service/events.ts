import { readEvent } from "../core/events.js";
import { readSockaddr, SOCKADDR_SIZE, type SockAddr } from "../core/sockaddr.js";

// Service event records (assembly/service/events.ts), read from the core's
// event array; client kinds (1..7) are read by src/core/events.ts.

export const EV_SVC_HELLO = 8;
export const EV_SVC_CLIENT_REGISTERED = 9;
export const EV_SVC_MAPPING_ADDED = 10;
export const EV_SVC_MAPPING_REMOVED = 11;
export const EV_SVC_REQUEST_FAILED = 12;
export const EV_SVC_PEER_REQUEST = 13;
export const EV_SVC_QUERY_DONE = 14;
export const EV_SVC_MAPINFO_COUNT = 15;

export type ServiceEvent =
  | { kind: "hello"; nlClient: number; status: number; version: number; offered: number; fallback: boolean }
  | { kind: "clientRegistered"; nlClient: number; seq: number; port: number; first: boolean }
  | {
      kind: "mappingAdded";
      nlClient: number;
      seq: number;
      op: number;
      refcount: number;
      flags: number;
      local: SockAddr | null;
      mapped: SockAddr | null;
    }
  | { kind: "mappingRemoved"; nlClient: number; seq: number; refcount: number; local: SockAddr | null; mapped: SockAddr | null }
  | { kind: "requestFailed"; nlClient: number; status: number; seq: number; op: number; port: number; errorSent: boolean; errno: number }
  | {
      kind: "peerRequest";
      nlClient: number;
      status: number;
      repeated: boolean;
      local: SockAddr | null;
      remote: SockAddr | null;
      mappedLocal: SockAddr | null;
      mappedRemote: SockAddr | null;
    }
  | {
      kind: "queryDone";
      nlClient: number;
      status: number;
      seq: number;
      port: number;
      errno: number;
      local: SockAddr | null;
      remote: SockAddr | null;
      mappedLocal: SockAddr | null;
      mappedRemote: SockAddr | null;
    }
  | { kind: "mapinfoCount"; nlClient: number; status: number; seq: number; port: number; sent: number; acked: number };

export type AnyEvent = ServiceEvent | ReturnType<typeof readEvent>;

const addr = (view: DataView, at: number, n: number) => readSockaddr(view, at + 32 + n * SOCKADDR_SIZE);

/** Reads one event record of either the service or the client. */
export function readAnyEvent(view: DataView, at: number): AnyEvent {
  const kind = view.getUint16(at, true);
  const nlClient = view.getUint16(at + 2, true);
  const status = view.getInt32(at + 4, true);
  const seq = view.getUint32(at + 8, true);
  const op = view.getUint32(at + 12, true);
  const a = view.getUint32(at + 16, true);
  const b = view.getUint32(at + 20, true);
  const c = view.getUint32(at + 24, true);
  const port = view.getUint32(at + 28, true);
  switch (kind) {
    case EV_SVC_HELLO:
      return { kind: "hello", nlClient, status, version: a, offered: b, fallback: c === 1 };
    case EV_SVC_CLIENT_REGISTERED:
      return { kind: "clientRegistered", nlClient, seq, port, first: a === 1 };
    case EV_SVC_MAPPING_ADDED:
      return { kind: "mappingAdded", nlClient, seq, op: b, refcount: a, flags: c, local: addr(view, at, 0), mapped: addr(view, at, 1) };
    case EV_SVC_MAPPING_REMOVED:
      return { kind: "mappingRemoved", nlClient, seq, refcount: a, local: addr(view, at, 0), mapped: addr(view, at, 1) };
    case EV_SVC_REQUEST_FAILED:
      return { kind: "requestFailed", nlClient, status, seq, op, port, errorSent: a === 1, errno: b };
    case EV_SVC_PEER_REQUEST:
      return {
        kind: "peerRequest",
        nlClient,
        status,
        repeated: a === 1,
        local: addr(view, at, 0),
        remote: addr(view, at, 1),
        mappedLocal: addr(view, at, 2),
        mappedRemote: addr(view, at, 3),
      };
    case EV_SVC_QUERY_DONE:
      return {
        kind: "queryDone",
        nlClient,
        status,
        seq,
        port,
        errno: b,
        local: addr(view, at, 0),
        remote: addr(view, at, 1),
        mappedLocal: addr(view, at, 2),
        mappedRemote: addr(view, at, 3),
      };
    case EV_SVC_MAPINFO_COUNT:
      return { kind: "mapinfoCount", nlClient, status, seq, port, sent: a, acked: b };
    default:
      return readEvent(view, at);
  }
}
