// The client core (build/core/iwpm.wasm): the exports of the kernel-side client and of the codec
// the decoder and the replay use (docs/abi.md "Client core"). Only integers and offsets into the
// core's memory cross this boundary; the host reads results from the buffers named here. The
// exports only tests need are added by client.debug.ts.

import { ENCODE_MAX, decodeMessage, encodeMessage, DECODED } from "./iwpm/codec";
import { decodeWithTracked, trackVersion as trackDecoded } from "./client/decode-version";
import { ADDR_SIZE, addrFromSockaddr, addrToSockaddr } from "./iwpm/sockaddr";
import { remoteInfoCount, remoteInfoSetLimit } from "./tables/remote-info";
import {
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
import { handleFed, poll as pollSocket } from "./client/handlers";
import {
  abiVersion,
  daemonKnown,
  daemonPort as currentPort,
  pidState as currentPidState,
  echoSeq as currentEcho,
  lastErrno as currentErrno,
  registration as registrationOf,
  RX,
  RX_CAP,
  seedSeq,
  setMaxVersion as configureMaxVersion,
  setOwnPort,
  setSocketFd,
  setLivenessMs as configureLiveness,
  setTimeoutMs as configureTimeout,
  trust,
} from "./client/state";
import { STATS } from "./client/stats";
import { MAX_NL_CLIENTS } from "./iwpm/constants";
import { TRUST_HOST } from "./trust";
import { CLIENT_ABI_VERSION, CORE_ROLE_CLIENT } from "./gen/protocol";
import { E_INVALID_ARG } from "./status";
// The abort replacement named in asconfig.json lives here.
import "./diag";


const LOOKUP: usize = memory.data(<i32>ADDR_SIZE, 8);
const CODEC_IO: usize = memory.data(<i32>ENCODE_MAX, 8);

export function coreAbiVersion(): u32 {
  return CLIENT_ABI_VERSION;
}
/** Which core this is, so a host handed the daemon core instead says so. */
export function coreRole(): u32 {
  return CORE_ROLE_CLIENT;
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
export * from "./lib/event-exports";
export function statsPtr(): usize {
  return STATS;
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
export function lastErrno(): u32 {
  return currentErrno;
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
export function remoteInfoSize(): u32 {
  return remoteInfoCount();
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
/**
 * Decodes the message at CODEC_IO with the ABI version a capture's sides were last seen to speak
 * (0: none yet), falling back to the other; the status and the version used (DECODE_VERSION_SHIFT).
 */
export function decodeTracked(len: u32, dir: u32, tracked: u32): i32 {
  return decodeWithTracked(CODEC_IO, len < ENCODE_MAX ? len : ENCODE_MAX, dir, tracked);
}
/** The tracked version after the message the last decodeTracked (`result`) decoded; `echo` 1 for a request come back to its sender. */
export function trackVersion(tracked: u32, result: i32, dir: u32, echo: u32): u32 {
  return trackDecoded(tracked, result, dir, echo != 0);
}
/** Encodes the decoded record into CODEC_IO; returns the length or a negative status. */
export function encode(dir: u32, version: u32): i32 {
  return encodeMessage(CODEC_IO, ENCODE_MAX, dir, version);
}

// ---- replay (src/replay/engine.ts): the client fed from a capture ---------------------------
export * from "./client/replay";
