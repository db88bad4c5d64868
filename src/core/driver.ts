// The pass loop every host-side driver of a core runs, written once: read what the sockets hold,
// hand each event the core recorded to its owner, and keep one timer armed for the core's next
// deadline. PortMapperClient and PortMapperService both drive their core through it.

import { Reentrant } from "./reentrant.js";

/** What a driver needs of a core (the client's exports, or the service's). */
export interface DrivenCore<E> {
  /** Reads the sockets: 1 when it stopped early with more to read, 0 when drained, -errno (WASI) on failure. */
  poll(): number;
  /** The events recorded since the last drain, in order; clears them. */
  drain(): E[];
  /** Milliseconds until the core's next deadline; negative when it has none. */
  nextTimeoutMs(): number;
  /** Runs whatever is due (nothing when the timer fired early). */
  tick(): void;
}

export interface DriverHooks<E> {
  /** One event, in the order the core recorded them; may call pump() or close() again. */
  dispatch(event: E): void;
  /** The core's poll failed with this WASI errno; what arrived before it has been dispatched. */
  pollFailed?(wasiErrno: number): void;
}

/** Timers as the driver uses them; `set` must return a handle that does not keep the process alive. */
export interface DriverTimers {
  set(fire: () => void, ms: number): unknown;
  clear(handle: unknown): void;
  now(): number;
}

type HostTimer = ReturnType<typeof setTimeout>;

/**
 * Lets the process exit while the timer is pending: Node's timers are objects with unref(),
 * Deno's are numeric ids released through Deno.unrefTimer. A browser has neither and needs neither.
 */
export function unrefTimer(timer: unknown): void {
  if (typeof timer === "number") {
    (globalThis as { Deno?: { unrefTimer?(id: number): void } }).Deno?.unrefTimer?.(timer);
  } else if (typeof timer === "object" && timer !== null) {
    (timer as { unref?: () => void }).unref?.();
  }
}

/** The host's own timers, unref'd: a pending deadline alone never keeps the process alive. */
export const hostTimers: DriverTimers = {
  set(fire, ms) {
    const timer = setTimeout(fire, ms);
    unrefTimer(timer);
    return timer;
  },
  clear(handle) {
    clearTimeout(handle as HostTimer);
  },
  now: () => Date.now(),
};

export class Driver<E> {
  private readonly passes = new Reentrant();
  private timer: unknown;
  private armed = false;
  private timerAt = 0;
  private closed = false;

  constructor(
    private readonly core: DrivenCore<E>,
    private readonly hooks: DriverHooks<E>,
    private readonly timers: DriverTimers = hostTimers,
  ) {}

  /**
   * Runs passes until the core has nothing more to read, then arms the timer. A call from inside
   * a running pass (a listener calling into its owner) is folded into that pass: it repeats once
   * the current one ends, so events are never handled out of order.
   */
  pump(): void {
    if (this.closed) return;
    this.passes.run(() => this.pass());
  }

  /** Stops for good: no pass, dispatch or timer after this, even when called from inside dispatch. */
  close(): void {
    this.closed = true;
    this.disarm();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private pass(): void {
    try {
      for (;;) {
        if (this.closed) return;
        const r = this.core.poll();
        for (const event of this.core.drain()) {
          if (this.closed) return;
          this.hooks.dispatch(event);
        }
        if (this.closed) return;
        if (r === 1) continue;
        if (r < 0) this.hooks.pollFailed?.(-r);
        return;
      }
    } finally {
      this.arm();
    }
  }

  /** One timer, for the earliest deadline. */
  private arm(): void {
    if (this.closed) return;
    const ms = this.core.nextTimeoutMs();
    // No deadline left: an armed timer stays. Requests made one at a time leave the core without
    // a deadline between a reply and the next request, and clearing and setting a host timer for
    // every pair cost more than one early firing that finds nothing due and arms nothing.
    if (ms < 0) return;
    const at = this.timers.now() + ms;
    // An earlier timer stays: when it fires before the core's deadline, tick() finds nothing due
    // and the pass after it arms again.
    if (this.armed && this.timerAt <= at) return;
    this.disarm();
    this.armed = true;
    this.timerAt = at;
    this.timer = this.timers.set(() => this.expire(), ms);
  }

  private disarm(): void {
    if (this.armed) this.timers.clear(this.timer);
    this.armed = false;
    this.timer = undefined;
  }

  private expire(): void {
    this.armed = false;
    this.timer = undefined;
    if (this.closed) return;
    this.core.tick();
    this.pump();
  }
}
