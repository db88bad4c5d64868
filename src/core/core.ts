import { CLIENT_ABI_VERSION, CORE_ROLE_CLIENT } from "../gen/protocol.js";
import { CORE_FILES, type CoreName } from "./core-files.js";
import { IwpmError } from "./errors.js";
import { type CoreEvent, readEvent } from "./events.js";
import { parseIPv4Number } from "./ip.js";
import {
  type ParsedSockAddr,
  readSockaddr,
  SOCKADDR_SIZE,
  type SockAddr,
  writeParsedSockaddr,
  writeSockaddr,
  writeSockaddrV4,
} from "./sockaddr.js";
import { STATUS_LIMIT, TRAFFIC_STATS } from "./status.js";

/** The client core's ABI this host code speaks (build/protocol.mjs CORES). */
export const CORE_ABI_VERSION = CLIENT_ABI_VERSION;

/** What every core exports, whatever its role. */
export interface CoreIdentity {
  memory: WebAssembly.Memory;
  coreAbiVersion(): number;
  coreRole(): number;
}

/** Which core a host expects: its role, the ABI version it speaks, and its name for messages. */
export interface CoreKind {
  role: number;
  abi: number;
  name: CoreName;
}

export const CLIENT_CORE: CoreKind = { role: CORE_ROLE_CLIENT, abi: CORE_ABI_VERSION, name: "client" };

/** The client core's exports (assembly/client.ts); all integers, pointers are offsets into `memory`. */
export interface CoreExports extends CoreIdentity {
  argsPtr(): number;
  rxPtr(): number;
  rxCap(): number;
  eventsPtr(): number;
  eventCount(): number;
  eventSize(): number;
  eventsClear(): void;
  statsPtr(): number;
  setPort(port: number): void;
  setSocket(fd: number): void;
  setTimeoutMs(ms: number): void;
  setLivenessMs(ms: number): void;
  setMaxVersion(version: number): number;
  setRemoteInfoLimit(n: number): void;
  seedSequence(first: number): void;
  setTrust(mode: number, uid: number): number;
  unverifiedCount(): number;
  pidState(): number;
  daemonPort(): number;
  validPid(): number;
  negotiatedVersion(): number;
  registration(nlClient: number): number;
  echoSeq(): number;
  lastErrno(): number;
  init(nlClient: number): number;
  exit(nlClient: number): number;
  registerPid(nlClient: number): number;
  addMapping(nlClient: number, flags: number): number;
  addAndQueryMapping(nlClient: number, flags: number): number;
  removeMapping(nlClient: number): number;
  getRemoteInfo(nlClient: number): number;
  createMapinfo(nlClient: number, flags: number): number;
  removeMapinfo(): number;
  poll(): number;
  handleRx(len: number, port: number): void;
  tick(): number;
  nextTimeoutMs(): number;
  mapinfoSize(): number;
  mapinfoHead(): number;
  mapinfoAfter(i: number): number;
  mapinfoRead(i: number): number;
  mapinfoFind(by: number): number;
  mapinfoOwner(i: number): number;
  remoteInfoSize(): number;
  codecPtr(): number;
  codecCap(): number;
  decodedPtr(): number;
  decode(len: number, dir: number, version: number): number;
  encode(dir: number, version: number): number;
}

export interface MapinfoRecord {
  nlClient: number;
  local: SockAddr;
  mapped: SockAddr;
  flags: number;
}

/** Trust modes of setTrust / serviceSetTrust (assembly/trust.ts). */
export const TRUST_UID = 0;
export const TRUST_ANY = 1;
export const TRUST_HOST = 2;

const ARG_DEVNAME = 512;
const ARG_IFNAME = 544;

/** The event queue every core exports (the client's and the daemon's, each its own). */
export interface EventQueueExports {
  eventCount(): number;
  eventsPtr(): number;
  eventSize(): number;
  eventsClear(): void;
}

/** Reads and clears a core's recorded events with `read`, which knows that core's kinds. */
export function drainEventQueue<E>(
  x: EventQueueExports,
  view: DataView,
  read: (view: DataView, at: number) => E,
  size: number = x.eventSize(),
): E[] {
  const n = x.eventCount();
  if (n === 0) return [];
  const base = x.eventsPtr();
  const out: E[] = [];
  for (let i = 0; i < n; i++) out.push(read(view, base + i * size));
  x.eventsClear();
  return out;
}

/** What instantiating a core needs of a host's shim (src/host/shim.ts makes one). */
export interface CoreImports {
  readonly imports: WebAssembly.Imports;
  /** Given the core's exported memory right after instantiation. */
  bind(memory: WebAssembly.Memory): void;
}

/**
 * Compiles and instantiates a core against a shim, refusing the other role's core and a core of
 * another ABI version.
 */
export async function instantiateKind<E extends CoreIdentity>(
  source: BufferSource | WebAssembly.Module,
  shim: CoreImports,
  kind: CoreKind,
): Promise<E> {
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source);
  return checked<E>(await WebAssembly.instantiate(module, shim.imports), shim, kind);
}

/** instantiateKind for an already compiled module, at once (the replay makes one per capture). */
export function instantiateKindSync<E extends CoreIdentity>(module: WebAssembly.Module, shim: CoreImports, kind: CoreKind): E {
  return checked<E>(new WebAssembly.Instance(module, shim.imports), shim, kind);
}

function checked<E extends CoreIdentity>(instance: WebAssembly.Instance, shim: CoreImports, kind: CoreKind): E {
  const exports = instance.exports as unknown as E;
  shim.bind(exports.memory);
  const file = CORE_FILES[kind.name];
  if (typeof exports.coreRole !== "function" || exports.coreRole() !== kind.role) {
    throw new IwpmError(
      "ABI_MISMATCH",
      `this is not the iwpm ${kind.name} core; load ${file} (\`npm run build\` builds it in build/core/)`,
    );
  }
  const found = exports.coreAbiVersion();
  if (found !== kind.abi) {
    throw new IwpmError(
      "ABI_MISMATCH",
      `the iwpm ${kind.name} core (${file}) speaks ABI ${found} but this host expects ${kind.abi}; rebuild the core with \`npm run build\` or install matching package versions`,
    );
  }
  return exports;
}

/** Compiles and instantiates the client core (iwpm.wasm) against a shim. */
export async function instantiateCore<E extends CoreExports = CoreExports>(
  source: BufferSource | WebAssembly.Module,
  shim: CoreImports,
): Promise<Core<E>> {
  return new Core(await instantiateKind<E>(source, shim, CLIENT_CORE));
}

/** Typed access to one client core instance: argument slots, events, tables and counters. */
export class Core<E extends CoreExports = CoreExports> {
  /** The argument slots and the event record size never move or change: asked once, not per call. */
  private readonly argsAt: number;
  private readonly eventSize: number;
  private viewed: ArrayBuffer;
  private dataView: DataView;

  constructor(readonly exports: E) {
    this.argsAt = exports.argsPtr();
    this.eventSize = exports.eventSize();
    this.viewed = exports.memory.buffer;
    this.dataView = new DataView(this.viewed);
  }

  /**
   * A view of the current memory: memory.grow detaches earlier buffers (their byteLength reads 0
   * then), so a new one is made then. Only then is memory.buffer asked: that getter cost more than
   * writing an IPv4 argument.
   */
  view(): DataView {
    if (this.viewed.byteLength === 0) {
      this.viewed = this.exports.memory.buffer;
      this.dataView = new DataView(this.viewed);
    }
    return this.dataView;
  }

  bytes(): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer);
  }

  writeAddr(slot: number, addr: SockAddr): void {
    writeSockaddr(this.view(), this.argsAt + slot * SOCKADDR_SIZE, addr);
  }

  /** Writes an address parsed at the API edge into argument slot `slot`, from its bytes. */
  writeParsedAddr(slot: number, parsed: ParsedSockAddr): void {
    writeParsedSockaddr(this.view(), this.argsAt + slot * SOCKADDR_SIZE, parsed);
  }

  /**
   * Writes the IPv4 address of dotted-quad `text` (up to `end`) and `port` (checked by the caller)
   * into argument slot `slot`; false, writing nothing, when the text is not a dotted quad.
   */
  writeTextV4(slot: number, text: string, end: number, port: number): boolean {
    const v4 = parseIPv4Number(text, end);
    if (v4 < 0) return false;
    writeSockaddrV4(this.view(), this.argsAt + slot * SOCKADDR_SIZE, v4, port);
    return true;
  }

  readAddr(slot: number): SockAddr | null {
    return readSockaddr(this.view(), this.argsAt + slot * SOCKADDR_SIZE);
  }

  /** Writes the NUL-padded device (32) and netdev (16) names; false when either is too long. */
  writeNames(devName: string, ifName: string): boolean {
    const enc = new TextEncoder();
    const dev = enc.encode(devName);
    const ifn = enc.encode(ifName);
    if (dev.length > 31 || ifn.length > 15) return false;
    const args = this.argsAt;
    const mem = this.bytes();
    mem.fill(0, args + ARG_DEVNAME, args + ARG_IFNAME + 16);
    mem.set(dev, args + ARG_DEVNAME);
    mem.set(ifn, args + ARG_IFNAME);
    return true;
  }

  /** The daemon's port when one is known, else the kernel's pid state: -1 undefined, -2 unavailable. */
  daemonPid(): number {
    const state = this.exports.pidState();
    return state === 1 ? this.exports.daemonPort() >>> 0 : state;
  }

  /** Reads and clears the events the last calls produced. */
  drainEvents(): CoreEvent[] {
    return drainEventQueue(this.exports, this.view(), readEvent, this.eventSize);
  }

  /** Hands a datagram to the core as if it had arrived on the socket. */
  feed(datagram: Uint8Array, port: number): void {
    const len = Math.min(datagram.length, this.exports.rxCap());
    this.bytes().set(datagram.subarray(0, len), this.exports.rxPtr());
    this.exports.handleRx(len, port);
  }

  /** Per-reason drop counters (by status name) and traffic totals. */
  stats(): {
    drops: Record<number, number>;
    rxDatagrams: number;
    rxMessages: number;
    txDatagrams: number;
    txMessages: number;
    dropped: number;
  } {
    const view = this.view();
    const base = this.exports.statsPtr();
    const drops: Record<number, number> = {};
    for (let code = 0; code < STATUS_LIMIT; code++) {
      const n = view.getUint32(base + code * 4, true);
      if (n !== 0) drops[code] = n;
    }
    const total = (i: number) => view.getUint32(base + (STATUS_LIMIT + i) * 4, true);
    const [rxDatagrams, rxMessages, txDatagrams, txMessages, dropped] = TRAFFIC_STATS.map((_, i) => total(i)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    return { drops, rxDatagrams, rxMessages, txDatagrams, txMessages, dropped };
  }

  /** Every mapinfo record in creation order. */
  mapinfo(): MapinfoRecord[] {
    const out: MapinfoRecord[] = [];
    for (let i = this.exports.mapinfoHead(); i !== 0; i = this.exports.mapinfoAfter(i)) {
      const flags = this.exports.mapinfoRead(i);
      const local = this.readAddr(0);
      const mapped = this.readAddr(1);
      if (local === null || mapped === null) throw new Error("mapinfo record with an unknown address family");
      out.push({ nlClient: this.exports.mapinfoOwner(i), local, mapped, flags });
    }
    return out;
  }
}
