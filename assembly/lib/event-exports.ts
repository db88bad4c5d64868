// The event queue as each core exports it (docs/abi.md "Events"): the host reads eventCount()
// records of eventSize() bytes from eventsPtr(), then calls eventsClear().

import { EVENT_SIZE, eventBase, eventCount as pending, eventsClear as clear } from "./events";

export function eventsPtr(): usize {
  return eventBase();
}
export function eventCount(): u32 {
  return pending();
}
export function eventSize(): u32 {
  return EVENT_SIZE;
}
export function eventsClear(): void {
  clear();
}
