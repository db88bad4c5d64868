// The client core for tests (build/core/iwpm.debug.wasm): every release export, and what only a
// test needs: table self-checks, a peek at the next sequence number, pending requests, counters reset,
// a lower bound on every table.

import { peekSeq } from "./client/state";
import { statsReset } from "./client/stats";
import { mapinfoCheck } from "./tables/mapinfo";
import { remoteInfoCheck } from "./tables/remote-info";
import { requestCount as pendingCount } from "./tables/requests";
import { setRecordBound } from "./tables/slab";

export * from "./client";

/** 0 when the mapinfo table's index and lists agree, else the first broken invariant. */
export function mapinfoVerify(): i32 {
  return mapinfoCheck();
}
/** As mapinfoVerify, for the remote-info table. */
export function remoteInfoVerify(): i32 {
  return remoteInfoCheck();
}
/** The sequence number the next request will carry. */
export function nextSeq(): u32 {
  return peekSeq();
}
export function requestCount(): u32 {
  return pendingCount();
}
export function resetStats(): void {
  statsReset();
}
/** Every table refuses records past `n` (TABLE_FULL), as it does past 16,777,214 in a release core. */
export function setTableBound(n: u32): void {
  setRecordBound(n);
}
