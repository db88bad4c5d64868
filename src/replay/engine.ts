// A core client instance a capture is replayed on (assembly/client/replay.ts): its clock is the
// capture's, it trusts whoever the capture shows speaking, and whatever it would send itself is
// refused, so that only what the capture shows the client sending counts (and a daemon
// announcing itself from a new port finds its predecessor's port refusing the probe, as the
// capture shows it gone). Portable: no host I/O.

import { CLIENT_CORE, Core, type CoreExports, instantiateKindSync, TRUST_ANY } from "../core/core.js";
import { Errno } from "../core/errno.js";
import { IwpmError } from "../core/errors.js";
import type { CoreEvent } from "../core/events.js";
import { STATUS_LIMIT, TRAFFIC_STATS } from "../core/status.js";
import { createShim, type DatagramSocket, SocketMap } from "../host/shim.js";
import { CaptureClock } from "./capture-clock.js";

/** The replay exports of the core (assembly/client/replay.ts, docs/abi.md). */
export interface ReplayExports extends CoreExports {
  replaySent(len: number): number;
  replayReceived(len: number, port: number): number;
  frameDatagram(len: number): number;
  framesPtr(): number;
  framingStatus(): number;
}

const REPLAY_FD = 3;
/** Every nlClient index a message can name (6 bits of nlmsg_type). */
const NL_CLIENTS = 64;
/** The client's request timeout the replay applies (IWPM_NL_TIMEOUT). */
export const REPLAY_TIMEOUT_MS = 10_000;
const DROPPED = STATUS_LIMIT + TRAFFIC_STATS.indexOf("dropped");

/** Nothing the replay core sends reaches anyone. */
const refusingSocket: DatagramSocket = {
  sendTo: () => Errno.ECONNREFUSED,
  recvFrom: () => null,
};

let remembered: WebAssembly.Module | undefined;

/** The compiled core later replay engines are made from (loadDecoderCore hands it over). */
export function rememberCoreModule(module: WebAssembly.Module): void {
  remembered = module;
}

/** What the client did with one message it received. */
export interface Received {
  events: CoreEvent[];
  /** The status of every drop it counted (why it refused the message), in order of code. */
  drops: number[];
  /** The mapinfo record a completed ADD or QUERY created (0: none). */
  record: number;
}

export class ReplayEngine {
  private readonly core: Core;
  private readonly x: ReplayExports;
  private readonly clock = new CaptureClock();
  /** Each drop counter as last read. */
  private readonly drops: number[] = [];

  /** A fresh client from the compiled core (by default the one loadDecoderCore loaded). */
  constructor(module: WebAssembly.Module | undefined = remembered) {
    if (module === undefined) {
      throw new IwpmError("NOT_INITIALIZED", "no iwpm core is loaded for replay; call loadDecoderCore() first or pass the compiled core");
    }
    const shim = createShim({
      sockets: new SocketMap([[REPLAY_FD, refusingSocket]]),
      clock: this.clock,
      random: (b) => b.fill(0),
      log: () => {},
    });
    const x = instantiateKindSync<ReplayExports>(module, shim, CLIENT_CORE);
    this.x = x;
    this.core = new Core(x);
    x.setSocket(REPLAY_FD);
    // A capture carries no credentials to check.
    x.setTrust(TRUST_ANY, 0);
    x.setLivenessMs(0);
    x.setTimeoutMs(REPLAY_TIMEOUT_MS);
    for (let c = 0; c < NL_CLIENTS; c++) x.init(c);
    this.core.drainEvents();
  }

  /** Moves the clock to `seconds` of capture time and lets due requests time out. */
  advance(seconds: number): CoreEvent[] {
    this.clock.advance(seconds);
    if (this.x.tick() === 0) return [];
    return this.core.drainEvents();
  }

  /** A message the captured client sent: 0, a mapinfo record (> 0), or -status (assembly/client/replay.ts). */
  sent(bytes: Uint8Array): number {
    return this.x.replaySent(this.load(bytes));
  }

  /** A message the captured client received from netlink port `port`. */
  received(bytes: Uint8Array, port: number): Received {
    const len = this.load(bytes);
    const stats = this.x.statsPtr();
    const dropped = this.core.view().getUint32(stats + DROPPED * 4, true);
    const record = this.x.replayReceived(len, port >>> 0);
    const view = this.core.view();
    const drops: number[] = [];
    // The per-reason counters are read only when the total says one moved.
    if (view.getUint32(stats + DROPPED * 4, true) !== dropped) {
      for (let code = 0; code < STATUS_LIMIT; code++) {
        const now = view.getUint32(stats + code * 4, true);
        if (now !== (this.drops[code] ?? 0)) drops.push(code);
        this.drops[code] = now;
      }
    }
    return { events: this.core.drainEvents(), drops, record };
  }

  /** The daemon's port while one is known, else null. */
  daemonPort(): number | null {
    return this.x.pidState() === 1 ? this.x.daemonPort() >>> 0 : null;
  }

  version(): number {
    return this.x.negotiatedVersion();
  }

  private load(bytes: Uint8Array): number {
    const len = Math.min(bytes.length, this.x.rxCap());
    new Uint8Array(this.x.memory.buffer).set(bytes.subarray(0, len), this.x.rxPtr());
    return len;
  }
}
