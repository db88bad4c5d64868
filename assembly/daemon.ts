// The daemon core (build/core/iwpmd.wasm): the iwpmd-compatible service and its peers' UDP
// protocol (docs/abi.md "Daemon core"). Only integers and offsets into the core's memory cross
// this boundary. The exports only tests need are added by daemon.debug.ts.

import { DAEMON_ABI_VERSION, CORE_ROLE_DAEMON } from "./gen/protocol";
import { MAX_NL_CLIENTS } from "./iwpm/constants";
import { TRUST_HOST } from "./trust";
import { E_INVALID_ARG, E_SEND_FAILED } from "./status";
import { svcConfigure, svcLastErrno, svcTrust, svcVersion, clientRegistered } from "./service/state";
import { sendHello } from "./service/send";
import { servicePollAll, serviceReleaseAll } from "./daemon/loop";
import {
  mappingCount,
  mappingFirst,
  mappingFlags,
  mappingHandle,
  mappingLocal,
  mappingMapped,
  mappingNext,
  mappingOwner,
  mappingRefs,
  mappingSetLimits,
  mappingWildcard,
} from "./service/mappings";
import { setPeerPort, setUdpFd } from "./peer/udp";
import { exchangeCount, setQueryTicks } from "./peer/exchanges";
import { ticksNextMs, ticksRun } from "./peer/ticks";
import { MAPPING_RECORD_SIZE, writeMappingRecord } from "./gen/events";
import { dropCount, DROP_REASONS } from "./service/events";
// Replay of captured peer exchanges (assembly/daemon/replay.ts).
export { peerDecode, peerDecodedPtr, replayPeer, replayPeerEnd, replayPeerPtr } from "./daemon/replay";
// The abort replacement named in asconfig.json lives here.
import "./diag";


export function coreAbiVersion(): u32 {
  return DAEMON_ABI_VERSION;
}
/** Which core this is, so a host handed the client core instead says so. */
export function coreRole(): u32 {
  return CORE_ROLE_DAEMON;
}

// ---- events (the record of docs/abi.md, the service's kinds) -----------------------
export * from "./lib/event-exports";

// ---- the port mapper service ----------------------------------------------------------

const SVC_OUT: usize = memory.data(<i32>MAPPING_RECORD_SIZE, 8);

/** Netlink socket fd, our port (nlmsg_pid) and the port unsolicited messages go to (iwpmd: 0). */
export function serviceConfigure(fd: u32, port: u32, clientPort: u32): void {
  svcConfigure(fd, port, clientPort);
}
/** UDP socket of a slot: 0 IPv4 at the peers' port, 1 IPv4 ephemeral, 2 IPv6 at the peers' port, 3 IPv6 ephemeral; 0 = none. */
export function serviceSetUdpSocket(slot: u32, fd: u32): void {
  setUdpFd(slot, fd);
}
/** The peers' UDP port queries are sent to (default 3935). */
export function serviceSetPeerPort(port: u32): void {
  setPeerPort(port);
}
/** Sends the start-up HELLO; 0, or -SEND_FAILED (the errno in serviceLastErrno). */
export function serviceStart(): i32 {
  return sendHello() == 0 ? 0 : -E_SEND_FAILED;
}
export function servicePoll(): i32 {
  return servicePollAll();
}
/** Who may speak as a client: as setTrust, for the service's netlink socket. */
export function serviceSetTrust(mode: u32, uid: u32): i32 {
  if (mode > TRUST_HOST) return -E_INVALID_ARG;
  svcTrust.mode = mode;
  svcTrust.uid = uid;
  return 0;
}
/** Runs the one-second retransmission pass if it is due; 1 when it ran. */
export function serviceTick(): u32 {
  return ticksRun();
}
export function serviceNextTimeoutMs(): i32 {
  return ticksNextMs();
}
/** Releases every reserved port and forgets every mapping and exchange; returns how many mappings. */
export function serviceStop(): u32 {
  return serviceReleaseAll();
}
export function serviceVersion(): u32 {
  return svcVersion;
}
export function serviceLastErrno(): u32 {
  return svcLastErrno;
}
export function serviceClientValid(client: u32): u32 {
  return client < MAX_NL_CLIENTS && clientRegistered(client) ? 1 : 0;
}
export function serviceExchangeCount(): u32 {
  return exchangeCount();
}
export function serviceMappingCount(): u32 {
  return mappingCount();
}
/** Newest mapping first (iwpmd's order); 0 ends. */
export function serviceMappingFirst(): u32 {
  return mappingFirst();
}
export function serviceMappingNext(i: u32): u32 {
  return mappingNext(i);
}
export function serviceOutPtr(): usize {
  return SVC_OUT;
}
/** Writes mapping i at serviceOutPtr() as the mapping record (build/protocol.mjs MAPPING_RECORD). */
export function serviceMappingRead(i: u32): void {
  writeMappingRecord(SVC_OUT, mappingLocal(i), mappingMapped(i), mappingOwner(i), mappingRefs(i), mappingWildcard(i), mappingFlags(i), mappingHandle(i));
}

// ---- the service's bounds and counters (docs/serve.md) ---------------------------

/** Bounds on live mappings: in total and per requesting netlink port (0 = unbounded). */
export function serviceSetMappingLimits(total: u32, perPort: u32): void {
  mappingSetLimits(total, perPort);
}
/** Ticks (seconds) a QUERY waits for its peer before the client is answered IWPM_REMOTE_QUERY_REJECT (1..10). */
export function serviceSetQueryTicks(n: u32): void {
  setQueryTicks(<i32>min(n, 10));
}
/** How many drop reasons serviceDropCount knows. */
export function serviceDropReasons(): u32 {
  return DROP_REASONS;
}
/** Input refused for `reason` so far (the order of src/service/stats.ts). */
export function serviceDropCount(reason: u32): f64 {
  return <f64>dropCount(reason);
}
