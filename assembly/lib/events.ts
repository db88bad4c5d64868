import {
  EVENT_KIND,
  EVENT_NL_CLIENT,
  EVENT_SEQ,
  EVENT_SIZE,
  EVENT_SLOT_BASE,
  EVENT_SLOT_SIZE,
  EVENT_STATUS,
  EVENT_WORD_A,
  EVENT_WORD_B,
  EVENT_WORD_C,
  EVENT_WORD_OP,
  EVENT_WORD_PORT,
} from "../gen/events";
import { addrToSockaddr, SOCKADDR_SIZE } from "../iwpm/sockaddr";

// What a core tells its host, as fixed-size records in a growable array that the host drains after
// each call. Only the host's drain frees space, so nothing accepted is dropped here; a core stops
// reading datagrams while many events wait. The record is declared in build/protocol.mjs
// (EVENT_RECORD; docs/abi.md); each role declares its own kinds (CLIENT_EVENTS, SERVICE_EVENTS).
// The client core and the daemon core each link their own queue: nothing here knows either role.

export { EVENT_SIZE } from "../gen/events";

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
  store<u16>(e + EVENT_KIND, kind);
  store<u16>(e + EVENT_NL_CLIENT, <u16>client);
  store<i32>(e + EVENT_STATUS, status);
  store<u32>(e + EVENT_SEQ, seq);
  return e;
}

// @ts-ignore: decorator
@inline
export function setEventStatus(e: usize, status: i32): void {
  store<i32>(e + EVENT_STATUS, status);
}
// @ts-ignore: decorator
@inline
export function setEventOp(e: usize, op: u32): void {
  store<u32>(e + EVENT_WORD_OP, op);
}
// @ts-ignore: decorator
@inline
export function setEventValues(e: usize, a: u32, b: u32, c: u32): void {
  store<u32>(e + EVENT_WORD_A, a);
  store<u32>(e + EVENT_WORD_B, b);
  store<u32>(e + EVENT_WORD_C, c);
}
// @ts-ignore: decorator
@inline
export function setEventPort(e: usize, port: u32): void {
  store<u32>(e + EVENT_WORD_PORT, port);
}
/** Copies a message's sockaddr_storage into slot `n` as it is, all of it. */
// @ts-ignore: decorator
@inline
export function setEventAddr(e: usize, n: u32, sa: usize): void {
  memory.copy(e + EVENT_SLOT_BASE + <usize>n * EVENT_SLOT_SIZE, sa, SOCKADDR_SIZE);
}
/** Writes a table's compact address into slot `n` as the zero-filled sockaddr_storage the kernel would hold. */
// @ts-ignore: decorator
@inline
export function setEventKeyAddr(e: usize, n: u32, compact: usize): void {
  addrToSockaddr(e + EVENT_SLOT_BASE + <usize>n * EVENT_SLOT_SIZE, compact);
}
