// The core's status codes with a name a program can switch on and a hint a person can act on,
// generated from the protocol description (build/protocol.mjs).

import { STATUS, type StatusInfo } from "../gen/protocol.js";

export { STATUS_LIMIT, Status, type StatusInfo } from "../gen/protocol.js";

export function statusInfo(code: number): StatusInfo {
  return STATUS[code] ?? { name: `STATUS_${code}`, hint: "unknown status code" };
}

/** Names of the counters after the per-status drop counters (assembly/client/stats.ts). */
export const TRAFFIC_STATS = ["rxDatagrams", "rxMessages", "txDatagrams", "txMessages", "dropped"] as const;
