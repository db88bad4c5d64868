import { ERRNO_CONNREFUSED, random_get } from "../bindings";
import { buildBatchDone } from "../iwpm/messages";
import { RxArea, Sender, TxOne } from "../netlink/io";
import { TrustPolicy } from "../trust";
import { IWPM_UABI_VERSION, IWPM_UABI_VERSION_MIN, MAX_NL_CLIENTS } from "../iwpm/constants";
import { E_SEND_FAILED, OK } from "../status";
import { bump, STAT_TX_DATAGRAMS } from "./stats";

// The client's global state (reference §4.1, §4.2) and its I/O buffers.

export const PID_UNDEFINED: i32 = -1;
export const PID_UNAVAILABLE: i32 = -2;
export const PID_VALID: i32 = 1;

export const REG_UNDEF: u8 = 0x01;
export const REG_VALID: u8 = 0x02;
export const REG_INCOMPL: u8 = 0x04;

/** Send buffer: one datagram as iwpmd reads it at most. */
export const TX_CAP: u32 = 4112;
export const TX: usize = memory.data(<i32>TX_CAP, 8);
/** Where the host feeds one datagram by hand (replay, benchmarks): the largest it hands over at once. */
export const RX_CAP: u32 = 65536;
export const RX: usize = memory.data(<i32>RX_CAP, 8);
/** Each receive slot holds a datagram of this size; a daemon's datagrams stay below 4112 bytes. */
const RX_SLOT: u32 = 8192;
const SCRATCH: usize = memory.data(32, 8);

/**
 * The kernel keeps one `int iwpm_user_pid` (> 0 valid, -1 undefined, -2 unavailable); a netlink
 * port id is a u32 and an autobound one is above 2^31, so the state and the port are kept apart.
 */
export let pidState: i32 = PID_UNDEFINED;
export let daemonPort: u32 = 0;
/** Negotiated ABI version: starts at the minimum, as the kernel does. */
export let abiVersion: u32 = IWPM_UABI_VERSION_MIN;
/** The highest version this client speaks; 3 makes it answer HELLO as a v3 kernel would. */
export let maxVersion: u32 = IWPM_UABI_VERSION;
/** Header seq of the last daemon message accepted, echoed in attribute 1 of requests. */
export let echoSeq: u32 = 0;
let nextSeq: u32 = 1;
export let ownPort: u32 = 0;
export const rx = new RxArea(3, RX_SLOT);
const tx = new TxOne(3);
/** The sender of the datagram being handled. */
export const sender = new Sender();
/** Who may speak as the daemon (docs/api.md "Trust"). */
export const trust = new TrustPolicy();
export let timeoutNs: u64 = 10_000_000_000;
/** How long requests wait before the daemon's port is probed (0: never probed). */
export let livenessNs: u64 = 250_000_000;
export let lastErrno: u32 = 0;

const REGISTRATION: usize = memory.data(<i32>MAX_NL_CLIENTS);
const INIT_COUNT: usize = memory.data(<i32>MAX_NL_CLIENTS * 4, 4);
export let initTotal: u32 = 0;

/** The daemon is at `port` (never 0: that is the kernel). */
export function setDaemon(port: u32): void {
  pidState = PID_VALID;
  daemonPort = port;
}
export function setPidState(state: i32): void {
  pidState = state;
}
// @ts-ignore: decorator
@inline
export function daemonKnown(): bool {
  return pidState == PID_VALID;
}
export function setAbiVersion(v: u32): void {
  abiVersion = v;
}
export function setMaxVersion(v: u32): void {
  maxVersion = v;
}
export function setEchoSeq(seq: u32): void {
  echoSeq = seq;
}
export function setOwnPort(port: u32): void {
  ownPort = port;
}
export function setSocketFd(fd: u32): void {
  rx.fd = fd;
  tx.fd = fd;
}
export function setTimeoutMs(ms: u32): void {
  timeoutNs = <u64>ms * 1_000_000;
}
export function setLivenessMs(ms: u32): void {
  livenessNs = <u64>ms * 1_000_000;
}
export function setInitTotal(n: u32): void {
  initTotal = n;
}

/**
 * A fresh request sequence number. A user-space client starts at a random
 * point (the kernel starts at 1) so that a reply meant for an earlier
 * process on the same port is not taken for its own.
 */
export function takeSeq(): u32 {
  // Kept within 1..2^31-1 so a sequence number and a negative status share one i32 return.
  const seq = nextSeq;
  nextSeq = seq >= 0x7fffffff ? 1 : seq + 1;
  return seq;
}
export function seedSeq(first: u32): void {
  if (first != 0) nextSeq = first & 0x7fffffff;
  else if (random_get(SCRATCH, 4) == 0) nextSeq = (load<u32>(SCRATCH) & 0x3fffffff) + 1;
  if (nextSeq == 0) nextSeq = 1;
}
export function peekSeq(): u32 {
  return nextSeq;
}

export function registration(client: u32): u8 {
  return load<u8>(REGISTRATION + client);
}
export function setRegistration(client: u32, state: u8): void {
  store<u8>(REGISTRATION + client, state);
}
export function initCount(client: u32): u32 {
  return load<u32>(INIT_COUNT + (<usize>client << 2));
}
export function setInitCount(client: u32, n: u32): void {
  store<u32>(INIT_COUNT + (<usize>client << 2), n);
}
export function clientValid(client: u32): bool {
  return client < MAX_NL_CLIENTS && initCount(client) > 0;
}

/** Sends `len` bytes of TX at once, from where they were built. Returns OK or E_SEND_FAILED with the errno kept in lastErrno. */
export function sendTx(len: u32, port: u32, groups: u32): i32 {
  const errno = tx.send(TX, len, port, groups);
  if (errno != 0) {
    lastErrno = errno;
    return E_SEND_FAILED;
  }
  bump(STAT_TX_DATAGRAMS);
  return OK;
}

/**
 * Whether a process still holds netlink port `port`: a bare NLMSG_DONE (which a port mapper reads
 * as "nothing more in this datagram") is refused with ECONNREFUSED when nobody is bound there.
 */
export function probePort(port: u32): bool {
  const errno = tx.send(TX, buildBatchDone(TX, ownPort), port, 0);
  if (errno == 0) bump(STAT_TX_DATAGRAMS);
  return errno != <u32>ERRNO_CONNREFUSED;
}
