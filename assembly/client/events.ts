import { addrToSockaddr } from "../iwpm/sockaddr";

// What the core tells its host, as fixed-size records in a growable array
// that the host drains after each call (layout in docs/abi.md). Only the
// host's drain frees space, so nothing accepted is dropped here; `poll`
// stops reading datagrams while many events wait.

export const EV_REQUEST_DONE: u16 = 1;
export const EV_REMOTE_INFO: u16 = 2;
export const EV_MAPPING_ERROR: u16 = 3;
export const EV_DAEMON_HELLO: u16 = 4;
export const EV_MAPINFO_REQUEST: u16 = 5;
export const EV_MAPINFO_SENT: u16 = 6;
export const EV_MAPINFO_ACK: u16 = 7;
/** The daemon refused a resent MAPINFO record (HANDLE_ERR naming its seq). */
export const EV_MAPINFO_REFUSED: u16 = 8;

const E_KIND: usize = 0;
const E_CLIENT: usize = 2;
const E_STATUS: usize = 4;
const E_SEQ: usize = 8;
const E_OP: usize = 12;
const E_A: usize = 16;
const E_B: usize = 20;
const E_C: usize = 24;
const E_PORT: usize = 28;
const E_ADDRS: usize = 32;
export const EVENT_SIZE: u32 = 32 + 4 * 128;
/** poll stops taking datagrams once this many events wait. */
export const EVENT_SOFT_LIMIT: u32 = 256;

let base: usize = 0;
let capacity: u32 = 0;
let count: u32 = 0;

export function eventCount(): u32 {
  return count;
}
export function eventBase(): usize {
  return base;
}
export function eventsClear(): void {
  count = 0;
}

/** Appends a zeroed event and returns its pointer; fill it before the next push. */
export function pushEvent(kind: u16, client: u32, status: i32, seq: u32): usize {
  if (count == capacity) {
    capacity = capacity == 0 ? 64 : capacity << 1;
    const bytes = <usize>capacity * EVENT_SIZE;
    base = base == 0 ? heap.alloc(bytes) : heap.realloc(base, bytes);
  }
  const e = base + <usize>count * EVENT_SIZE;
  count++;
  memory.fill(e, 0, EVENT_SIZE);
  store<u16>(e + E_KIND, kind);
  store<u16>(e + E_CLIENT, <u16>client);
  store<i32>(e + E_STATUS, status);
  store<u32>(e + E_SEQ, seq);
  return e;
}

// @ts-ignore: decorator
@inline
export function setEventStatus(e: usize, status: i32): void {
  store<i32>(e + E_STATUS, status);
}
// @ts-ignore: decorator
@inline
export function setEventOp(e: usize, op: u32): void {
  store<u32>(e + E_OP, op);
}
// @ts-ignore: decorator
@inline
export function setEventValues(e: usize, a: u32, b: u32, c: u32): void {
  store<u32>(e + E_A, a);
  store<u32>(e + E_B, b);
  store<u32>(e + E_C, c);
}
// @ts-ignore: decorator
@inline
export function setEventPort(e: usize, port: u32): void {
  store<u32>(e + E_PORT, port);
}
/** Copies a wire sockaddr_storage into address slot `n` (0..3). */
// @ts-ignore: decorator
@inline
export function setEventSockaddr(e: usize, n: u32, sockaddr: usize): void {
  memory.copy(e + E_ADDRS + <usize>n * 128, sockaddr, 128);
}
/** Writes a compact address into slot `n` as a sockaddr_storage. */
// @ts-ignore: decorator
@inline
export function setEventAddr(e: usize, n: u32, compact: usize): void {
  addrToSockaddr(e + E_ADDRS + <usize>n * 128, compact);
}
