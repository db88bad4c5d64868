// The client's events: its kinds (build/protocol.mjs CLIENT_EVENTS, docs/abi.md), whose fields sit
// on the words the queue's setters write, and the client core's own event queue.

export {
  EV_DAEMON_HELLO,
  EV_MAPINFO_ACK,
  EV_MAPINFO_REFUSED,
  EV_MAPINFO_REQUEST,
  EV_MAPINFO_SENT,
  EV_MAPPING_ERROR,
  EV_REMOTE_INFO,
  EV_REQUEST_DONE,
} from "../gen/events";
export {
  EVENT_SIZE,
  EVENT_SOFT_LIMIT,
  eventBase,
  eventCount,
  eventsClear,
  pushEvent,
  setEventAddr,
  setEventKeyAddr,
  setEventOp,
  setEventPort,
  setEventStatus,
  setEventValues,
} from "../lib/events";
