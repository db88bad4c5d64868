// The clock a replay core runs on: the capture's time, which only moves forward. Every replay
// engine (client, daemon, peer) gives its core one.

import type { Clock } from "../host/shim.js";

/** Capture time 0 sits this far from the clock's zero, so no deadline is computed below it. */
const ORIGIN_NS = 1_000_000_000n;

export class CaptureClock implements Clock {
  private ns = ORIGIN_NS;

  /** Moves to `seconds` of capture time; an earlier time (packets out of order) leaves it. */
  advance(seconds: number): void {
    const ns = ORIGIN_NS + BigInt(Math.round(seconds * 1e9));
    if (ns > this.ns) this.ns = ns;
  }

  monotonicNs(): bigint {
    return this.ns;
  }

  realtimeNs(): bigint {
    return this.ns;
  }
}
