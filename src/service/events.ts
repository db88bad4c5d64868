import { readEvent } from "../core/events.js";
import { readServiceEvent, type ServiceEvent } from "../gen/events.js";

// Service event records, read from the core's event array: each kind's record is declared in
// build/protocol.mjs (SERVICE_EVENTS) and read by src/gen/events.ts; client kinds (1..7) are read
// by src/core/events.ts.

export {
  EV_SVC_CLIENT_REGISTERED,
  EV_SVC_HELLO,
  EV_SVC_MAPINFO_COUNT,
  EV_SVC_MAPPING_ADDED,
  EV_SVC_MAPPING_REMOVED,
  EV_SVC_PEER_REQUEST,
  EV_SVC_QUERY_DONE,
  EV_SVC_REQUEST_FAILED,
  type ServiceEvent,
} from "../gen/events.js";

export type AnyEvent = ServiceEvent | ReturnType<typeof readEvent>;

/** Reads one event record of either the service or the client. */
export function readAnyEvent(view: DataView, at: number): AnyEvent {
  return readServiceEvent(view, at) ?? readEvent(view, at);
}
