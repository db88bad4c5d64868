import {
  type CoreIdentity,
  type CoreImports,
  type CoreKind,
  drainEventQueue,
  type EventQueueExports,
  instantiateKind,
} from "../core/core.js";
import { type MappingRecord, readMappingRecord } from "../gen/events.js";
import { CORE_ROLE_DAEMON, DAEMON_ABI_VERSION } from "../gen/protocol.js";
import { type AnyEvent, readAnyEvent } from "./events.js";

// The daemon core's exports (assembly/daemon.ts, docs/abi.md "Daemon core").

export { DAEMON_ABI_VERSION } from "../gen/protocol.js";

export const DAEMON_CORE: CoreKind = { role: CORE_ROLE_DAEMON, abi: DAEMON_ABI_VERSION, name: "daemon" };

export interface ServiceExports extends CoreIdentity, EventQueueExports {
  eventsPtr(): number;
  eventCount(): number;
  eventSize(): number;
  eventsClear(): void;
  serviceConfigure(fd: number, port: number, clientPort: number): void;
  serviceSetUdpSocket(slot: number, fd: number): void;
  serviceSetPeerPort(port: number): void;
  serviceStart(): number;
  servicePoll(): number;
  serviceSetTrust(mode: number, uid: number): number;
  serviceTick(): number;
  serviceNextTimeoutMs(): number;
  serviceStop(): number;
  serviceVersion(): number;
  serviceLastErrno(): number;
  serviceClientValid(nlClient: number): number;
  serviceExchangeCount(): number;
  serviceMappingCount(): number;
  serviceMappingFirst(): number;
  serviceMappingNext(i: number): number;
  serviceOutPtr(): number;
  serviceMappingRead(i: number): void;
  serviceSetMappingLimits(total: number, perPort: number): void;
  serviceSetQueryTicks(n: number): void;
  serviceDropReasons(): number;
  serviceDropCount(reason: number): number;
}

/** One daemon core instance. */
export class DaemonCore<E extends ServiceExports = ServiceExports> {
  constructor(readonly exports: E) {}

  /** A fresh view: memory.grow detaches earlier ones. */
  view(): DataView {
    return new DataView(this.exports.memory.buffer);
  }

  /** Reads and clears the events the last pass recorded. */
  drainEvents(): AnyEvent[] {
    return drainEventQueue(this.exports, this.view(), readAnyEvent);
  }

  /** The mapping table as the core keeps it, newest first (iwpmd's order). */
  mappingRecords(): MappingRecord[] {
    const x = this.exports;
    const out: MappingRecord[] = [];
    for (let i = x.serviceMappingFirst(); i !== 0; i = x.serviceMappingNext(i)) {
      x.serviceMappingRead(i);
      out.push(readMappingRecord(this.view(), x.serviceOutPtr()));
    }
    return out;
  }
}

/** Compiles and instantiates the daemon core (iwpmd.wasm) against a shim. */
export async function instantiateDaemonCore<E extends ServiceExports = ServiceExports>(
  source: BufferSource | WebAssembly.Module,
  shim: CoreImports,
): Promise<DaemonCore<E>> {
  return new DaemonCore(await instantiateKind<E>(source, shim, DAEMON_CORE));
}
