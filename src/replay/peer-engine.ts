// A daemon core instance a capture's peer (UDP 3935) datagrams are replayed on
// (assembly/daemon/replay.ts): the core reads each payload with the service's wire parser and
// pairs it with the exchange it belongs to; its events and drop counters are the verdicts. Its
// clock is the capture's; it has no sockets. Portable: no host I/O.

import { instantiateKindSync } from "../core/core.js";
import { IwpmError } from "../core/errors.js";
import type { SockAddr } from "../core/sockaddr.js";
import type { PeerSeenEvent, PeerUnfinishedEvent } from "../gen/events.js";
import { createShim, SocketMap } from "../host/shim.js";
import { DAEMON_CORE, DaemonCore, type ServiceExports } from "../service/exports.js";
import { DROP_REASONS } from "../service/stats.js";
import { CaptureClock } from "./capture-clock.js";

/** The replay exports of the daemon core (assembly/daemon/replay.ts, docs/abi.md). */
export interface PeerReplayExports extends ServiceExports {
  replayPeerPtr(): number;
  replayPeer(len: number): number;
  replayPeerEnd(): number;
}

/** Longest payload the core reads (iwpmd reads no more of a datagram). */
const PEER_READ_MAX = 64;
const MALFORMED = DROP_REASONS.indexOf("peerMalformed");
const UNMATCHED = DROP_REASONS.indexOf("peerUnmatched");

let remembered: WebAssembly.Module | undefined;

/** The compiled daemon core later peer replays are made from. */
export function rememberDaemonModule(module: WebAssembly.Module): void {
  remembered = module;
}

/** The daemon core loadDaemonCore remembered, if any. */
export function rememberedDaemonModule(): WebAssembly.Module | undefined {
  return remembered;
}

/** Compiles (if need be) and remembers the daemon core (iwpmd.wasm) for replaying peer captures. */
export async function loadDaemonCore(source: BufferSource | WebAssembly.Module): Promise<void> {
  rememberDaemonModule(source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source));
}

/** What the engine made of one peer datagram. */
export type PeerVerdict = { kind: "seen"; event: PeerSeenEvent } | { kind: "malformed" } | { kind: "unmatched" };

export class PeerEngine {
  private readonly core: DaemonCore<PeerReplayExports>;
  private readonly x: PeerReplayExports;
  private readonly clock = new CaptureClock();
  private malformed = 0;
  private unmatched = 0;

  /** A fresh instance of the compiled daemon core (by default the one loadDaemonCore remembered). */
  constructor(module: WebAssembly.Module | undefined = remembered) {
    if (module === undefined) {
      throw new IwpmError(
        "NOT_INITIALIZED",
        "no iwpm daemon core is loaded for replaying daemon-side captures and peer (UDP 3935) traffic; call loadDaemonCore() with iwpmd.wasm first",
      );
    }
    const shim = createShim({
      sockets: new SocketMap(),
      clock: this.clock,
      random: (b) => b.fill(0),
      log: () => {},
    });
    this.x = instantiateKindSync<PeerReplayExports>(module, shim, DAEMON_CORE);
    this.core = new DaemonCore(this.x);
  }

  /** The datagram's UDP payload at `seconds` of capture time. */
  datagram(seconds: number, payload: Uint8Array): PeerVerdict {
    this.clock.advance(seconds);
    const n = Math.min(payload.length, PEER_READ_MAX);
    new Uint8Array(this.x.memory.buffer, this.x.replayPeerPtr(), n).set(payload.subarray(0, n));
    this.x.replayPeer(payload.length);
    const events = this.core.drainEvents();
    const malformed = this.x.serviceDropCount(MALFORMED);
    const unmatched = this.x.serviceDropCount(UNMATCHED);
    const verdict: PeerVerdict =
      malformed !== this.malformed ? { kind: "malformed" } : unmatched !== this.unmatched ? { kind: "unmatched" } : seen(events);
    this.malformed = malformed;
    this.unmatched = unmatched;
    return verdict;
  }

  /** The capture ends at `seconds`: the exchanges still open, oldest first. */
  end(seconds: number): PeerUnfinishedEvent[] {
    this.clock.advance(seconds);
    this.x.replayPeerEnd();
    return this.core.drainEvents().filter((e): e is PeerUnfinishedEvent => e.kind === "peerUnfinished");
  }
}

function seen(events: readonly { kind: string }[]): PeerVerdict {
  const e = events.find((x): x is PeerSeenEvent => x.kind === "peerSeen");
  if (e === undefined) throw new IwpmError("INTERNAL", "the daemon core neither paired nor dropped a peer datagram");
  return { kind: "seen", event: e };
}

/** "10.0.0.1:5555" / "[fd77::1]:5555"; "" for no address. */
export function endpointText(a: SockAddr | null): string {
  if (a === null) return "";
  return a.family === "ipv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
