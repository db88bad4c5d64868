import { pushEvent } from "../lib/events";
import {
  EV_SVC_CLIENT_REGISTERED,
  EV_SVC_HELLO,
  EV_SVC_MAPINFO_COUNT,
  EV_SVC_MAPPING_ADDED,
  EV_SVC_MAPPING_REMOVED,
  EV_SVC_PEER_REQUEST,
  EV_SVC_QUERY_DONE,
  EV_SVC_REQUEST_FAILED,
  writeSvcClientRegistered,
  writeSvcHello,
  writeSvcMapinfoCount,
  writeSvcMappingAdded,
  writeSvcMappingRemoved,
  writeSvcPeerRequest,
  writeSvcQueryDone,
  writeSvcRequestFailed,
} from "../gen/events";
import { E_BAD_VERSION, E_NOT_REGISTERED, E_SEND_FAILED, E_UNKNOWN_OP, IWPM_INVALID_NLMSG_ERR, IWPM_VERSION_MISMATCH_ERR } from "../status";

// What the service tells its host, through the daemon core's own event queue (lib/events), with kinds of
// its own; each kind's record is declared in build/protocol.mjs (SERVICE_EVENTS, docs/abi.md).

/** The ABI version in use changed or was confirmed (offered 0 for NLMSG_ERROR). */
export function emitHello(client: u32, status: i32, seq: u32, version: u32, offered: u32, fallback: bool): void {
  writeSvcHello(pushEvent(EV_SVC_HELLO, client, status, seq), version, offered, fallback);
}

/** REG_PID answered (status 0) or refused (its HANDLE_ERR code, or a send failure). */
export function emitRegistered(client: u32, status: i32, seq: u32, port: u32, first: bool): void {
  writeSvcClientRegistered(pushEvent(EV_SVC_CLIENT_REGISTERED, client, status, seq), first, port);
}

/** A mapping was created (refs 1) or shared, by `op`. */
export function emitMappingAdded(owner: u32, seq: u32, op: u32, refs: u32, flags: u32, local: usize, mapped: usize): void {
  writeSvcMappingAdded(pushEvent(EV_SVC_MAPPING_ADDED, owner, 0, seq), refs, op, flags, local, mapped);
}

/** A REMOVE released one reference; `refs` left (0: the mapping and its port are gone). */
export function emitMappingRemoved(owner: u32, seq: u32, refs: u32, local: usize, mapped: usize): void {
  writeSvcMappingRemoved(pushEvent(EV_SVC_MAPPING_REMOVED, owner, 0, seq), refs, local, mapped);
}

/**
 * A request was refused: status = the HANDLE_ERR code sent (`errSent`), or a core status when
 * iwpmd answers nothing, e.g. NOT_REGISTERED, UNKNOWN_OP; `errno` when sending failed.
 */
export function emitRequestFailed(client: u32, status: i32, seq: u32, op: u32, port: u32, errSent: bool, errno: u32): void {
  countFailure(status);
  writeSvcRequestFailed(pushEvent(EV_SVC_REQUEST_FAILED, client, status, seq), op, errSent, errno, port);
}

/**
 * A peer's REQUEST: status 0 accepted (REMOTE_INFO sent), 16 rejected (no mapping); `repeated`
 * ones are ignored. Addresses: listener's local, connecting side's address, listener's mapped,
 * connecting side's mapped.
 */
export function emitPeerRequest(owner: u32, status: i32, repeated: bool, local: usize, remote: usize, mappedLocal: usize, mappedRemote: usize): usize {
  const e = pushEvent(EV_SVC_PEER_REQUEST, owner, status, 0);
  writeSvcPeerRequest(e, repeated, local, remote, mappedLocal, mappedRemote);
  return e;
}

/**
 * A QUERY this service forwarded ended: status 0 (ACCEPT, reply sent), 16 (REJECT, reply sent) or
 * TIMEOUT (dropped without a message, as iwpmd does); `errno` if the reply could not be sent.
 */
export function emitQueryDone(client: u32, status: i32, seq: u32, port: u32, errno: u32, local: usize, remote: usize, mappedLocal: usize, mappedRemote: usize): void {
  writeSvcQueryDone(pushEvent(EV_SVC_QUERY_DONE, client, status, seq), errno, port, local, remote, mappedLocal, mappedRemote);
}

/** MAPINFO_NUM answered: records the client says it sent, records accepted for its index so far. */
export function emitMapinfoCount(client: u32, status: i32, seq: u32, port: u32, sent: u32, acked: u32): void {
  writeSvcMapinfoCount(pushEvent(EV_SVC_MAPINFO_COUNT, client, status, seq), sent, acked, port);
}

// Input the service refused or could not act on, counted per reason (docs/serve.md "Counters").
// The host reads them by index; src/service/stats.ts names them in the same order.

/** A netlink message whose header does not frame within its datagram. */
export const DROP_BAD_FRAME: u32 = 0;
/** A HELLO offering an ABI version outside 3..4: never adopted. */
export const DROP_BAD_VERSION: u32 = 1;
/** A request that fails iwpmd's attribute policy (answered IWPM_INVALID_NLMSG_ERR). */
export const DROP_INVALID: u32 = 2;
/** ADD or QUERY from a client index that never registered. */
export const DROP_NOT_REGISTERED: u32 = 3;
/** An operation the service does not serve. */
export const DROP_UNKNOWN_OP: u32 = 4;
/** A new mapping beyond the requesting port's bound (answered IWPM_CREATE_MAPPING_ERR). */
export const DROP_PORT_LIMIT: u32 = 5;
/** A new mapping beyond the total bound (answered IWPM_CREATE_MAPPING_ERR). */
export const DROP_TOTAL_LIMIT: u32 = 6;
/** No TCP port could be reserved (answered IWPM_CREATE_MAPPING_ERR). */
export const DROP_NO_PORT: u32 = 7;
/** A peer datagram that is not a port mapper message (size, IP version). */
export const DROP_PEER_MALFORMED: u32 = 8;
/** A peer ACCEPT, REJECT or ACK that matches no exchange of ours. */
export const DROP_PEER_UNMATCHED: u32 = 9;
/** A peer exchange beyond the exchange bound. */
export const DROP_EXCHANGE_LIMIT: u32 = 10;
/** A query whose peer never answered (answered IWPM_REMOTE_QUERY_REJECT). */
export const DROP_PEER_TIMEOUT: u32 = 11;
/** A netlink answer that could not be sent. */
export const DROP_SEND_FAILED: u32 = 12;
/** The sender's kernel-attested credentials failed the trust policy (the whole datagram). */
export const DROP_UNTRUSTED: u32 = 13;
export const DROP_REASONS: u32 = 14;

const DROPS: usize = memory.data(<i32>DROP_REASONS * 8, 8);

export function countDrop(reason: u32): void {
  const p = DROPS + (<usize>reason << 3);
  store<u64>(p, load<u64>(p) + 1);
}
export function dropCount(reason: u32): u64 {
  return reason < DROP_REASONS ? load<u64>(DROPS + (<usize>reason << 3)) : 0;
}

/** The counter of a refusal whose status says why on its own (mapping refusals are counted where they happen). */
function countFailure(status: i32): void {
  if (status == IWPM_INVALID_NLMSG_ERR) countDrop(DROP_INVALID);
  else if (status == E_NOT_REGISTERED) countDrop(DROP_NOT_REGISTERED);
  else if (status == E_UNKNOWN_OP) countDrop(DROP_UNKNOWN_OP);
  else if (status == E_SEND_FAILED) countDrop(DROP_SEND_FAILED);
  else if (status == E_BAD_VERSION || status == IWPM_VERSION_MISMATCH_ERR) countDrop(DROP_BAD_VERSION);
}
