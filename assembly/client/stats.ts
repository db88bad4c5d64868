import { STATUS_LIMIT } from "../status";

// Counters the host can read: one per status code (how many inbound messages
// were dropped for that reason), then traffic totals.
export const STAT_RX_DATAGRAMS: i32 = STATUS_LIMIT;
export const STAT_RX_MESSAGES: i32 = STATUS_LIMIT + 1;
export const STAT_TX_DATAGRAMS: i32 = STATUS_LIMIT + 2;
export const STAT_TX_MESSAGES: i32 = STATUS_LIMIT + 3;
export const STAT_DROPPED: i32 = STATUS_LIMIT + 4;
export const STAT_COUNT: i32 = STATUS_LIMIT + 5;

export const STATS: usize = memory.data(STAT_COUNT * 4, 4);

// @ts-ignore: decorator
@inline
export function bump(stat: i32): void {
  const p = STATS + (<usize>stat << 2);
  store<u32>(p, load<u32>(p) + 1);
}

/** Counts a dropped inbound message under its reason. */
export function drop(reason: i32): void {
  bump(reason);
  bump(STAT_DROPPED);
}

export function statsReset(): void {
  memory.fill(STATS, 0, STAT_COUNT * 4);
}
