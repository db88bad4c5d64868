// A daemon core instance a daemon-side capture's netlink messages can be replayed on: what the
// capture shows the daemon receiving goes through the service's own handlers, on the capture's
// clock, so its mapping table and its per-reason drops are the service's verdict. Nothing leaves
// it: whatever it answers is swallowed (the capture shows what the recorded daemon answered), and
// its port reservations succeed without touching the network (the port asked for, else the next
// ephemeral one: the mapped addresses the timeline shows come from the capture's replies). A
// QUERY's peer request goes nowhere; its outcome is what the capture's reply says. Portable: no
// host I/O.

import { instantiateKindSync, TRUST_ANY } from "../core/core.js";
import { Errno } from "../core/errno.js";
import { IwpmError } from "../core/errors.js";
import type { MappingRecord } from "../gen/events.js";
import { createShim, type Datagram, type DatagramSocket, type PortReserver, SocketMap } from "../host/shim.js";
import type { AnyEvent } from "../service/events.js";
import { DAEMON_CORE, DaemonCore, type ServiceExports } from "../service/exports.js";
import { DROP_REASONS, type DropReason } from "../service/stats.js";
import { CaptureClock } from "./capture-clock.js";
import { rememberedDaemonModule } from "./peer-engine.js";

const REPLAY_FD = 3;
/** Where ports the capture does not name are taken from (the kernel's default ephemeral range). */
const EPHEMERAL_FIRST = 32768;

/** What the service did with one message it received. */
export interface DaemonReceived {
  events: AnyEvent[];
  /** The reasons of the drops it counted, in DROP_REASONS order. */
  drops: DropReason[];
}

export class DaemonReplayEngine {
  private readonly core: DaemonCore;
  private readonly x: ServiceExports;
  private readonly clock = new CaptureClock();
  private readonly queue: Datagram[] = [];
  private readonly drops: number[] = [];
  private ephemeral = EPHEMERAL_FIRST;
  private handles = 0;

  /** A fresh instance of the compiled daemon core (by default the one loadDaemonCore remembered). */
  constructor(module: WebAssembly.Module | undefined = rememberedDaemonModule()) {
    if (module === undefined) {
      throw new IwpmError(
        "NOT_INITIALIZED",
        "replaying a daemon-side capture needs the iwpm daemon core; call loadDaemonCore() with iwpmd.wasm first",
      );
    }
    const socket: DatagramSocket = {
      sendTo: () => Errno.SUCCESS,
      recvFrom: () => this.queue.shift() ?? null,
    };
    const ports: PortReserver = {
      reserve: (_family, port) => ({ errno: Errno.SUCCESS, handle: ++this.handles, port: port !== 0 ? port : this.ephemeral++ }),
      close: () => Errno.SUCCESS,
    };
    const shim = createShim({
      sockets: new SocketMap([[REPLAY_FD, socket]]),
      ports,
      clock: this.clock,
      random: (b) => b.fill(0),
      log: () => {},
    });
    this.x = instantiateKindSync<ServiceExports>(module, shim, DAEMON_CORE);
    this.core = new DaemonCore(this.x);
    this.x.serviceConfigure(REPLAY_FD, 0, 0);
    // A capture carries no credentials to check.
    this.x.serviceSetTrust(TRUST_ANY, 0);
  }

  /** A message the captured daemon received from netlink port `port` at `seconds` of capture time. */
  received(seconds: number, bytes: Uint8Array, port: number): DaemonReceived {
    this.clock.advance(seconds);
    this.queue.push({ bytes: bytes.slice(), port, groups: 0 });
    this.x.servicePoll();
    const drops: DropReason[] = [];
    DROP_REASONS.forEach((reason, i) => {
      const n = this.x.serviceDropCount(i);
      if (n !== (this.drops[i] ?? 0)) drops.push(reason);
      this.drops[i] = n;
    });
    return { events: this.core.drainEvents(), drops };
  }

  /** The service's mappings, newest first. */
  mappings(): MappingRecord[] {
    return this.core.mappingRecords();
  }
}
