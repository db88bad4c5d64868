// The driver alone, over a fake core and fake timers: how passes fold, how close stops them, and
// which timer is armed. The timer's unref is checked on a real Node timer.

import { afterEach, describe, expect, it } from "vitest";
import { type DrivenCore, Driver, type DriverTimers, hostTimers, unrefTimer } from "../../src/core/driver.js";

/** A fake core: each poll() hands over the next scripted batch of events. */
class FakeCore implements DrivenCore<string> {
  /** Batches still to arrive; a poll returns 1 while more than one waits (the core stopped early). */
  batches: string[][] = [];
  pending: string[] = [];
  polls = 0;
  ticks = 0;
  deadlineMs = -1;
  /** Set while poll() runs: a second poll inside the first would be a nested pass. */
  polling = false;
  nested = false;
  pollResult: number | undefined;

  poll(): number {
    if (this.polling) this.nested = true;
    this.polling = true;
    this.polls++;
    this.pending.push(...(this.batches.shift() ?? []));
    this.polling = false;
    return this.pollResult ?? (this.batches.length > 0 ? 1 : 0);
  }
  drain(): string[] {
    return this.pending.splice(0);
  }
  nextTimeoutMs(): number {
    return this.deadlineMs;
  }
  tick(): void {
    this.ticks++;
  }
}

/** Fake timers on a fake clock: what was armed, what was cleared, and a way to fire one. */
class FakeTimers implements DriverTimers {
  clock = 1_000;
  next = 1;
  readonly live = new Map<number, { fire: () => void; at: number }>();
  readonly armed: number[] = [];
  cleared = 0;
  set(fire: () => void, ms: number): unknown {
    const id = this.next++;
    this.live.set(id, { fire, at: this.clock + ms });
    this.armed.push(ms);
    return id;
  }
  clear(handle: unknown): void {
    this.cleared++;
    this.live.delete(handle as number);
  }
  now(): number {
    return this.clock;
  }
  /** The deadlines of the timers still armed. */
  deadlines(): number[] {
    return [...this.live.values()].map((t) => t.at);
  }
  fireAll(): void {
    const due = [...this.live.entries()];
    this.live.clear();
    for (const [, t] of due) {
      this.clock = Math.max(this.clock, t.at);
      t.fire();
    }
  }
}

function drive(core: FakeCore, dispatch: (ev: string, driver: Driver<string>) => void, timers = new FakeTimers()) {
  const seen: string[] = [];
  const failures: number[] = [];
  const driver: Driver<string> = new Driver(
    core,
    {
      dispatch: (ev) => {
        seen.push(ev);
        dispatch(ev, driver);
      },
      pollFailed: (errno) => failures.push(errno),
    },
    timers,
  );
  return { driver, seen, failures, timers };
}

describe("Driver", () => {
  it("dispatches every event of every batch in order, polling until the core is drained", () => {
    const core = new FakeCore();
    core.batches = [["a", "b"], ["c"], ["d"]];
    const { driver, seen } = drive(core, () => {});
    driver.pump();
    expect(seen).toEqual(["a", "b", "c", "d"]);
    expect(core.polls).toBe(3);
  });

  it("folds a pump called from inside dispatch into the running pass, which then repeats", () => {
    const core = new FakeCore();
    core.batches = [["first"]];
    const { driver, seen } = drive(core, (ev, d) => {
      // A listener that calls into its owner, which pumps; the datagram it caused is queued.
      if (ev === "first") {
        core.batches.push(["caused"]);
        d.pump();
        expect(seen).toEqual(["first"]);
      }
    });
    driver.pump();
    expect(core.nested).toBe(false);
    expect(seen).toEqual(["first", "caused"]);
  });

  it("stops at close() from inside dispatch: no further event, poll or timer", () => {
    const core = new FakeCore();
    core.batches = [["a", "b", "c"], ["d"]];
    core.deadlineMs = 500;
    const { driver, seen, timers } = drive(core, (ev, d) => {
      if (ev === "a") d.close();
    });
    driver.pump();
    expect(seen).toEqual(["a"]);
    expect(core.polls).toBe(1);
    expect(timers.armed).toEqual([]);
    driver.pump();
    expect(core.polls).toBe(1);
    expect(driver.isClosed).toBe(true);
  });

  it("clears an armed timer at close, and a timer that fires after close does nothing", () => {
    const core = new FakeCore();
    core.deadlineMs = 500;
    const timers = new FakeTimers();
    const { driver } = drive(core, () => {}, timers);
    driver.pump();
    expect(timers.deadlines()).toEqual([1_500]);
    const armed = [...timers.live.values()][0];
    driver.close();
    expect(timers.live.size).toBe(0);
    expect(armed).toBeDefined();
    armed?.fire();
    expect(core.ticks).toBe(0);
    expect(core.polls).toBe(1);
  });

  it("keeps one timer, re-armed to the earliest deadline", () => {
    const core = new FakeCore();
    const { driver, timers } = drive(core, () => {});
    core.deadlineMs = 5_000;
    driver.pump();
    expect(timers.deadlines()).toEqual([6_000]);
    // An earlier deadline replaces the timer.
    core.deadlineMs = 1_000;
    driver.pump();
    expect(timers.deadlines()).toEqual([2_000]);
    // A later one leaves the earlier timer: it fires first, finds nothing due, and re-arms.
    core.deadlineMs = 3_000;
    driver.pump();
    expect(timers.deadlines()).toEqual([2_000]);
    timers.fireAll();
    expect(core.ticks).toBe(1);
    expect(timers.deadlines()).toEqual([2_000 + 3_000]);
    // No deadline left: the armed timer stays for the next request; firing, it ticks and arms none.
    const cleared = timers.cleared;
    core.deadlineMs = -1;
    driver.pump();
    expect(timers.deadlines()).toEqual([5_000]);
    expect(timers.cleared).toBe(cleared);
    timers.fireAll();
    expect(core.ticks).toBe(2);
    expect(timers.live.size).toBe(0);
  });

  it("sets no timer per request while requests come and go one at a time", () => {
    const core = new FakeCore();
    const { driver, timers } = drive(core, () => {});
    for (let i = 0; i < 3; i++) {
      core.deadlineMs = 1_000;
      driver.pump();
      core.deadlineMs = -1;
      driver.pump();
    }
    expect(timers.deadlines()).toEqual([2_000]);
    expect(timers.armed).toEqual([1_000]);
    expect(timers.cleared).toBe(0);
  });

  it("ticks the core when the timer fires and dispatches what the tick produced", () => {
    const core = new FakeCore();
    core.deadlineMs = 100;
    const { driver, seen, timers } = drive(core, () => {});
    driver.pump();
    core.tick = () => {
      core.ticks++;
      core.pending.push("expired");
      core.deadlineMs = -1;
    };
    timers.fireAll();
    expect(core.ticks).toBe(1);
    expect(seen).toEqual(["expired"]);
    expect(timers.live.size).toBe(0);
  });

  it("reports a failed poll after dispatching what arrived before it, and still arms", () => {
    const core = new FakeCore();
    core.batches = [["before"]];
    core.pollResult = -29;
    core.deadlineMs = 10;
    const { driver, seen, failures, timers } = drive(core, () => {});
    driver.pump();
    expect(seen).toEqual(["before"]);
    expect(failures).toEqual([29]);
    expect(timers.live.size).toBe(1);
  });

  it("arms again after a dispatch that throws, so pending deadlines still expire", () => {
    const core = new FakeCore();
    core.batches = [["boom"]];
    core.deadlineMs = 10;
    const { driver, timers } = drive(core, () => {
      throw new Error("listener bug");
    });
    expect(() => driver.pump()).toThrow("listener bug");
    expect(timers.live.size).toBe(1);
    // The pass is over: the next pump runs.
    core.batches = [["next"]];
    expect(() => driver.pump()).toThrow("listener bug");
    expect(core.polls).toBe(2);
  });
});

/** Timers that keep Node's event loop alive. */
const keepingAlive = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("the host's timers", () => {
  const started: unknown[] = [];
  afterEach(() => {
    for (const t of started.splice(0)) hostTimers.clear(t);
    delete (globalThis as { Deno?: unknown }).Deno;
  });

  it("never keep Node's event loop alive", () => {
    const timer = hostTimers.set(() => {}, 60_000) as NodeJS.Timeout;
    started.push(timer);
    expect(timer.hasRef()).toBe(false);
  });

  it("release Deno's numeric timer ids through Deno.unrefTimer", () => {
    const released: number[] = [];
    (globalThis as { Deno?: unknown }).Deno = { unrefTimer: (id: number) => released.push(id) };
    unrefTimer(42);
    expect(released).toEqual([42]);
  });

  it("are what a driver arms by default: armed and firing, yet not keeping Node alive", async () => {
    const core = new FakeCore();
    core.deadlineMs = 1;
    const ticked = new Promise<void>((resolve) => {
      core.tick = () => {
        core.deadlineMs = -1;
        resolve();
      };
    });
    const driver = new Driver(core, { dispatch: () => {} });
    const before = keepingAlive();
    driver.pump();
    expect(keepingAlive()).toBe(before);
    await ticked;
    expect(core.polls).toBe(2);
    driver.close();
  });
});
