// PortMapperClient: the seed API of include/rdma/iw_portmap.h over the core, one method per
// function (reference §7), asynchronous where the kernel waits for a reply. Portable: it takes
// its socket from the host as a transport and imports nothing host-specific, so every host
// (Node, Deno, browsers, tests with a fake socket) uses this same class.

import { type Core, type MapinfoRecord, TRUST_ANY, TRUST_HOST, TRUST_UID } from "../core/core.js";
import { Driver } from "../core/driver.js";
import { describeErrno, errorFromStatus, IwpmError } from "../core/errors.js";
import type { CoreEvent } from "../core/events.js";
import type { SockAddr } from "../core/sockaddr.js";
import { STATUS_LIMIT, Status, statusInfo } from "../core/status.js";
import type { NetlinkSocket } from "../host/shim.js";
import { type AddressInput, formatAddress, parseSockAddr, plainPort, plainText, plainTextEnd } from "./address.js";
import { IWPM_FLAGS_NO_PORT_MAP, IWPM_GROUP_MASK, IWPM_NL_TIMEOUT_MS, MAX_NL_CLIENTS, RDMA_NL_IWCM } from "./constants.js";
import { TypedEmitter } from "./emitter.js";

/** The socket a host gives the client, with the means to close it and to (un)pin the event loop. */
export interface PortMapperTransport {
  socket: NetlinkSocket;
  /** The netlink port id the socket is bound to; sent as `nlmsg_pid` so replies come back. */
  port: number;
  /**
   * Whether a socket of the transport's protocol other than this one has joined a group of
   * `groupMask` in this network namespace; undefined (or absent) where the host cannot see, and
   * registerPid then waits for its timeout.
   */
  groupHasMember?(groupMask: number): boolean | undefined;
  close(): void;
  ref?(): void;
  unref?(): void;
}

export interface PortMapperClientOptions {
  /** Request timeout in ms (default 10 000, the kernel's IWPM_NL_TIMEOUT). */
  timeoutMs?: number;
  /**
   * After requests have waited this long (ms, default 250), the client checks that the port
   * mapper's netlink port is still held; when it is not, every pending request fails at once with
   * DAEMON_GONE instead of waiting for its timeout. 0 turns the check off.
   */
  livenessMs?: number;
  /**
   * After a restarted port mapper asks for the mapping records, register each client index again
   * with the device names it last registered with (default true), as the kernel's users would
   * have to; the `resynced` event tells when that and the records' resend are done.
   */
  autoRegister?: boolean;
  /** Highest ABI version spoken (default 4); 3 answers HELLO as a v3 kernel, so iwpmd falls back. */
  abiVersion?: 3 | 4;
  /** Bound of the remote-info table (default 65 536). */
  remoteInfoLimit?: number;
  /** Client indexes to init() at once (default [2], RDMA_NL_IWCM; [] for none). */
  init?: number[];
  /** The fd the host's shim serves the transport's socket under (default 3). */
  fd?: number;
  /** First request sequence number (default 0: a random start, so stale replies are not taken for ours). */
  firstSeq?: number;
  /**
   * Who may speak as the port mapper, judged by the kernel-attested credentials of each datagram
   * (docs/api.md "Trust"): only processes of this uid (default 0, root, as iwpmd runs), or "any"
   * to check nothing. A `trustDaemon` check given to the host's opener takes precedence.
   */
  daemonUid?: number | "any";
  /** The host's shim was given a trustDaemon check: the core asks it about every new sender. */
  hostTrust?: boolean;
}

export interface DeviceNames {
  /** RDMA device name, at most 31 bytes (e.g. "siw0"). */
  devName: string;
  /** Network interface name, at most 15 bytes (e.g. "eth0"). */
  ifName: string;
}

export interface ClientIndexOption {
  /** Netlink client index 0..63 (default 2, RDMA_NL_IWCM). */
  nlClient?: number;
}

/** What every call that waits for the port mapper takes besides its own options. */
export interface AwaitOptions {
  /** Rejects the call with ABORTED when it fires; a reply that comes later is ignored (and counted). */
  signal?: AbortSignal;
  /** This call's timeout in ms (default: the client's timeoutMs). */
  timeoutMs?: number;
}

export interface RegisterOptions extends ClientIndexOption, AwaitOptions {}

export interface MappingOptions extends ClientIndexOption {
  /** Raw mapping flags (ABI v4 only). */
  flags?: number;
  /** Adds IWPM_FLAGS_NO_PORT_MAP: the daemon keeps the local port and reserves nothing. */
  noPortMap?: boolean;
}

export interface MappingCallOptions extends MappingOptions, AwaitOptions {}

export interface RegisterResult {
  /** False when no port mapper is available (the pid is "unavailable": nothing was sent). */
  registered: boolean;
  /** The negotiated ABI version (3 or 4). */
  abiVersion: number;
}

export interface MappingResult {
  local: SockAddr;
  mappedLocal: SockAddr;
}

export interface QueryResult {
  local: SockAddr;
  remote: SockAddr;
  mappedLocal: SockAddr;
  mappedRemote: SockAddr;
}

export type Registration = "NONE" | "UNDEF" | "VALID" | "INCOMPL";

export interface RemoteInfoEvent {
  nlClient: number;
  /** The listener's local address. */
  local: SockAddr;
  /** The connecting peer's real (unmapped) address. */
  remote: SockAddr;
  mappedLocal: SockAddr;
  mappedRemote: SockAddr;
}

export interface MappingErrorEvent {
  nlClient: number;
  /** The IWPM_* code (11, 12, …) for a request-less error, e.g. a rejected mapinfo record. */
  code: number;
  name: string;
  /** The daemon's port. */
  port: number;
}

export interface DaemonHelloEvent {
  nlClient: number;
  /** The version now negotiated. */
  version: number;
  /** The version the daemon offered. */
  offered: number;
  /** The daemon's port. */
  port: number;
  /** Answered as a v3 kernel (abiVersion 3): iwpmd falls back to v3. */
  answeredAsV3: boolean;
  /** 0, or the status of a reply that could not be sent or a refused offer. */
  status: number;
}

export interface MapinfoRequestEvent {
  nlClient: number;
  port: number;
  version: number;
}

export interface MapinfoResentEvent {
  nlClient: number;
  records: number;
  datagrams: number;
  /** 0, or the status that stopped the resend (SEND_FAILED 125). */
  status: number;
  port: number;
}

export interface MapinfoAckEvent {
  nlClient: number;
  sent: number;
  /** Records the daemon accepted since it started (cumulative per client index). */
  acked: number;
  port: number;
}

/** The daemon refused one resent mapping record; the records it did not read after it were sent again. */
export interface MapinfoRefusedEvent {
  nlClient: number;
  local: SockAddr;
  mapped: SockAddr;
  flags: number;
  /** The IWPM_* code (11: the mapped port could not be reserved again, …) and its name. */
  code: number;
  name: string;
  /** Records behind it in its datagram, which the daemon did not read, sent again. */
  resent: number;
  /** 0, or the status that stopped sending them again (SEND_FAILED 125). */
  resendStatus: number;
  port: number;
}

/** A restarted port mapper has the records (as far as it took them) and, with autoRegister, the registration. */
export interface ResyncedEvent {
  nlClient: number;
  /** The new port mapper's port. */
  port: number;
  /** Records resent, and the daemon's count of records it accepted (cumulative since it started). */
  sent: number;
  acked: number;
  /** Records it refused (each also a mapinfoRefused event) and records sent a second time behind them. */
  refused: number;
  resent: number;
  /** The index is registered with the new daemon (false: no names to register with, or it failed). */
  registered: boolean;
  /** Why registering again failed, when it did. */
  error?: IwpmError;
}

interface Resync {
  port: number;
  sent: number;
  acked: number;
  refused: number;
  resent: number;
  recordsDone: boolean;
  registration: "pending" | "done" | "failed" | "none";
  error?: IwpmError;
}

export interface PortMapperEvents {
  remoteInfo: RemoteInfoEvent;
  mappingError: MappingErrorEvent;
  daemonHello: DaemonHelloEvent;
  mapinfoRequest: MapinfoRequestEvent;
  mapinfoResent: MapinfoResentEvent;
  mapinfoAck: MapinfoAckEvent;
  mapinfoRefused: MapinfoRefusedEvent;
  resynced: ResyncedEvent;
  /**
   * The kernel dropped datagrams for this socket while the process was busy (a receive-queue
   * overrun); the socket keeps working. Replies lost this way end in TIMEOUT; raise
   * recvBufferSize if it happens under normal load.
   */
  overrun: { total: number };
  /** Host-side failures (socket errors, host exceptions). */
  error: Error;
}

export interface ClientStats {
  /** Inbound messages dropped, by reason (status name). */
  drops: Record<string, number>;
  rxDatagrams: number;
  rxMessages: number;
  txDatagrams: number;
  txMessages: number;
  dropped: number;
  /** Requests waiting for a reply. */
  pending: number;
  /** Remote-info entries not consumed yet. */
  remoteInfo: number;
  /** Mapinfo records held for replay. */
  mapinfo: number;
  /** Host errors reported (also emitted as "error"). */
  hostErrors: number;
  /** Receive-queue overruns the socket reported (also emitted as "overrun"). */
  overruns: number;
  /** Daemon messages taken from senders nobody attested (daemonUid "any" on a host without credentials). */
  unverified: number;
  /** Replies that arrived for calls their caller had aborted (ignored). */
  abortedReplies: number;
}

type RequestDone = Extract<CoreEvent, { kind: "requestDone" }>;

/** A call waiting for a request's outcome. */
interface Waiter {
  /** The call, for its errors; a request's own errors name its first caller's. */
  readonly what: Label;
  resolve(done: RequestDone): void;
  reject(err: IwpmError): void;
}

/**
 * What a call was, for its error messages: kept as the parsed addresses and formatted only when an
 * error is made (`${label}`), so a call that succeeds builds no text.
 */
class CallLabel {
  constructor(
    private readonly op: string,
    private readonly a: SockAddr,
    private readonly b?: SockAddr,
  ) {}
  toString(): string {
    return this.b === undefined ? `${this.op}(${formatAddress(this.a)})` : `${this.op}(${formatAddress(this.a)}, ${formatAddress(this.b)})`;
  }
}

/** The label of a call whose address arguments were already checked (so they parse). */
function label(op: string, a: AddressInput, b?: AddressInput): CallLabel {
  return new CallLabel(op, parseSockAddr(a).addr, b === undefined ? undefined : parseSockAddr(b).addr);
}

/** A call's label: text, or a CallLabel formatted on demand. */
type Label = string | CallLabel;

/** A request several calls wait for (a coalesced registerPid), named by its first caller's label. */
class SharedRequest {
  readonly waiters = new Set<Waiter>();
  constructor(readonly what: Label) {}
}

/**
 * A request in flight, on the TypeScript side: its one waiter, which is all a request has in the
 * common case, or the waiters of a shared one.
 */
type Pending = Waiter | SharedRequest;

const REG_UNDEF = 1;
const REG_VALID = 2;
const REG_INCOMPL = 4;
const PID_UNAVAILABLE = -2;
const U32_MAX = 0xffff_ffff;
/** The core keeps deadlines as i32 milliseconds. */
const TIMEOUT_MAX_MS = 0x7fff_ffff;
/** The default liveness interval: far below the 10 s timeout, far above a loaded daemon's reply time. */
const LIVENESS_MS = 250;

export class PortMapperClient extends TypedEmitter<PortMapperEvents> {
  private readonly pending = new Map<number, Pending>();
  /** Requests every caller aborted: their replies are ignored and counted. */
  private readonly abandoned = new Set<number>();
  /** The REG_PID in flight per client index, which concurrent registerPid calls share. */
  private readonly registering = new Map<number, number>();
  private readonly autoRegister: boolean;
  /** The names each client index last registered with, to register again after a daemon restart. */
  private readonly lastNames = new Map<number, DeviceNames>();
  /** Per client index: the resync with a restarted daemon under way. */
  private readonly resyncs = new Map<number, Resync>();
  private readonly timeoutMs: number;
  private abortedReplies = 0;
  private readonly driver: Driver<CoreEvent>;
  private closed = false;
  private hostErrors = 0;
  private overruns = 0;

  constructor(
    /** The core this client drives; exposed for diagnostics. */
    readonly core: Core,
    private readonly transport: PortMapperTransport,
    options: PortMapperClientOptions = {},
  ) {
    super();
    const o = optionsObject<PortMapperClientOptions>(options, "PortMapperClient");
    const x = core.exports;
    this.driver = new Driver<CoreEvent>(
      { poll: () => x.poll(), drain: () => core.drainEvents(), nextTimeoutMs: () => x.nextTimeoutMs(), tick: () => x.tick() },
      { dispatch: (ev) => this.dispatch(ev), pollFailed: (wasiErrno) => this.receiveFailed(wasiErrno) },
    );
    x.setSocket(integerOption(o.fd, "PortMapperClient", "fd", 0, U32_MAX, 3));
    x.setPort(transport.port >>> 0);
    x.seedSequence(integerOption(o.firstSeq, "PortMapperClient", "firstSeq", 0, U32_MAX, 0));
    this.timeoutMs = integerOption(o.timeoutMs, "PortMapperClient", "timeoutMs", 1, TIMEOUT_MAX_MS, IWPM_NL_TIMEOUT_MS);
    x.setTimeoutMs(this.timeoutMs);
    x.setLivenessMs(integerOption(o.livenessMs, "PortMapperClient", "livenessMs", 0, TIMEOUT_MAX_MS, LIVENESS_MS));
    if (o.autoRegister !== undefined && typeof o.autoRegister !== "boolean") {
      throw new IwpmError("INVALID_ARGUMENT", `PortMapperClient: autoRegister ${show(o.autoRegister)} is not a boolean`);
    }
    this.autoRegister = o.autoRegister ?? true;
    const version = o.abiVersion ?? 4;
    if (version !== 3 && version !== 4) {
      throw new IwpmError("INVALID_ARGUMENT", `PortMapperClient: abiVersion ${show(version)} is neither 3 nor 4`);
    }
    x.setMaxVersion(version);
    if (o.remoteInfoLimit !== undefined) {
      x.setRemoteInfoLimit(integerOption(o.remoteInfoLimit, "PortMapperClient", "remoteInfoLimit", 0, U32_MAX, 0));
    }
    const init = o.init ?? [RDMA_NL_IWCM];
    if (!Array.isArray(init)) {
      throw new IwpmError("INVALID_ARGUMENT", `PortMapperClient: init ${show(init)} is not an array of client indexes`);
    }
    const uid = o.daemonUid ?? 0;
    const trust = uid === "any" ? TRUST_ANY : TRUST_UID;
    const trustUid = uid === "any" ? 0 : integerOption(uid, "PortMapperClient", "daemonUid", 0, U32_MAX, 0);
    x.setTrust(o.hostTrust === true ? TRUST_HOST : trust, trustUid);
    for (const nlClient of init) this.init(nlClient);
    // Datagrams may have been queued before the client existed.
    this.pump();
  }

  // --- iw_portmap.h ----------------------------------------------------------------------

  /** iwpm_init: one more user of client index `nlClient` (refcounted); sets it UNDEF. */
  init(nlClient: number = RDMA_NL_IWCM): void {
    this.open("init");
    const c = this.index(nlClient, "init");
    const r = this.core.exports.init(c);
    this.pump();
    if (r < 0) throw errorFromStatus(-r, `init(${c})`);
  }

  /**
   * iwpm_exit: drops one init of `nlClient`; the last one fails its pending requests
   * (code CLOSED) and, once no index is left, frees the mapinfo and remote-info tables.
   */
  exit(nlClient: number = RDMA_NL_IWCM): void {
    this.open("exit");
    const c = this.index(nlClient, "exit");
    const r = this.core.exports.exit(c);
    this.pump();
    if (r < 0) throw errorFromStatus(-r, `exit(${c})`);
  }

  /** iwpm_valid_pid: whether a port mapper's port is known. */
  validPid(): boolean {
    return !this.closed && this.core.exports.validPid() === 1;
  }

  /** The port mapper's netlink port, or null when none is known. */
  daemonPid(): number | null {
    const pid = this.core.daemonPid();
    return pid > 0 ? pid : null;
  }

  /** The negotiated ABI version: 3 until a daemon announced or confirmed 4. */
  abiVersion(): number {
    return this.core.exports.negotiatedVersion();
  }

  /** Registration state of `nlClient`: INCOMPL after a daemon (re)start, until registerPid. */
  registration(nlClient: number = RDMA_NL_IWCM): Registration {
    this.open("registration");
    const c = this.index(nlClient, "registration");
    const r = this.core.exports.registration(c);
    return r === REG_VALID ? "VALID" : r === REG_INCOMPL ? "INCOMPL" : r === REG_UNDEF ? "UNDEF" : "NONE";
  }

  /**
   * iwpm_register_pid: announces this client to the port mappers' multicast group and waits
   * for one to answer. Resolves at once with `registered: true` when already VALID, and with
   * `registered: false` when the port mapper is unavailable (the kernel's rule: nothing is
   * sent until a daemon announces itself with HELLO or a MAPINFO request). Concurrent calls for
   * one client index share one REG_PID (the first call's names and timeout) and its outcome.
   */
  async registerPid(names: DeviceNames, opts?: RegisterOptions): Promise<RegisterResult> {
    this.open("registerPid");
    const o = optionsObject<RegisterOptions>(opts, "registerPid");
    const c = this.index(o.nlClient, "registerPid");
    const call = this.awaitOptions(o, "registerPid");
    const named = typeof names === "object" && names !== null;
    const what = `registerPid(${safeName(named ? names.devName : names)}, ${safeName(named ? names.ifName : undefined)})`;
    if (!named || typeof names.devName !== "string" || typeof names.ifName !== "string") {
      throw new IwpmError("INVALID_ARGUMENT", `${what}: pass { devName, ifName } as strings`);
    }
    if (names.devName.length === 0 || !this.core.writeNames(names.devName, names.ifName)) {
      throw new IwpmError(
        "INVALID_ARGUMENT",
        `${what}: devName must be 1..31 bytes and ifName at most 15 bytes (UTF-8), as in struct iwpm_dev_data`,
      );
    }
    checkNotAborted(call.signal, what);
    const shared = this.registering.get(c);
    const used: DeviceNames = { devName: names.devName, ifName: names.ifName };
    if (shared !== undefined) {
      const done = await this.await(shared, what, call.signal);
      this.lastNames.set(c, used);
      return { registered: true, abiVersion: done.abiVersion };
    }
    const x = this.core.exports;
    // With no daemon known the request is multicast, which succeeds even when nobody listens.
    if (x.validPid() !== 1 && this.core.daemonPid() !== PID_UNAVAILABLE && this.transport.groupHasMember?.(IWPM_GROUP_MASK) === false) {
      throw new IwpmError(
        "DAEMON_UNAVAILABLE",
        `${what}: no port mapper listens (no other netlink socket of this protocol has joined the port mappers' group in this network namespace); start iwpmd or \`iwpm serve\`, then call registerPid() again`,
      );
    }
    const r = this.withTimeout(call.timeoutMs, () => x.registerPid(c));
    if (r <= 0) {
      this.pump();
      if (r < 0) throw this.syncError(-r, what);
      const registered = x.registration(c) === REG_VALID;
      if (!registered && this.core.daemonPid() !== PID_UNAVAILABLE) {
        throw new IwpmError("INTERNAL", `${what}: the core neither sent a request nor holds a registration`);
      }
      if (registered) this.lastNames.set(c, used);
      return { registered, abiVersion: x.negotiatedVersion() };
    }
    this.registering.set(c, r);
    const done = await this.await(r, what, call.signal);
    this.lastNames.set(c, used);
    return { registered: true, abiVersion: done.abiVersion };
  }

  /** iwpm_add_mapping: asks the port mapper for a mapped address for `local`. */
  async addMapping(local: AddressInput, opts?: MappingCallOptions): Promise<MappingResult> {
    this.open("addMapping");
    const o = optionsObject<MappingCallOptions>(opts, "addMapping");
    const c = this.index(o.nlClient, "addMapping");
    const parsed = parseSockAddr(local);
    const addr = parsed.addr;
    const flags = this.flags(o, "addMapping");
    const call = this.awaitOptions(o, "addMapping");
    const what = new CallLabel("addMapping", addr);
    checkNotAborted(call.signal, what);
    this.core.writeParsedAddr(0, parsed);
    const r =
      call.timeoutMs === this.timeoutMs
        ? this.core.exports.addMapping(c, flags)
        : this.withTimeout(call.timeoutMs, () => this.core.exports.addMapping(c, flags));
    if (r <= 0) {
      this.pump();
      if (r < 0) throw this.syncError(-r, what);
      // Nothing sent (the kernel's "no daemon" answer): the address stays unmapped.
      return { local: addr, mappedLocal: addr };
    }
    const done = await this.await(r, what, call.signal);
    return { local: addr, mappedLocal: mustAddr(done.mappedLocal, what) };
  }

  /** iwpm_add_and_query_mapping: maps `local` and asks the remote port mapper for `remote`'s mapping. */
  async addAndQueryMapping(local: AddressInput, remote: AddressInput, opts?: MappingCallOptions): Promise<QueryResult> {
    this.open("addAndQueryMapping");
    const o = optionsObject<MappingCallOptions>(opts, "addAndQueryMapping");
    const c = this.index(o.nlClient, "addAndQueryMapping");
    const parsedLoc = parseSockAddr(local);
    const parsedRem = parseSockAddr(remote);
    const loc = parsedLoc.addr;
    const rem = parsedRem.addr;
    const flags = this.flags(o, "addAndQueryMapping");
    const call = this.awaitOptions(o, "addAndQueryMapping");
    const what = new CallLabel("addAndQueryMapping", loc, rem);
    // The remote port mapper answers in the family it was asked in; iwpmd would refuse the pair.
    if (loc.family !== rem.family) {
      throw new IwpmError("INVALID_ARGUMENT", `${what}: local and remote must both be IPv4 or both IPv6`);
    }
    checkNotAborted(call.signal, what);
    this.core.writeParsedAddr(0, parsedLoc);
    this.core.writeParsedAddr(1, parsedRem);
    const r = this.withTimeout(call.timeoutMs, () => this.core.exports.addAndQueryMapping(c, flags));
    if (r <= 0) {
      this.pump();
      if (r < 0) throw this.syncError(-r, what);
      return { local: loc, remote: rem, mappedLocal: loc, mappedRemote: rem };
    }
    const done = await this.await(r, what, call.signal);
    return {
      local: loc,
      remote: rem,
      mappedLocal: mustAddr(done.mappedLocal, what),
      mappedRemote: mustAddr(done.mappedRemote, what),
    };
  }

  /** iwpm_remove_mapping: tells the port mapper to release `local`'s mapping (no reply exists). */
  removeMapping(local: AddressInput, opts?: ClientIndexOption): void {
    this.open("removeMapping");
    const c = this.index(optionsObject<ClientIndexOption>(opts, "removeMapping").nlClient, "removeMapping");
    this.putAddr(0, local);
    // No reply and no event comes of it, and sending reads nothing: there is nothing to drive.
    const r = this.core.exports.removeMapping(c);
    if (r < 0) throw this.syncError(-r, label("removeMapping", local));
  }

  /**
   * iwpm_get_remote_info: the connecting peer's real address for a connection that reached
   * `mappedLocal` from `mappedRemote`, as the daemon announced it (remoteInfo event). One-shot:
   * the entry is consumed; null when none is stored.
   */
  getRemoteInfo(mappedLocal: AddressInput, mappedRemote: AddressInput, opts?: ClientIndexOption): SockAddr | null {
    this.open("getRemoteInfo");
    const c = this.index(optionsObject<ClientIndexOption>(opts, "getRemoteInfo").nlClient, "getRemoteInfo");
    this.putAddrs(mappedLocal, mappedRemote);
    const r = this.core.exports.getRemoteInfo(c);
    if (r === -Status.NOT_FOUND) return null;
    if (r < 0) throw this.syncError(-r, label("getRemoteInfo", mappedLocal, mappedRemote));
    const out = this.core.readAddr(2);
    if (out === null) throw new IwpmError("INTERNAL", "getRemoteInfo: the core returned an address of an unknown family");
    return out;
  }

  /**
   * iwpm_create_mapinfo: records `local` → `mapped` for replay to a restarted port mapper.
   * Record every mapping in use, including unmapped ones (mapped equal to local).
   */
  createMapinfo(local: AddressInput, mapped: AddressInput, opts?: MappingOptions): void {
    this.open("createMapinfo");
    const o = optionsObject<MappingOptions>(opts, "createMapinfo");
    const c = this.index(o.nlClient, "createMapinfo");
    this.putAddrs(local, mapped);
    const flags = this.flags(o, "createMapinfo");
    const r = this.core.exports.createMapinfo(c, flags);
    if (r < 0) throw this.syncError(-r, label("createMapinfo", local, mapped));
  }

  /**
   * iwpm_remove_mapinfo: deletes the newest record of `local` → `mapped` (both must match, as the
   * kernel's bucket for the pair holds no other); false if none.
   */
  removeMapinfo(local: AddressInput, mapped: AddressInput): boolean {
    this.open("removeMapinfo");
    this.putAddrs(local, mapped);
    const r = this.core.exports.removeMapinfo();
    if (r === -Status.NOT_FOUND) return false;
    if (r < 0) throw this.syncError(-r, label("removeMapinfo", local, mapped));
    return true;
  }

  /** Every mapinfo record, in creation order. */
  mapinfo(): MapinfoRecord[] {
    return this.core.mapinfo();
  }

  /** Counters: drops by reason, traffic, table sizes, pending requests. */
  stats(): ClientStats {
    const s = this.core.stats();
    const drops: Record<string, number> = {};
    for (const [code, n] of Object.entries(s.drops)) {
      const status = Number(code);
      if (status < STATUS_LIMIT) drops[statusInfo(status).name] = n;
    }
    const x = this.core.exports;
    return {
      drops,
      rxDatagrams: s.rxDatagrams,
      rxMessages: s.rxMessages,
      txDatagrams: s.txDatagrams,
      txMessages: s.txMessages,
      dropped: s.dropped,
      pending: this.pending.size,
      remoteInfo: x.remoteInfoSize(),
      mapinfo: x.mapinfoSize(),
      hostErrors: this.hostErrors,
      overruns: this.overruns,
      unverified: x.unverifiedCount(),
      abortedReplies: this.abortedReplies,
    };
  }

  /** Lets the process exit while the client is open (its socket no longer pins the event loop). */
  unref(): this {
    if (!this.closed) this.transport.unref?.();
    return this;
  }

  /** Pins the event loop again while the client is open (the default). */
  ref(): this {
    if (!this.closed) this.transport.ref?.();
    return this;
  }

  /** This client's netlink port id (`nlmsg_pid` of its requests). */
  get port(): number {
    return this.transport.port;
  }

  /** Whether close() was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Rejects every pending request with CLOSED, stops the timer and closes the socket. Mappings
   * stay with the port mapper: remove them first if they should not outlive the client.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.driver.close();
    const pending = [...this.pending.values()];
    this.pending.clear();
    this.registering.clear();
    for (const p of pending) {
      const err = new IwpmError("CLOSED", `${p.what}: the client was closed before the port mapper answered`);
      if (p instanceof SharedRequest) for (const w of p.waiters) w.reject(err);
      else p.reject(err);
    }
    try {
      this.transport.close();
    } catch (err) {
      this.hostError(err);
    }
  }

  // --- host notifications ------------------------------------------------------------------

  /** For hosts: datagrams are queued on the socket. */
  handleReadable(): void {
    if (this.closed) return;
    this.pump();
  }

  /** For hosts: the socket's receive queue overran; `total` counts overruns so far. */
  handleOverrun(total: number): void {
    if (this.closed) return;
    this.overruns = total;
    this.emit("overrun", { total });
    // What did arrive is still queued.
    this.pump();
  }

  /** For hosts: an exception or error the host caught (reported as an "error" event). */
  handleHostError(err: unknown): void {
    this.hostError(err);
  }

  // --- internals ---------------------------------------------------------------------------

  private open(what: string): void {
    if (this.closed) throw new IwpmError("CLOSED", `${what}: the client is closed; open a new one`);
  }

  /**
   * Writes an address argument into argument slot `slot`: a plain IPv4 one straight from the
   * input, allocating nothing; any other parsed (and refused with INVALID_ARGUMENT when invalid).
   */
  private putAddr(slot: number, input: AddressInput): void {
    const text = plainText(input);
    if (text === undefined || !this.putPlain(slot, input, text)) this.core.writeParsedAddr(slot, parseSockAddr(input));
  }

  /** Writes a plain IPv4 input whose plainText is `text`; false, writing nothing, when it is not one after all. */
  private putPlain(slot: number, input: AddressInput, text: string): boolean {
    const end = plainTextEnd(input, text);
    const port = plainPort(input, text, end);
    return port >= 0 && this.core.writeTextV4(slot, text, end, port);
  }

  /**
   * putAddr(0, a) then putAddr(1, b). Both inputs' texts are reached, down to their first
   * character, before either is parsed: with a large table and calls in random order every input
   * is a cache miss, and the second input's misses then overlap the first's instead of waiting for
   * its parse.
   */
  private putAddrs(a: AddressInput, b: AddressInput): void {
    const textA = plainText(a);
    const textB = plainText(b);
    if (textA !== undefined && textB !== undefined && startsWithDigit(textA) && startsWithDigit(textB)) {
      if (this.putPlain(0, a, textA) && this.putPlain(1, b, textB)) return;
    }
    this.putAddr(0, a);
    this.putAddr(1, b);
  }

  private index(nlClient: unknown, what: string): number {
    const c = nlClient === undefined ? RDMA_NL_IWCM : nlClient;
    if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c >= MAX_NL_CLIENTS) {
      throw new IwpmError("INVALID_ARGUMENT", `${what}: nlClient ${show(c)} is not a client index of 0..${MAX_NL_CLIENTS - 1}`);
    }
    return c;
  }

  private flags(opts: MappingOptions, what: string): number {
    const flags = integerOption(opts.flags, what, "flags", 0, U32_MAX, 0);
    const noPortMap: unknown = opts.noPortMap;
    if (noPortMap !== undefined && typeof noPortMap !== "boolean") {
      throw new IwpmError("INVALID_ARGUMENT", `${what}: noPortMap ${show(noPortMap)} is not a boolean`);
    }
    return (noPortMap ? flags | IWPM_FLAGS_NO_PORT_MAP : flags) >>> 0;
  }

  /** The signal and timeout of one call, checked. */
  private awaitOptions(opts: AwaitOptions, what: string): { signal: AbortSignal | undefined; timeoutMs: number } {
    const signal: unknown = opts.signal;
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new IwpmError("INVALID_ARGUMENT", `${what}: signal ${show(signal)} is not an AbortSignal`);
    }
    return { signal, timeoutMs: integerOption(opts.timeoutMs, what, "timeoutMs", 1, TIMEOUT_MAX_MS, this.timeoutMs) };
  }

  /** Runs a core call with this call's timeout: the core reads it when it creates the request. */
  private withTimeout(timeoutMs: number, call: () => number): number {
    if (timeoutMs === this.timeoutMs) return call();
    const x = this.core.exports;
    x.setTimeoutMs(timeoutMs);
    try {
      return call();
    } finally {
      x.setTimeoutMs(this.timeoutMs);
    }
  }

  private syncError(status: number, what: Label): IwpmError {
    const errno = status === Status.SEND_FAILED ? this.core.exports.lastErrno() : undefined;
    return errorFromStatus(status, String(what), errno, "sendto");
  }

  /** Waits for request `seq`; an abort leaves the request to the others waiting for it, or to the core. */
  private await(seq: number, what: Label, signal: AbortSignal | undefined): Promise<RequestDone> {
    const done = new Promise<RequestDone>((resolve, reject) => {
      if (signal === undefined) {
        this.join(seq, { what, resolve, reject });
        return;
      }
      const onAbort = () => {
        this.leave(seq, waiter);
        reject(new IwpmError("ABORTED", `${what}: the call was aborted; a reply that comes later is ignored`, { cause: signal.reason }));
      };
      const waiter: Waiter = {
        what,
        resolve: (d) => {
          signal.removeEventListener("abort", onAbort);
          resolve(d);
        },
        reject: (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      this.join(seq, waiter);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    this.pump();
    return done;
  }

  /** Adds a waiter to request `seq`: its first is the request; a second makes it a shared one. */
  private join(seq: number, waiter: Waiter): void {
    const p = this.pending.get(seq);
    if (p === undefined) {
      this.pending.set(seq, waiter);
    } else if (p instanceof SharedRequest) {
      p.waiters.add(waiter);
    } else {
      const shared = new SharedRequest(p.what);
      shared.waiters.add(p);
      shared.waiters.add(waiter);
      this.pending.set(seq, shared);
    }
  }

  /** Takes an aborted waiter off request `seq`; the request is abandoned when nobody waits for it any more. */
  private leave(seq: number, waiter: Waiter): void {
    const p = this.pending.get(seq);
    const last = p === waiter || (p instanceof SharedRequest && p.waiters.delete(waiter) && p.waiters.size === 0);
    if (!last) return;
    this.pending.delete(seq);
    this.abandoned.add(seq);
  }

  /** Drives the core (src/core/driver.ts): reads what the socket holds, settles requests, emits events, arms the timer. */
  private pump(): void {
    this.driver.pump();
  }

  private receiveFailed(wasiErrno: number): void {
    this.hostError(
      new IwpmError(
        "SOCKET_ERROR",
        `receiving from the netlink socket failed (${describeErrno(wasiErrno, "recvfrom")}); datagrams may have been lost`,
        { wasiErrno, syscall: "recvfrom" },
      ),
    );
  }

  private dispatch(ev: CoreEvent): void {
    switch (ev.kind) {
      case "requestDone":
        this.settle(ev);
        break;
      case "remoteInfo":
        // The core already stored it for getRemoteInfo; its addresses are made only for a listener.
        if (this.listenerCount("remoteInfo") === 0) break;
        this.emit("remoteInfo", {
          nlClient: ev.nlClient,
          local: ev.local,
          remote: ev.remote,
          mappedLocal: ev.mappedLocal,
          mappedRemote: ev.mappedRemote,
        });
        break;
      case "mappingError":
        this.emit("mappingError", { nlClient: ev.nlClient, code: ev.code, name: statusInfo(ev.code).name, port: ev.port });
        break;
      case "daemonHello":
        this.emit("daemonHello", {
          nlClient: ev.nlClient,
          version: ev.version,
          offered: ev.offered,
          port: ev.port,
          answeredAsV3: ev.answeredAsV3,
          status: ev.status,
        });
        break;
      case "mapinfoRequest":
        this.emit("mapinfoRequest", { nlClient: ev.nlClient, port: ev.port, version: ev.version });
        this.startResync(ev.nlClient, ev.port);
        break;
      case "mapinfoSent":
        this.resyncRecords(ev.nlClient, (r) => {
          r.sent = ev.records;
          if (ev.status !== 0) r.recordsDone = true;
        });
        this.emit("mapinfoResent", {
          nlClient: ev.nlClient,
          records: ev.records,
          datagrams: ev.datagrams,
          status: ev.status,
          port: ev.port,
        });
        break;
      case "mapinfoAck":
        this.emit("mapinfoAck", { nlClient: ev.nlClient, sent: ev.sent, acked: ev.acked, port: ev.port });
        this.resyncRecords(ev.nlClient, (r) => {
          r.acked = ev.acked;
          r.recordsDone = true;
        });
        break;
      case "mapinfoRefused":
        this.resyncRecords(ev.nlClient, (r) => {
          r.refused++;
          r.resent += ev.resent;
        });
        this.emit("mapinfoRefused", {
          nlClient: ev.nlClient,
          local: ev.local,
          mapped: ev.mapped,
          flags: ev.flags,
          code: ev.code,
          name: statusInfo(ev.code).name,
          resent: ev.resent,
          resendStatus: ev.resendStatus,
          port: ev.port,
        });
        break;
    }
  }

  /**
   * A restarted daemon asked for index `nlClient`'s records: the core resends them (when any
   * record exists at all, an ack follows); registering again starts once this pass is over.
   */
  private startResync(nlClient: number, port: number): void {
    const names = this.autoRegister ? this.lastNames.get(nlClient) : undefined;
    const r: Resync = {
      port,
      sent: 0,
      acked: 0,
      refused: 0,
      resent: 0,
      recordsDone: this.core.exports.mapinfoSize() === 0,
      registration: names === undefined ? "none" : "pending",
    };
    this.resyncs.set(nlClient, r);
    if (names !== undefined) {
      queueMicrotask(() => {
        if (this.closed || this.resyncs.get(nlClient) !== r) return;
        this.registerPid(names, { nlClient }).then(
          (result) => {
            r.registration = result.registered ? "done" : "failed";
            this.finishResync(nlClient, r);
          },
          (err: unknown) => {
            r.registration = "failed";
            r.error = err instanceof IwpmError ? err : new IwpmError("INTERNAL", String(err));
            this.finishResync(nlClient, r);
          },
        );
      });
    }
    this.finishResync(nlClient, r);
  }

  private resyncRecords(nlClient: number, update: (r: Resync) => void): void {
    const r = this.resyncs.get(nlClient);
    if (r === undefined) return;
    update(r);
    this.finishResync(nlClient, r);
  }

  /** Emits `resynced` once the records are through and registering again has settled. */
  private finishResync(nlClient: number, r: Resync): void {
    if (this.closed || this.resyncs.get(nlClient) !== r || !r.recordsDone || r.registration === "pending") return;
    this.resyncs.delete(nlClient);
    const e: ResyncedEvent = {
      nlClient,
      port: r.port,
      sent: r.sent,
      acked: r.acked,
      refused: r.refused,
      resent: r.resent,
      registered: r.registration === "done",
    };
    if (r.error !== undefined) e.error = r.error;
    this.emit("resynced", e);
  }

  private settle(ev: RequestDone): void {
    if (this.registering.get(ev.nlClient) === ev.seq) this.registering.delete(ev.nlClient);
    if (this.abandoned.delete(ev.seq)) {
      // Settled by the core alone (timeout, exit) is no reply; anything else is one nobody awaits.
      if (ev.status !== Status.TIMEOUT && ev.status !== Status.CLIENT_EXITED) this.abortedReplies++;
      return;
    }
    const p = this.pending.get(ev.seq);
    if (p === undefined) return;
    this.pending.delete(ev.seq);
    if (ev.status === Status.OK) {
      if (p instanceof SharedRequest) for (const w of p.waiters) w.resolve(ev);
      else p.resolve(ev);
      return;
    }
    const err = errorFromStatus(ev.status, String(p.what), ev.status === Status.SEND_FAILED ? ev.errno : undefined, "sendto");
    if (p instanceof SharedRequest) for (const w of p.waiters) w.reject(err);
    else p.reject(err);
  }

  private hostError(err: unknown): void {
    this.hostErrors++;
    const error = err instanceof Error ? err : new Error(String(err));
    this.emit("error", error);
  }
}

const CHAR_0 = 48;
const CHAR_9 = 57;

/** Every plain IPv4 text starts with a digit (an input that does not is left to the full parse). */
function startsWithDigit(text: string): boolean {
  const c = text.charCodeAt(0);
  return c >= CHAR_0 && c <= CHAR_9;
}

function mustAddr(addr: SockAddr | null, what: Label): SockAddr {
  if (addr === null) throw new IwpmError("INTERNAL", `${what}: the reply carried an address of an unknown family`);
  return addr;
}

function safeName(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : show(value);
}

/** Any value as text for a message; never throws (symbols, objects without prototype, throwing toString). */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "symbol" || typeof value === "bigint" || typeof value === "function") return String(value);
  if (typeof value !== "object" || value === null) return String(value);
  try {
    return JSON.stringify(value) ?? "an object";
  } catch {
    return "an object";
  }
}

/** The options object of a call: undefined means defaults; anything but a plain object is refused. */
/** The options of a call that passed none: one shared object, read only, instead of one per call. */
const NO_OPTIONS: Readonly<Record<string, never>> = Object.freeze({});

function optionsObject<T extends object>(opts: unknown, what: string): Partial<T> {
  if (opts === undefined) return NO_OPTIONS as Partial<T>;
  if (typeof opts !== "object" || opts === null || Array.isArray(opts)) {
    throw new IwpmError("INVALID_ARGUMENT", `${what}: options ${show(opts)} is not an object; pass { … } or leave it out`);
  }
  return opts as Partial<T>;
}

function integerOption(value: unknown, what: string, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new IwpmError("INVALID_ARGUMENT", `${what}: ${name} ${show(value)} is not an integer of ${min}..${max}`);
  }
  return value;
}

function isAbortSignal(value: unknown): value is AbortSignal {
  const s = value as AbortSignal | null;
  return typeof s === "object" && s !== null && typeof s.aborted === "boolean" && typeof s.addEventListener === "function";
}

function checkNotAborted(signal: AbortSignal | undefined, what: Label): void {
  if (signal?.aborted) {
    throw new IwpmError("ABORTED", `${what}: the signal was already aborted; nothing was sent`, { cause: signal.reason });
  }
}
