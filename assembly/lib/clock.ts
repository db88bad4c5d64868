import { clock_time_get, CLOCK_MONOTONIC } from "../bindings";

// The monotonic clock both roles read their deadlines from. Each core (client or daemon) links its
// own copy; a failed read yields 0, which only makes deadlines fire early, never late.

const NOW: usize = memory.data(8, 8);

export function nowNs(): u64 {
  return clock_time_get(CLOCK_MONOTONIC, 1000, NOW) == 0 ? load<u64>(NOW) : 0;
}
