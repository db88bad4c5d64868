// The service's counters by name: the core's drop reasons (assembly/service/events.ts, same
// order) and the live table sizes, and the one-line form `iwpm serve --stats` prints.

import type { ServiceExports } from "./exports.js";

/** The core's drop reasons, in the order of its DROP_* indexes. */
export const DROP_REASONS = [
  "badFrame",
  "badVersion",
  "invalid",
  "notRegistered",
  "unknownOp",
  "portLimit",
  "totalLimit",
  "noPort",
  "peerMalformed",
  "peerUnmatched",
  "exchangeLimit",
  "peerTimeout",
  "sendFailed",
  "untrusted",
] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export interface ServiceStats {
  mappings: number;
  exchanges: number;
  drops: Record<DropReason, number>;
}

/** Reads every counter; throws when the core knows a different set of reasons than this host. */
export function readStats(x: ServiceExports): ServiceStats {
  const n = x.serviceDropReasons();
  if (n !== DROP_REASONS.length) {
    throw new Error(`the core counts ${n} drop reasons, this host names ${DROP_REASONS.length}: rebuild both from one checkout`);
  }
  const drops = {} as Record<DropReason, number>;
  for (const [i, name] of DROP_REASONS.entries()) drops[name] = x.serviceDropCount(i);
  return { mappings: x.serviceMappingCount(), exchanges: x.serviceExchangeCount(), drops };
}

/**
 * `mappings=3 exchanges=0 overruns=0 drops: badVersion=1 portLimit=12` (zero drop counters left
 * out). Overruns are the socket's, not the core's: datagrams the kernel dropped unread, which no
 * drop reason can count.
 */
export function formatStats(s: ServiceStats, overruns: number): string {
  const drops = DROP_REASONS.filter((r) => s.drops[r] !== 0).map((r) => `${r}=${s.drops[r]}`);
  return `mappings=${s.mappings} exchanges=${s.exchanges} overruns=${overruns} drops: ${drops.length === 0 ? "none" : drops.join(" ")}`;
}
