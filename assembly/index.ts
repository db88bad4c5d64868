// The exported ABI of the core (docs/abi.md). Only integers and offsets into
// the core's memory cross this boundary; the host reads results from the
// buffers named here.

import { ENCODE_MAX, decodeMessage, encodeMessage, DECODED } from "./iwpm/codec";
import { ADDR_SIZE, addrFromSockaddr, addrToSockaddr } from "./iwpm/sockaddr";
import { remoteInfoCheck, remoteInfoCount, remoteInfoSetLimit } from "./tables/remote-info";
import {
  mapinfoCheck,
  mapinfoClient,
  mapinfoCount,
  mapinfoFindByLocal,
  mapinfoFindByMapped,
  mapinfoFirst,
  mapinfoFlags,
  mapinfoLocal,
  mapinfoMapped,
  mapinfoNext,
} from "./tables/mapinfo";
import { requestCount as pendingCount } from "./tables/requests";
import {
  addAndQueryMapping as callAddAndQuery,
  addMapping as callAddMapping,
  ARGS,
  clientExit,
  clientInit,
  createMapinfo as callCreateMapinfo,
  expireRequests,
  getRemoteInfo as callGetRemoteInfo,
  nextTimeoutMs as callNextTimeout,
  registerPid as callRegisterPid,
  removeMapinfo as callRemoveMapinfo,
  removeMapping as callRemoveMapping,
} from "./client/calls";
import { EVENT_SIZE, eventBase, eventCount as pendingEvents, eventsClear as clearEvents } from "./client/events";
import { handleFed, poll as pollSocket } from "./client/handlers";
import {
  abiVersion,
  daemonKnown,
  daemonPort as currentPort,
  pidState as currentPidState,
  echoSeq as currentEcho,
  lastErrno as currentErrno,
  peekSeq,
  registration as registrationOf,
  RX,
  RX_CAP,
  seedSeq,
  setMaxVersion as configureMaxVersion,
  setOwnPort,
  setSocketFd,
  setLivenessMs as configureLiveness,
  setTimeoutMs as configureTimeout,
  TX,
  trust,
} from "./client/state";
import { STAT_COUNT, STATS, statsReset } from "./client/stats";
import { MAX_NL_CLIENTS } from "./iwpm/constants";
import { TRUST_HOST } from "./trust";
import { E_INVALID_ARG } from "./status";
// The abort replacement named in asconfig.json lives here.
import "./diag";

/** Bumped whenever an export, an import or a shared record layout changes. */
const CORE_ABI_VERSION: u32 = 5;

const LOOKUP: usize = memory.data(<i32>ADDR_SIZE, 8);
const CODEC_IO: usize = memory.data(<i32>ENCODE_MAX, 8);

export function coreAbiVersion(): u32 {
  return CORE_ABI_VERSION;
}

// ---- buffers --------------------------------------------------------------
export function argsPtr(): usize {
  return ARGS;
}
export function rxPtr(): usize {
  return RX;
}
export function rxCap(): u32 {
  return RX_CAP;
}
export function txPtr(): usize {
  return TX;
}
export function eventsPtr(): usize {
  return eventBase();
}
export function eventCount(): u32 {
  return pendingEvents();
}
export function eventSize(): u32 {
  return EVENT_SIZE;
}
export function eventsClear(): void {
  clearEvents();
}
export function statsPtr(): usize {
  return STATS;
}
export function statCount(): u32 {
  return <u32>STAT_COUNT;
}
export function resetStats(): void {
  statsReset();
}

// ---- configuration --------------------------------------------------------
/** Our netlink port id, written as nlmsg_pid so replies come back to us. */
export function setPort(port: u32): void {
  setOwnPort(port);
}
export function setSocket(fd: u32): void {
  setSocketFd(fd);
}
export function setTimeoutMs(ms: u32): void {
  configureTimeout(ms);
}
/** How long requests wait before the daemon's port is probed for liveness (0: never). */
export function setLivenessMs(ms: u32): void {
  configureLiveness(ms);
}
/** 4 (default) or 3: a v3 client answers HELLO as a v3 kernel would, making iwpmd fall back. */
export function setMaxVersion(version: u32): i32 {
  if (version != 3 && version != 4) return -E_INVALID_ARG;
  configureMaxVersion(version);
  return 0;
}
/**
 * Who may speak as the daemon: mode 0 only senders of `uid` (default: root), 1 anyone (a host
 * without credentials), 2 the host's own check (trust_check). -INVALID_ARGUMENT for another mode.
 */
export function setTrust(mode: u32, uid: u32): i32 {
  if (mode > TRUST_HOST) return -E_INVALID_ARG;
  trust.mode = mode;
  trust.uid = uid;
  return 0;
}
/** Messages handled from senders whose credentials nobody attested (trust mode 1 only). */
export function unverifiedCount(): u32 {
  return trust.unverified;
}
export function setRemoteInfoLimit(n: u32): void {
  remoteInfoSetLimit(n);
}
/** Where request sequence numbers start: `first` (1..2^31-1), or 0 for a random point via random_get. */
export function seedSequence(first: u32): void {
  seedSeq(first);
}

// ---- state ------------------------------------------------------------------
/** 1 when a daemon port is known, -1 undefined, -2 unavailable (the kernel's iwpm_user_pid states). */
export function pidState(): i32 {
  return currentPidState;
}
/** The daemon's netlink port (u32), meaningful when pidState() is 1. */
export function daemonPort(): u32 {
  return currentPort;
}
export function validPid(): u32 {
  return daemonKnown() ? 1 : 0;
}
export function negotiatedVersion(): u32 {
  return abiVersion;
}
export function registration(client: u32): u32 {
  return client < MAX_NL_CLIENTS ? <u32>registrationOf(client) : 0;
}
export function echoSeq(): u32 {
  return currentEcho;
}
export function nextSeq(): u32 {
  return peekSeq();
}
export function lastErrno(): u32 {
  return currentErrno;
}
export function requestCount(): u32 {
  return pendingCount();
}

// ---- the seed API -------------------------------------------------------------
export function init(client: u32): i32 {
  return clientInit(client);
}
export function exit(client: u32): i32 {
  return clientExit(client);
}
export function registerPid(client: u32): i32 {
  return callRegisterPid(client);
}
export function addMapping(client: u32, flags: u32): i32 {
  return callAddMapping(client, flags);
}
export function addAndQueryMapping(client: u32, flags: u32): i32 {
  return callAddAndQuery(client, flags);
}
export function removeMapping(client: u32): i32 {
  return callRemoveMapping(client);
}
export function getRemoteInfo(client: u32): i32 {
  return callGetRemoteInfo(client);
}
export function createMapinfo(client: u32, flags: u32): i32 {
  return callCreateMapinfo(client, flags);
}
export function removeMapinfo(): i32 {
  return callRemoveMapinfo();
}

// ---- event loop ---------------------------------------------------------------
export function poll(): i32 {
  return pollSocket();
}
/** Handles a datagram the host already wrote into RX (replay, benchmarks), as from `port` with no credentials. */
export function handleRx(len: u32, port: u32): void {
  handleFed(RX, len < RX_CAP ? len : RX_CAP, port);
}
export function tick(): u32 {
  return expireRequests();
}
export function nextTimeoutMs(): i32 {
  return callNextTimeout();
}

// ---- tables -------------------------------------------------------------------
export function mapinfoSize(): u32 {
  return mapinfoCount();
}
export function mapinfoHead(): u32 {
  return mapinfoFirst();
}
export function mapinfoAfter(i: u32): u32 {
  return mapinfoNext(i);
}
/** Writes record i's local and mapped addresses to ARGS slots 0 and 1; returns its flags. */
export function mapinfoRead(i: u32): u32 {
  addrToSockaddr(ARGS, mapinfoLocal(i));
  addrToSockaddr(ARGS + 128, mapinfoMapped(i));
  return mapinfoFlags(i);
}
/** The newest record whose local (by 0) or mapped (by 1) address equals ARGS slot 0; 0 if none. */
export function mapinfoFind(by: u32): u32 {
  if (!addrFromSockaddr(LOOKUP, ARGS)) return 0;
  return by == 0 ? mapinfoFindByLocal(LOOKUP) : mapinfoFindByMapped(LOOKUP);
}
export function mapinfoOwner(i: u32): u32 {
  return mapinfoClient(i);
}
export function mapinfoVerify(): i32 {
  return mapinfoCheck();
}
export function remoteInfoSize(): u32 {
  return remoteInfoCount();
}
export function remoteInfoVerify(): i32 {
  return remoteInfoCheck();
}

// ---- codec --------------------------------------------------------------------
export function codecPtr(): usize {
  return CODEC_IO;
}
export function codecCap(): u32 {
  return ENCODE_MAX;
}
export function decodedPtr(): usize {
  return DECODED;
}
/** Decodes the message at CODEC_IO into the decoded record; returns a status. */
export function decode(len: u32, dir: u32, version: u32): i32 {
  return decodeMessage(CODEC_IO, len < ENCODE_MAX ? len : ENCODE_MAX, dir, version);
}
/** Encodes the decoded record into CODEC_IO; returns the length or a negative status. */
export function encode(dir: u32, version: u32): i32 {
  return encodeMessage(CODEC_IO, ENCODE_MAX, dir, version);
}

// ---- the port mapper service (docs/abi.md "Service") -----------------------------
import { SRX as SVC_RX, SRX_CAP as SVC_RX_CAP, svcConfigure, svcLastErrno, svcSender, svcTrust, svcVersion, clientRegistered, peekClientSeq, mapinfoAccepted } from "./service/state";
import { sendHello } from "./service/send";
import { servicePollAll, serviceReleaseAll } from "./service/loop";
import { handleServiceDatagram } from "./service/netlink";
import {
  mappingCheck,
  mappingCount,
  mappingFirst,
  mappingFlags,
  mappingHandle,
  mappingLocal,
  mappingMapped,
  mappingNext,
  mappingOwner,
  mappingRefs,
  mappingWildcard,
} from "./service/mappings";
import { setPeerPort, setUdpFd } from "./peer/udp";
import { exchangeCount, setExchangeLimit } from "./peer/exchanges";
import { setNextAssoc } from "./peer/query";
import { ticksNextMs, ticksRun } from "./peer/ticks";
import { E_SEND_FAILED } from "./status";
import { MAPPING_RECORD_SIZE, writeMappingRecord } from "./gen/events";

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
export function serviceSetExchangeLimit(n: u32): void {
  setExchangeLimit(n);
}
/** The assochandle of the next query (tests); by default a counter from a random start. */
export function serviceSetAssocHandle(hi: u32, lo: u32): void {
  setNextAssoc((<u64>hi << 32) | <u64>lo);
}
/** Sends the start-up HELLO; 0, or -SEND_FAILED (the errno in serviceLastErrno). */
export function serviceStart(): i32 {
  return sendHello() == 0 ? 0 : -E_SEND_FAILED;
}
export function servicePoll(): i32 {
  return servicePollAll();
}
export function serviceRxPtr(): usize {
  return SVC_RX;
}
export function serviceRxCap(): u32 {
  return SVC_RX_CAP;
}
/** Handles a netlink datagram the host wrote at serviceRxPtr() as from `port` (replay, tests); no trust check. */
export function serviceHandleRx(len: u32, port: u32): void {
  svcSender.unattested(port);
  handleServiceDatagram(SVC_RX, len < SVC_RX_CAP ? len : SVC_RX_CAP);
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
/** The header seq the next message for this client index will carry. */
export function serviceNextSeq(client: u32): u32 {
  return client < MAX_NL_CLIENTS ? peekClientSeq(client) : 0;
}
export function serviceMapinfoAcked(client: u32): u32 {
  return client < MAX_NL_CLIENTS ? mapinfoAccepted(client) : 0;
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
export function serviceMappingVerify(): i32 {
  return mappingCheck();
}

// ---- the service's bounds and counters (docs/serve.md) ---------------------------
import { dropCount, DROP_REASONS } from "./service/events";
import { mappingCountOf, mappingSetLimits } from "./service/mappings";
import { setQueryTicks } from "./peer/exchanges";

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
/** Live mappings asked for by netlink port `port`. */
export function serviceMappingCountOf(port: u32): u32 {
  return mappingCountOf(port);
}
export * from "./replay";
