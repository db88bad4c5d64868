import { strnlen } from "../netlink/attr";
import { IWPM_GROUP_MASK, IWPM_UABI_VERSION_MIN, MAX_NL_CLIENTS, OP_ADD_MAPPING, OP_QUERY_MAPPING, OP_REG_PID } from "../iwpm/constants";
import { buildAddMapping, buildQueryMapping, buildRegPid, buildRemoveMapping } from "../iwpm/messages";
import { ADDR_SIZE, addrFromSockaddr, addrToSockaddr, sockaddrFamilyOk } from "../iwpm/sockaddr";
import {
  E_CLIENT_EXITED,
  E_DAEMON_GONE,
  E_DAEMON_UNAVAILABLE,
  E_INVALID_ARG,
  E_NOT_FOUND,
  E_NOT_INITIALIZED,
  E_NOT_REGISTERED,
  E_TABLE_FULL,
  E_TIMEOUT,
  OK,
} from "../status";
import { mapinfoCreate, mapinfoFree, mapinfoFull, mapinfoRemove } from "../tables/mapinfo";
import { remoteInfoFree, remoteInfoTake } from "../tables/remote-info";
import {
  OUTCOME_SETTLED,
  OUTCOME_TIMED_OUT,
  OUTCOME_UNKNOWN,
  R_DEVNAME,
  R_LOCAL,
  R_REMOTE,
  requestAdd,
  requestClient,
  requestCount,
  requestDeadline,
  requestNextDue,
  requestOp,
  requestsFull,
  requestPtr,
  requestSeq,
  requestSettle,
  requestSoonest,
} from "../tables/requests";
import { NIL } from "../tables/slab";
import { EV_REQUEST_DONE, pushEvent, setEventOp } from "./events";
import { nowNs } from "../lib/clock";
import {
  abiVersion,
  clientValid,
  daemonKnown,
  daemonPort,
  pidState,
  echoSeq,
  livenessNs,
  probePort,
  initCount,
  initTotal,
  ownPort,
  PID_UNAVAILABLE,
  PID_UNDEFINED,
  REG_UNDEF,
  REG_VALID,
  registration,
  sendTx,
  setPidState,
  setInitCount,
  setInitTotal,
  setRegistration,
  takeSeq,
  timeoutNs,
  txBuf,
} from "./state";
import { bump, STAT_TX_MESSAGES } from "./stats";

// The seed API of include/rdma/iw_portmap.h (reference §4.4, §4.7). Calls
// take their addresses from ARGS and return a sequence number (> 0) when a
// reply is awaited, 0 when done at once, or a negative status. Completions
// arrive later as events.

/** Call arguments: four sockaddr_storage slots, then the device and netdev names. */
export const ARGS: usize = memory.data(560, 8);
export const ARG_ADDR_SIZE: usize = 128;
export const ARG_DEVNAME: usize = ARGS + 512;
export const ARG_IFNAME: usize = ARGS + 544;

// @ts-ignore: decorator
@inline
function argAddr(n: u32): usize {
  return ARGS + <usize>n * ARG_ADDR_SIZE;
}

const C_LOCAL: usize = memory.data(<i32>ADDR_SIZE, 8);
const C_REMOTE: usize = memory.data(<i32>ADDR_SIZE, 8);
const C_OUT: usize = memory.data(<i32>ADDR_SIZE, 8);

export function clientInit(client: u32): i32 {
  if (client >= MAX_NL_CLIENTS) return -E_INVALID_ARG;
  setInitCount(client, initCount(client) + 1);
  setInitTotal(initTotal + 1);
  setRegistration(client, REG_UNDEF);
  return OK;
}

/** Drops one init of `client`; the last exit of all clients frees both tables. */
export function clientExit(client: u32): i32 {
  if (!clientValid(client)) return -E_NOT_INITIALIZED;
  const left = initCount(client) - 1;
  setInitCount(client, left);
  setInitTotal(initTotal - 1);
  setRegistration(client, REG_UNDEF);
  if (left == 0) settleClientRequests(client);
  if (initTotal == 0) {
    mapinfoFree();
    remoteInfoFree();
  }
  return OK;
}

function settleClientRequests(client: u32): void {
  let i = requestSoonest();
  while (i != NIL) {
    const next = requestNextDue(i);
    if (requestClient(i) == client) settleWith(i, E_CLIENT_EXITED, OUTCOME_SETTLED);
    i = next;
  }
}

function settleWith(i: u32, status: i32, outcome: u32): void {
  const e = pushEvent(EV_REQUEST_DONE, requestClient(i), status, requestSeq(i));
  setEventOp(e, requestOp(i));
  requestSettle(i, outcome);
}

const NEVER: u64 = u64.MAX_VALUE;
/** Since when some request has been pending without a break. */
let pendingSinceNs: u64 = 0;
/** When a liveness probe last found the daemon's port held. */
let aliveAtNs: u64 = 0;

/**
 * When the daemon's port is next probed: a liveness interval after requests started waiting or
 * after the last probe that found it held, whichever is later. Only a known daemon has a port
 * to probe; without one, requests keep their timeouts.
 */
function probeDueNs(): u64 {
  if (livenessNs == 0 || !daemonKnown() || requestCount() == 0) return NEVER;
  const since = aliveAtNs > pendingSinceNs ? aliveAtNs : pendingSinceNs;
  return since + livenessNs;
}

/**
 * Probes the daemon's port when due. A refused probe means nobody holds the port any more: every
 * pending request fails at once, and the pid state becomes what the kernel sets when a send to
 * the daemon fails, so the next registerPid multicasts again.
 */
function checkLiveness(now: u64): u32 {
  if (now < probeDueNs()) return 0;
  if (probePort(daemonPort)) {
    aliveAtNs = now;
    return 0;
  }
  setPidState(PID_UNDEFINED);
  let n: u32 = 0;
  let i = requestSoonest();
  while (i != NIL) {
    settleWith(i, E_DAEMON_GONE, OUTCOME_SETTLED);
    n++;
    i = requestSoonest();
  }
  return n;
}

/** Settles every request whose deadline has passed or whose daemon is gone; returns how many. */
export function expireRequests(): u32 {
  const now = nowNs();
  let n = checkLiveness(now);
  let i = requestSoonest();
  while (i != NIL && requestDeadline(i) <= now) {
    settleWith(i, E_TIMEOUT, OUTCOME_TIMED_OUT);
    n++;
    i = requestSoonest();
  }
  return n;
}

/** Milliseconds until the earliest deadline or liveness probe (0 if due), or -1 with nothing pending. */
export function nextTimeoutMs(): i32 {
  const i = requestSoonest();
  if (i == NIL) return -1;
  const now = nowNs();
  const deadline = requestDeadline(i);
  const probe = probeDueNs();
  const due = probe < deadline ? probe : deadline;
  if (due <= now) return 0;
  const ms = (due - now + 999_999) / 1_000_000;
  return ms > <u64>i32.MAX_VALUE ? i32.MAX_VALUE : <i32>ms;
}

function newRequest(seq: u32, op: u32, client: u32): u32 {
  const now = nowNs();
  if (requestCount() == 0) pendingSinceNs = now;
  return requestAdd(seq, op, client, now + timeoutNs);
}

export function registerPid(client: u32): i32 {
  if (!clientValid(client)) return -E_NOT_INITIALIZED;
  const devLen = strnlen(ARG_DEVNAME, 32);
  if (devLen == 0 || devLen > 31 || strnlen(ARG_IFNAME, 16) > 15) return -E_INVALID_ARG;
  if (registration(client) == REG_VALID || pidState == PID_UNAVAILABLE) return OK;
  if (requestsFull()) return -E_TABLE_FULL;
  const seq = takeSeq();
  const len = buildRegPid(txBuf(), client, seq, ownPort, echoSeq, ARG_IFNAME, ARG_DEVNAME);
  const i = newRequest(seq, OP_REG_PID, client);
  memory.copy(requestPtr(i) + R_DEVNAME, ARG_DEVNAME, 32);
  // Registration is multicast to the port mappers' group; a failure means nobody listens. When a
  // daemon has announced its port, the send names it too: netlink then unicasts to it and
  // multicasts to the rest of the group, so a daemon that could not join the group (no
  // CAP_NET_ADMIN on NETLINK_USERSOCK) hears it, and still only once.
  const status = sendTx(len, daemonKnown() ? daemonPort : 0, IWPM_GROUP_MASK);
  if (status != OK) {
    requestSettle(i, OUTCOME_UNKNOWN);
    setPidState(PID_UNAVAILABLE);
    return -status;
  }
  bump(STAT_TX_MESSAGES);
  return <i32>seq;
}

/** Checks shared by add and query: client, daemon, registration, flags against the version. */
function mappingGate(client: u32, flags: u32): i32 {
  if (!clientValid(client)) return E_NOT_INITIALIZED;
  if (!daemonKnown()) return E_DAEMON_UNAVAILABLE;
  if (registration(client) != REG_VALID) return E_NOT_REGISTERED;
  // A v3 daemon has no FLAGS attribute, so a flagged request cannot be honoured.
  if (flags != 0 && abiVersion <= IWPM_UABI_VERSION_MIN) return E_INVALID_ARG;
  if (requestsFull()) return E_TABLE_FULL;
  return OK;
}

// The arguments' sockaddrs go into the datagram as they are; the request keeps only the compact
// keys its reply's echoed addresses are checked against.

export function addMapping(client: u32, flags: u32): i32 {
  const local = argAddr(0);
  if (!sockaddrFamilyOk(local)) return -E_INVALID_ARG;
  const gate = mappingGate(client, flags);
  if (gate != OK) return -gate;
  const seq = takeSeq();
  const len = buildAddMapping(txBuf(), client, seq, ownPort, echoSeq, local, flags, abiVersion > IWPM_UABI_VERSION_MIN);
  const i = newRequest(seq, OP_ADD_MAPPING, client);
  addrFromSockaddr(requestPtr(i) + R_LOCAL, local);
  const status = sendTx(len, daemonPort, 0);
  if (status != OK) {
    requestSettle(i, OUTCOME_UNKNOWN);
    setPidState(PID_UNDEFINED);
    return -status;
  }
  bump(STAT_TX_MESSAGES);
  return <i32>seq;
}

export function addAndQueryMapping(client: u32, flags: u32): i32 {
  const local = argAddr(0);
  const remote = argAddr(1);
  if (!sockaddrFamilyOk(local) || !sockaddrFamilyOk(remote)) return -E_INVALID_ARG;
  const gate = mappingGate(client, flags);
  if (gate != OK) return -gate;
  const seq = takeSeq();
  const len = buildQueryMapping(txBuf(), client, seq, ownPort, echoSeq, local, remote, flags, abiVersion > IWPM_UABI_VERSION_MIN);
  const i = newRequest(seq, OP_QUERY_MAPPING, client);
  const r = requestPtr(i);
  addrFromSockaddr(r + R_LOCAL, local);
  addrFromSockaddr(r + R_REMOTE, remote);
  // Unlike add and remove, a failed query send leaves the daemon pid as it is (reference §4.2).
  const status = sendTx(len, daemonPort, 0);
  if (status != OK) {
    requestSettle(i, OUTCOME_UNKNOWN);
    return -status;
  }
  bump(STAT_TX_MESSAGES);
  return <i32>seq;
}

/** Fire and forget: no reply exists. Without a daemon there is nothing to release. */
export function removeMapping(client: u32): i32 {
  const local = argAddr(0);
  if (!sockaddrFamilyOk(local)) return -E_INVALID_ARG;
  if (!clientValid(client)) return -E_NOT_INITIALIZED;
  if (!daemonKnown()) return OK;
  if (registration(client) == REG_UNDEF) return -E_NOT_REGISTERED;
  const len = buildRemoveMapping(txBuf(), client, takeSeq(), ownPort, echoSeq, local);
  const status = sendTx(len, daemonPort, 0);
  if (status != OK) {
    setPidState(PID_UNDEFINED);
    return -status;
  }
  bump(STAT_TX_MESSAGES);
  return OK;
}

/** Mapped local (slot 0) + mapped remote (slot 1) -> the unmapped remote in slot 2, consumed. */
export function getRemoteInfo(client: u32): i32 {
  if (!clientValid(client)) return -E_NOT_INITIALIZED;
  if (!addrFromSockaddr(C_LOCAL, argAddr(0)) || !addrFromSockaddr(C_REMOTE, argAddr(1))) return -E_INVALID_ARG;
  if (!remoteInfoTake(C_LOCAL, C_REMOTE, C_OUT)) return -E_NOT_FOUND;
  addrToSockaddr(argAddr(2), C_OUT);
  return OK;
}

/** Records local (slot 0) -> mapped (slot 1) for replay to a restarted daemon. */
export function createMapinfo(client: u32, flags: u32): i32 {
  if (!clientValid(client)) return -E_NOT_INITIALIZED;
  if (!addrFromSockaddr(C_LOCAL, argAddr(0)) || !addrFromSockaddr(C_REMOTE, argAddr(1))) return -E_INVALID_ARG;
  if (mapinfoFull()) return -E_TABLE_FULL;
  mapinfoCreate(C_LOCAL, C_REMOTE, client, flags);
  return OK;
}

/** Deletes the newest record whose local (slot 0) and mapped (slot 1) addresses both match. */
export function removeMapinfo(): i32 {
  if (!addrFromSockaddr(C_LOCAL, argAddr(0)) || !addrFromSockaddr(C_REMOTE, argAddr(1))) return -E_INVALID_ARG;
  return mapinfoRemove(C_LOCAL, C_REMOTE) ? OK : -E_NOT_FOUND;
}
