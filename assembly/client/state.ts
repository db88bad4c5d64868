import { ERRNO_CONNREFUSED, random_get } from "../bindings";
import { buildBatchDone } from "../iwpm/messages";
import { RxArea, Sender, TxArea } from "../netlink/io";
import { TrustPolicy } from "../trust";
import { IWPM_UABI_VERSION, IWPM_UABI_VERSION_MIN, MAX_NL_CLIENTS } from "../iwpm/constants";
import { E_SEND_FAILED, OK } from "../status";
import { EVENT_STATUS, EVENT_WORD_C } from "../gen/events";
import { eventBase, eventCount, EVENT_SIZE } from "./events";
import { bump, STAT_TX_DATAGRAMS, STATS } from "./stats";

// The client's global state (reference §4.1, §4.2) and its I/O buffers.

export const PID_UNDEFINED: i32 = -1;
export const PID_UNAVAILABLE: i32 = -2;
export const PID_VALID: i32 = 1;

export const REG_UNDEF: u8 = 0x01;
export const REG_VALID: u8 = 0x02;
export const REG_INCOMPL: u8 = 0x04;

/** Send buffer outside a pass (an API call): one datagram as iwpmd reads it at most. */
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

/** Which word of its event a send's late failure is written to: the status, or value C. */
export const TAG_STATUS: u32 = 1;
export const TAG_VALUE_C: u32 = 2;
export let lastErrno: u32 = 0;

class ClientTx extends TxArea {
  /** A reply queued in a pass was not sent: its event says so and it is not counted as sent. */
  onFail(i: u32): void {
    lastErrno = this.errno(i);
    const p = STATS + (<usize>STAT_TX_DATAGRAMS << 2);
    store<u32>(p, load<u32>(p) - 1);
    const word = this.tag(i, 0);
    const event = this.tag(i, 1);
    if (word == 0 || event >= eventCount()) return;
    const e = eventBase() + <usize>event * EVENT_SIZE;
    store<i32>(e + (word == TAG_STATUS ? EVENT_STATUS : EVENT_WORD_C), E_SEND_FAILED);
  }
}

/** Replies built while a poll pass handles a batch leave together when it ends (io.ts TxArea). */
export const tx = new ClientTx(3, TX_CAP);
/** The sender of the datagram being handled. */
export const sender = new Sender();
/** Who may speak as the daemon (docs/api.md "Trust"). */
export const trust = new TrustPolicy();
export let timeoutNs: u64 = 10_000_000_000;
/** How long requests wait before the daemon's port is probed (0: never probed). */
export let livenessNs: u64 = 250_000_000;

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

/** Where the next datagram is built: a slot of the transmit area during a poll pass, else TX. */
export function txBuf(): usize {
  return tx.inPass() ? tx.next() : TX;
}

/**
 * Sends `len` bytes built at txBuf(): at once outside a pass, else when the pass ends. Returns OK
 * or E_SEND_FAILED with the errno kept in lastErrno. A queued datagram that fails later reports
 * E_SEND_FAILED in word `tag` (TAG_STATUS, TAG_VALUE_C; 0 none) of event `event`.
 */
export function sendTx(len: u32, port: u32, groups: u32, tag: u32 = 0, event: u32 = 0): i32 {
  const errno = tx.queue(txBuf(), len, port, groups, tag, event, 0);
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
  const at = txBuf();
  const errno = tx.sendNow(at, buildBatchDone(at, ownPort), port, 0);
  if (errno == 0) bump(STAT_TX_DATAGRAMS);
  return errno != <u32>ERRNO_CONNREFUSED;
}
