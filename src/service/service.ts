// PortMapperService: an iwpmd-compatible port mapper over the core's service state machine.
// Portable: the host hands it the core (with its sockets and port reservations already behind
// the shim) and the means to close them; this class pumps the core, runs the one-second peer
// timer, and turns the core's records into events and a mapping table.

import { TypedEmitter } from "../api/emitter.js";
import { TRUST_ANY, TRUST_UID } from "../core/core.js";
import { Driver } from "../core/driver.js";
import { Errno } from "../core/errno.js";
import { describeErrno, IwpmError } from "../core/errors.js";
import type { SockAddr } from "../core/sockaddr.js";
import { statusInfo } from "../core/status.js";
import type { LogLevel } from "./config.js";
import type { AnyEvent } from "./events.js";
import type { DaemonCore, ServiceExports } from "./exports.js";
import { readStats, type ServiceStats } from "./stats.js";

const OPS: Record<number, string> = {
  0: "regPid",
  1: "add",
  2: "query",
  3: "remove",
  4: "remoteInfo",
  5: "handleErr",
  6: "mapinfo",
  7: "mapinfoNum",
  8: "hello",
};
const opName = (op: number) => OPS[op] ?? `op${op}`;

export interface ServiceMapping {
  /** Client index that owns it. */
  nlClient: number;
  local: SockAddr | null;
  mapped: SockAddr | null;
  refcount: number;
  /** The local address is 0.0.0.0 or ::. */
  wildcard: boolean;
  flags: number;
  /** A TCP port is held for it (false with NO_PORT_MAP). */
  portHeld: boolean;
}

export interface PortMapperServiceEvents {
  hello: { nlClient: number; version: number; offered: number; fallback: boolean; status: number };
  clientRegistered: { nlClient: number; port: number; first: boolean };
  mappingAdded: { nlClient: number; op: string; refcount: number; flags: number; local: SockAddr | null; mapped: SockAddr | null };
  mappingRemoved: { nlClient: number; refcount: number; local: SockAddr | null; mapped: SockAddr | null };
  requestFailed: { nlClient: number; op: string; status: number; name: string; errorSent: boolean; port: number; errno: number };
  peerRequest: {
    nlClient: number;
    accepted: boolean;
    repeated: boolean;
    status: number;
    local: SockAddr | null;
    remote: SockAddr | null;
    mappedLocal: SockAddr | null;
    mappedRemote: SockAddr | null;
  };
  queryDone: {
    nlClient: number;
    status: number;
    name: string;
    local: SockAddr | null;
    remote: SockAddr | null;
    mappedLocal: SockAddr | null;
    mappedRemote: SockAddr | null;
  };
  mapinfoCount: { nlClient: number; sent: number; acked: number };
  /** The kernel dropped datagrams for the netlink socket (receive-queue overrun); it keeps working. */
  overrun: { total: number };
  error: Error;
}

export interface ServiceTransport {
  /** Our netlink port id (nlmsg_pid of everything the service sends). */
  port: number;
  /** Closes every socket and reservation the host opened for the service. */
  close(): Promise<void> | void;
}

export interface PortMapperServiceOptions {
  /** fd of the netlink socket in the shim (default 4). */
  fd?: number;
  /** Where HELLO, MAPINFO requests, REMOTE_INFO and HANDLE_ERR go (default 0, as iwpmd). */
  clientPort?: number;
  /** The peers' UDP port (default 3935). */
  udpPort?: number;
  /** UDP fds by slot (IPv4 3935, IPv4 ephemeral, IPv6 3935, IPv6 ephemeral); 0 = none. */
  udp?: [number, number, number, number];
  /** Bound on live mappings in total (default 65536; 0 = none, as iwpmd). */
  maxMappings?: number;
  /** Bound on live mappings one netlink port asked for; the kernel (port 0) is exempt (default 4096; 0 = none). */
  maxMappingsPerPort?: number;
  /** Seconds a query waits for its peer before the client is answered IWPM_REMOTE_QUERY_REJECT (1..10, default 5). */
  queryTicks?: number;
  log?: (line: string, level?: LogLevel) => void;
  /** Who may speak as a client, by kernel-attested credentials: this uid (default 0), or "any". */
  clientUid?: number | "any";
}

/** The core's default bounds (assembly/service/mappings.ts). */
export const DEFAULT_MAX_MAPPINGS = 65536;
export const DEFAULT_MAX_MAPPINGS_PER_PORT = 4096;
/** The core's default peer query budget in seconds (assembly/peer/exchanges.ts). */
export const DEFAULT_QUERY_TICKS = 5;

export class PortMapperService extends TypedEmitter<PortMapperServiceEvents> {
  private readonly x: ServiceExports;
  private readonly driver: Driver<AnyEvent>;
  private closed = false;
  private readonly clientPort: number;
  /** Receive-queue overruns the netlink socket reported. */
  overruns = 0;
  private readonly log: (line: string, level?: LogLevel) => void;

  constructor(
    readonly core: DaemonCore,
    private readonly transport: ServiceTransport,
    options: PortMapperServiceOptions = {},
  ) {
    super();
    const x = core.exports;
    this.x = x;
    // The peer timer: one pass per second while exchanges are in flight.
    this.driver = new Driver<AnyEvent>(
      {
        poll: () => x.servicePoll(),
        drain: () => core.drainEvents(),
        nextTimeoutMs: () => x.serviceNextTimeoutMs(),
        tick: () => x.serviceTick(),
      },
      { dispatch: (ev) => this.dispatch(ev) },
    );
    this.log = options.log ?? (() => {});
    const clientPort = options.clientPort ?? 0;
    this.clientPort = clientPort;
    if (!Number.isInteger(clientPort) || clientPort < 0 || clientPort > 0xffff_ffff) {
      throw new IwpmError("INVALID_ARGUMENT", `clientPort ${clientPort} is not a netlink port id of 0..4294967295`);
    }
    this.x.serviceConfigure(options.fd ?? 4, transport.port >>> 0, clientPort >>> 0);
    const uid = options.clientUid ?? 0;
    if (uid !== "any" && (!Number.isInteger(uid) || uid < 0 || uid > 0xffff_ffff)) {
      throw new IwpmError("INVALID_ARGUMENT", `clientUid ${String(uid)} is neither "any" nor a uid of 0..4294967295`);
    }
    this.x.serviceSetTrust(uid === "any" ? TRUST_ANY : TRUST_UID, uid === "any" ? 0 : uid);
    this.x.serviceSetPeerPort(options.udpPort ?? 3935);
    for (const [slot, fd] of (options.udp ?? [0, 0, 0, 0]).entries()) this.x.serviceSetUdpSocket(slot, fd);
    if (options.maxMappings !== undefined || options.maxMappingsPerPort !== undefined) {
      this.x.serviceSetMappingLimits(
        options.maxMappings ?? DEFAULT_MAX_MAPPINGS,
        options.maxMappingsPerPort ?? DEFAULT_MAX_MAPPINGS_PER_PORT,
      );
    }
    if (options.queryTicks !== undefined) this.x.serviceSetQueryTicks(options.queryTicks);
  }

  /** Sends the start-up HELLO (iwpmd's first message); then the service answers whatever arrives. */
  start(): void {
    this.open("start");
    if (this.x.serviceStart() !== 0) {
      const wasiErrno = this.x.serviceLastErrno();
      if (wasiErrno === Errno.ECONNREFUSED) {
        // Nobody holds the port unsolicited messages go to: on NETLINK_USERSOCK no socket can hold
        // port 0 (the kernel's on NETLINK_RDMA), and a named client may not be up yet. The HELLO
        // goes unheard; user-space clients find the service by multicasting their REG_PID.
        this.log(
          this.clientPort === 0
            ? "nobody listens at netlink port 0: unsolicited messages go unheard (use --client-port to name a client)"
            : `nobody listens at netlink port ${this.clientPort} yet: the start-up HELLO went unheard`,
          "debug",
        );
        this.pump();
        return;
      }
      throw new IwpmError("SEND_FAILED", `start: the HELLO could not be sent (${describeErrno(wasiErrno, "sendto")})`, {
        status: 125,
        wasiErrno,
        syscall: "sendto",
      });
    }
    this.log(`HELLO v4 sent from netlink port ${this.transport.port}`, "debug");
    this.pump();
  }

  get port(): number {
    return this.transport.port;
  }

  /** The ABI version in use (4, or 3 after a fallback). */
  version(): number {
    return this.x.serviceVersion();
  }

  /** Whether client index `nlClient` registered with this instance. */
  clientRegistered(nlClient = 2): boolean {
    return this.x.serviceClientValid(nlClient) === 1;
  }

  /** The mapping table, newest first (iwpmd's order; what `iwpm serve` dumps on SIGUSR1). */
  mappings(): ServiceMapping[] {
    return this.core.mappingRecords().map((m) => ({
      local: m.local,
      mapped: m.mapped,
      nlClient: m.owner,
      refcount: m.refcount,
      wildcard: m.wildcard,
      flags: m.flags,
      portHeld: m.handle !== 0,
    }));
  }

  /** Table sizes and the input refused so far, per reason. */
  stats(): ServiceStats {
    return readStats(this.x);
  }

  /** Peer exchanges in flight (queries, accepts, acks awaiting their ticks). */
  exchanges(): number {
    return this.x.serviceExchangeCount();
  }

  /** The host has datagrams queued on a socket of the service. */
  handleReadable(): void {
    this.pump();
  }

  /** The netlink socket's receive queue overran; `total` counts overruns so far. */
  handleOverrun(total: number): void {
    if (this.closed) return;
    this.overruns = total;
    this.emit("overrun", { total });
    this.pump();
  }

  handleHostError(err: unknown): void {
    this.emit("error", err instanceof Error ? err : new Error(String(err)));
  }

  /** Releases every mapped port, closes every socket; the service cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.driver.close();
    this.x.serviceStop();
    this.x.eventsClear();
    await this.transport.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private open(what: string): void {
    if (this.closed) throw new IwpmError("CLOSED", `${what}: the service is closed`);
  }

  private pump(): void {
    this.driver.pump();
  }

  private dispatch(ev: AnyEvent): void {
    switch (ev.kind) {
      case "hello":
        if (ev.status === 0) this.log(`ABI version ${ev.version}${ev.fallback ? " (v3 kernel)" : ""}`, "info");
        this.emit("hello", { nlClient: ev.nlClient, version: ev.version, offered: ev.offered, fallback: ev.fallback, status: ev.status });
        break;
      case "clientRegistered":
        this.emit("clientRegistered", { nlClient: ev.nlClient, port: ev.port, first: ev.first });
        break;
      case "mappingAdded":
        this.emit("mappingAdded", {
          nlClient: ev.nlClient,
          op: opName(ev.op),
          refcount: ev.refcount,
          flags: ev.flags,
          local: ev.local,
          mapped: ev.mapped,
        });
        break;
      case "mappingRemoved":
        this.emit("mappingRemoved", { nlClient: ev.nlClient, refcount: ev.refcount, local: ev.local, mapped: ev.mapped });
        break;
      case "requestFailed":
        this.emit("requestFailed", {
          nlClient: ev.nlClient,
          op: opName(ev.op),
          status: ev.status,
          name: statusInfo(ev.status).name,
          errorSent: ev.errorSent,
          port: ev.port,
          errno: ev.errno,
        });
        break;
      case "peerRequest":
        this.emit("peerRequest", {
          nlClient: ev.nlClient,
          accepted: ev.status === 0,
          repeated: ev.repeated,
          status: ev.status,
          local: ev.local,
          remote: ev.remote,
          mappedLocal: ev.mappedLocal,
          mappedRemote: ev.mappedRemote,
        });
        break;
      case "queryDone":
        this.emit("queryDone", {
          nlClient: ev.nlClient,
          status: ev.status,
          name: statusInfo(ev.status).name,
          local: ev.local,
          remote: ev.remote,
          mappedLocal: ev.mappedLocal,
          mappedRemote: ev.mappedRemote,
        });
        break;
      case "mapinfoCount":
        this.emit("mapinfoCount", { nlClient: ev.nlClient, sent: ev.sent, acked: ev.acked });
        break;
      default:
        // Client events of a core shared with a PortMapperClient are that client's to read.
        break;
    }
  }
}
