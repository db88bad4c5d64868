import { RxArea, Sender, TxOne } from "../netlink/io";
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
export const STX: usize = memory.data(<i32>STX_CAP, 8);

export const svcRx = new RxArea(4, SRX_CAP);
const svcTx = new TxOne(4);
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

/** Sends `len` bytes of STX to netlink port `port` at once; returns the WASI errno (0 sent). */
export function svcSend(len: u32, port: u32): u32 {
  const errno = svcTx.send(STX, len, port, 0);
  if (errno != 0) svcLastErrno = errno;
  return errno;
}
