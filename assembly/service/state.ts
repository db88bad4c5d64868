import { eventBase, eventCount, EVENT_SIZE } from "../lib/events";
import { EV_SVC_QUERY_DONE, EV_SVC_QUERY_DONE_ERRNO, EV_SVC_REQUEST_FAILED_ERRNO, EVENT_KIND, EVENT_STATUS } from "../gen/events";
import { RxArea, Sender, TxArea } from "../netlink/io";
import { E_SEND_FAILED } from "../status";
import { NIL } from "../tables/slab";
import { emitMappingRemoved, emitRequestFailed } from "./events";
import { mappingDrop, mappingHandle, mappingLocal, mappingMapped, mappingOwner, mappingRefs, mappingSetRefs } from "./mappings";
import { releasePort } from "./ports";
import { TrustPolicy } from "../trust";
import { IWPM_UABI_VERSION, MAX_NL_CLIENTS } from "../iwpm/constants";

// The port mapper service's own state (reference §5.1, §5.2), apart from the
// client's so that one core can run both: its netlink socket and port, the
// port its unsolicited messages go to, the ABI version in use, and per client
// index the registration, the library name and the header seq counter.

/** iwpmd reads one datagram of at most 4096 + 16 bytes; the rest of a longer one is lost. */
export const SRX_CAP: u32 = 4112;
/** Where the host feeds one datagram by hand (replay, tests). */
export const SRX: usize = memory.data(<i32>SRX_CAP, 8);
/** The largest message the service builds is a 560-byte QUERY reply. */
export const STX_CAP: u32 = 1024;
/** Where a datagram is built outside a pass (start-up, timers, datagrams fed by hand). */
const STX: usize = memory.data(<i32>STX_CAP, 8);

export const svcRx = new RxArea(4, SRX_CAP);
/** The sender of the datagram being handled. */
export const svcSender = new Sender();
/** Who may speak as a client (docs/api.md "Trust"); the kernel (port 0) always may. */
export const svcTrust = new TrustPolicy();

/** Our netlink port id, written as nlmsg_pid (iwpmd: its pid). */
export let svcPort: u32 = 0;
/** Where HELLO, MAPINFO requests, REMOTE_INFO and HANDLE_ERR go (iwpmd: 0, the kernel). */
export let svcClientPort: u32 = 0;
/** iwpmd's iwpm_version: 4 until a HELLO or an NLMSG_ERROR says otherwise. */
export let svcVersion: u32 = IWPM_UABI_VERSION;
export let svcLastErrno: u32 = 0;

// Per client index: valid u8 at +0, library name char[32] at +4, header seq u32 at +36,
// accepted MAPINFO records u32 at +40.
const CLIENT_SIZE: usize = 44;
const CLIENTS: usize = memory.data(<i32>(MAX_NL_CLIENTS * <u32>CLIENT_SIZE), 4);

// @ts-ignore: decorator
@inline
function client(i: u32): usize {
  return CLIENTS + <usize>i * CLIENT_SIZE;
}

export function svcConfigure(fd: u32, port: u32, clientPort: u32): void {
  svcRx.fd = fd;
  svcTx.fd = fd;
  svcPort = port;
  svcClientPort = clientPort;
}
export function svcSetVersion(v: u32): void {
  svcVersion = v;
}

export function clientRegistered(i: u32): bool {
  return load<u8>(client(i)) != 0;
}
export function clientUlib(i: u32): usize {
  return client(i) + 4;
}
/** First registration: remember the library name (NUL padded) and mark the index valid. */
export function registerClient(i: u32, ulib: usize, len: u32): void {
  memory.fill(clientUlib(i), 0, 32);
  memory.copy(clientUlib(i), ulib, min(len, 31));
  store<u8>(client(i), 1);
}

/**
 * The header seq of the next message built for index `i`: a counter per index
 * from 0, as iwpmd's create_iwpm_nlmsg keeps it (index 0 always gets 0).
 */
export function takeClientSeq(i: u32): u32 {
  if (i == 0) return 0;
  const p = client(i) + 36;
  const seq = load<u32>(p);
  store<u32>(p, seq + 1);
  return seq;
}
export function peekClientSeq(i: u32): u32 {
  return i == 0 ? 0 : load<u32>(client(i) + 36);
}

export function mapinfoAccepted(i: u32): u32 {
  return load<u32>(client(i) + 40);
}
export function countMapinfo(i: u32): void {
  store<u32>(client(i) + 40, mapinfoAccepted(i) + 1);
}

/** Where the next datagram is built: a slot of the transmit area during a pass, else STX. */
export function svcBuf(): usize {
  return svcTx.inPass() ? svcTx.next() : STX;
}

// What a send that fails after its pass (tag word 0, low byte) does besides keeping svcLastErrno:
/** Nothing more (HELLO, MAPINFO requests, REMOTE_INFO: iwpmd does not look either). */
export const ON_FAIL_QUIET: u32 = 0;
/** A requestFailed event (client and op in word 0, request seq in word 1); a mapping (word 2) is given back. */
export const ON_FAIL_REQUEST: u32 = 1;
/**
 * The errno is written into a requestFailed or queryDone event pushed after the send; word 1 says
 * which, as an offset from the next event when the send is made (0: the next one).
 */
export const ON_FAIL_EVENT_ERRNO: u32 = 2;
/** The status of an event pushed after the send (word 1 as for ON_FAIL_EVENT_ERRNO) becomes SEND_FAILED. */
export const ON_FAIL_EVENT_STATUS: u32 = 3;

/** Tag word 0 for ON_FAIL_REQUEST. */
export function failRequest(client: u32, op: u32): u32 {
  return ON_FAIL_REQUEST | (client << 8) | (op << 16);
}

/**
 * Sends `len` bytes built at svcBuf() to netlink port `port`: at once outside a pass (the WASI
 * errno, 0 sent), else when the pass ends (0; a failure is then handled by the tag, above).
 */
export function svcSend(len: u32, port: u32, kind: u32 = ON_FAIL_QUIET, b: u32 = 0, c: u32 = NIL): u32 {
  // The event index is taken here, after the datagram was built: building may have flushed a full
  // area, whose failures push events of their own.
  const event = kind == ON_FAIL_EVENT_ERRNO || kind == ON_FAIL_EVENT_STATUS ? eventCount() + b : b;
  const errno = svcTx.queue(svcBuf(), len, port, 0, kind, event, c);
  if (errno != 0) svcLastErrno = errno;
  return errno;
}

/** Drops one reference of mapping `m`; the last one closes its port and unlists it. The references left. */
export function unrefMapping(m: u32): u32 {
  const refs = mappingRefs(m) - 1;
  if (refs != 0) {
    mappingSetRefs(m, refs);
    return refs;
  }
  releasePort(mappingHandle(m));
  mappingDrop(m);
  return 0;
}

class ServiceTx extends TxArea {
    onFail(i: u32): void {
    const errno = this.errno(i);
    svcLastErrno = errno;
    const a = this.tag(i, 0);
    const kind = a & 0xff;
    const b = this.tag(i, 1);
    if (kind == ON_FAIL_REQUEST) {
      const client = (a >> 8) & 0xff;
      const m = this.tag(i, 2);
      // iwpmd lists a new mapping only once its reply went out: the reference it took is given back.
      if (m != NIL) {
        emitMappingRemoved(mappingOwner(m), b, mappingRefs(m) - 1, mappingLocal(m), mappingMapped(m));
        unrefMapping(m);
      }
      emitRequestFailed(client, E_SEND_FAILED, b, a >> 16, this.port(i), false, errno);
      return;
    }
    if ((kind != ON_FAIL_EVENT_ERRNO && kind != ON_FAIL_EVENT_STATUS) || b >= eventCount()) return;
    const e = eventBase() + <usize>b * EVENT_SIZE;
    if (kind == ON_FAIL_EVENT_STATUS) store<i32>(e + EVENT_STATUS, E_SEND_FAILED);
    else store<u32>(e + (load<u16>(e + EVENT_KIND) == EV_SVC_QUERY_DONE ? EV_SVC_QUERY_DONE_ERRNO : EV_SVC_REQUEST_FAILED_ERRNO), errno);
  }
}

/** The answers to one poll pass leave together when it ends (io.ts TxArea). */
export const svcTx = new ServiceTx(4, STX_CAP);
