// The Node host of the port mapper service: a netlink socket bound like iwpmd's (port = our pid
// unless told otherwise, multicast groups 1 and 2 to hear REG_PID), UDP sockets for the peers,
// TCP port reservations, and the portable PortMapperService over them.

import { IwpmError } from "../core/errors.js";
import { NETLINK_RDMA, NETLINK_USERSOCK, type NodeNetlinkSocket, openNetlinkSocket } from "../host/netlink-node.js";
import { createShim, type NetlinkSocket, type PortReserver, SocketMap, type UdpSocket } from "../host/shim.js";
import { NodePortReserver } from "../host/tcp-node.js";
import { NodeUdpSocket } from "../host/udp-node.js";
import { coreModule } from "../host/wasm-node.js";
import { type LogLevel, NUMERIC, parseSetting, SettingError } from "./config.js";
import { instantiateDaemonCore } from "./exports.js";
import { PortMapperService } from "./service.js";

/** What the host opened, for the start-up line. */
export interface ServiceSockets {
  protocol: 2 | 20;
  /** Why this protocol: asked for, or what the probe found. */
  protocolReason: "asked" | "probed" | "fallback";
  /** The netlink port id bound. */
  port: number;
  /** In the port mappers' multicast group (needs CAP_NET_ADMIN on NETLINK_USERSOCK). */
  multicast: boolean;
  /** IP families with peer sockets. */
  families: (4 | 6)[];
  /** Mapped ports are held by bind alone (iwpmd's way) rather than by a listening socket. */
  bindOnly: boolean;
}

/** Receive buffer of the service's netlink socket unless configured (iwpmd's nl_sock_rbuf_size). */
export const DEFAULT_RECV_BUFFER = 4 * 1024 * 1024;

export interface OpenPortMapperServiceOptions {
  /**
   * Netlink family: 2 NETLINK_USERSOCK (default), 20 NETLINK_RDMA (talking to the kernel's
   * iw_cm), or "auto": 20 where the kernel offers it, 2 otherwise.
   */
  protocol?: 2 | 20 | "auto";
  /** Our netlink port id (default: this process's pid, as iwpmd binds). */
  port?: number;
  /** Where unsolicited messages go (default 0: the kernel, as iwpmd; a user-space client's port otherwise). */
  clientPort?: number;
  /** The peers' UDP port, bound on both families and used to reach peers (default 3935). */
  udpPort?: number;
  /** Addresses to bind the peer sockets to (default the wildcard of each family). */
  bindAddress?: { v4?: string; v6?: string };
  /** The netlink socket's receive buffer in bytes (default 4 MiB; the kernel caps SO_RCVBUF at net.core.rmem_max). */
  recvBufferSize?: number;
  /** Ask for SO_RCVBUFFORCE (root: past rmem_max), as iwpmd does; needs the native socket. */
  forceRecvBuffer?: boolean;
  /** Bound on live mappings in total (default 65536; 0 = none). */
  maxMappings?: number;
  /** Bound on live mappings one netlink port asked for, the kernel exempt (default 4096; 0 = none). */
  maxMappingsPerPort?: number;
  /** Seconds a query waits for its peer before the client is answered IWPM_REMOTE_QUERY_REJECT (1..10, default 5). */
  queryTicks?: number;
  /** Holds mapped ports; default a listening socket per port (Node cannot bind without listening). */
  ports?: PortReserver & { closeAll(): void };
  /** Wraps the netlink socket (a capture tap). */
  tapNetlink?: (socket: NetlinkSocket) => NetlinkSocket;
  /** Wraps a peer socket (a capture tap); `local` is its bound family and port. */
  tapUdp?: (socket: UdpSocket, local: { family: 4 | 6; port: number }) => UdpSocket;
  /** Told once what was opened. */
  onOpen?: (sockets: ServiceSockets) => void;
  /**
   * Given the service before its start-up HELLO goes out, to subscribe to its events: against
   * the kernel the whole exchange that follows (HELLO answered, MAPINFO resent and acknowledged)
   * can complete inside start().
   */
  onService?: (service: PortMapperService) => void;
  /** The daemon core's bytes, instead of reading iwpmd.wasm from disk. */
  wasm?: BufferSource;
  /**
   * Who may speak to the service as a client, by the kernel-attested credentials of each datagram:
   * this uid (default 0, root, as the kernel's clients are), or "any". The kernel (port 0) always may.
   */
  clientUid?: number | "any";
  log?: (line: string, level?: LogLevel) => void;
}

const NL_FD = 4;
const LINUX_EPERM = 1;
const LINUX_EPROTONOSUPPORT = 93;
const UDP_FDS = [10, 11, 12, 13] as const;
/** Opens a family's two peer sockets (3935 and ephemeral); null when the family is unavailable. */
async function openFamily(
  family: 4 | 6,
  port: number,
  address: string | undefined,
  onReadable: () => void,
  log: (l: string, level?: LogLevel) => void,
) {
  const opened: NodeUdpSocket[] = [];
  try {
    for (const p of [port, 0]) {
      opened.push(await NodeUdpSocket.open({ family, port: p, ...(p !== 0 && address !== undefined ? { address } : {}), onReadable }));
    }
    return opened as [NodeUdpSocket, NodeUdpSocket];
  } catch (err) {
    for (const s of opened) await s.close();
    const code = (err as NodeJS.ErrnoException).code;
    // Like iwpmd, a family the host cannot do is skipped; a taken port is an error.
    if (code === "EAFNOSUPPORT" || code === "EADDRNOTAVAIL") {
      log(`IPv${family} unavailable (${code}): no IPv${family} peers`, "warning");
      return null;
    }
    throw new IwpmError(
      "SOCKET_ERROR",
      `cannot open the IPv${family} peer socket on UDP port ${port}: ${code ?? ""} ${(err as Error).message}; is another port mapper running?`,
    );
  }
}

/** The options that are settings, by their settings-file key (src/service/config.ts holds the ranges). */
const RANGED: [keyof OpenPortMapperServiceOptions, string][] = [
  ["port", "netlink_port"],
  ["clientPort", "client_port"],
  ["udpPort", "udp_port"],
  ["recvBufferSize", "nl_sock_rbuf_size"],
  ["maxMappings", "max_mappings"],
  ["maxMappingsPerPort", "max_mappings_per_port"],
  ["queryTicks", "query_ticks"],
];

/** Refuses a numeric option out of its range (a UDP port of 99999 would otherwise bind 34463). */
function checkRanges(options: OpenPortMapperServiceOptions): void {
  for (const [option, key] of RANGED) {
    const value = options[option];
    if (value === undefined) continue;
    try {
      parseSetting(option, String(value), NUMERIC[key] as (typeof NUMERIC)[string]);
    } catch (err) {
      if (err instanceof SettingError) throw new IwpmError("INVALID_ARGUMENT", err.message);
      throw err;
    }
  }
  const p = options.protocol;
  if (p !== undefined && p !== 2 && p !== 20 && p !== "auto") {
    throw new IwpmError("INVALID_ARGUMENT", `protocol ${String(p)} is not 2 (NETLINK_USERSOCK), 20 (NETLINK_RDMA) or "auto"`);
  }
}

/** Opens the sockets, builds the service and sends its start-up HELLO. */
export async function openPortMapperService(options: OpenPortMapperServiceOptions = {}): Promise<PortMapperService> {
  checkRanges(options);
  const asked = options.protocol ?? NETLINK_USERSOCK;
  const port = options.port ?? process.pid;
  const udpPort = options.udpPort ?? 3935;
  const log = options.log ?? (() => {});
  const module = await coreModule("daemon", options.wasm);

  let service: PortMapperService | undefined;
  const readable = () => service?.handleReadable();
  const sockets = new SocketMap();
  const udpSockets = new Map<number, UdpSocket>();
  const ports = options.ports ?? new NodePortReserver();
  const shim = createShim({ sockets, udpSockets, ports, onHostError: (err) => service?.handleHostError(err) });
  const core = await instantiateDaemonCore(module, shim);

  let protocol: 2 | 20 = asked === "auto" ? NETLINK_RDMA : asked;
  let protocolReason: ServiceSockets["protocolReason"] = asked === "auto" ? "probed" : "asked";
  const open = (groups: number[]) =>
    openNetlinkSocket({
      protocol,
      port,
      groups,
      recvBufferSize: options.recvBufferSize ?? DEFAULT_RECV_BUFFER,
      forceRecvBufferSize: options.forceRecvBuffer ?? false,
      onReadable: readable,
      onOverrun: (total) => service?.handleOverrun(total),
      onError: (name, errno) =>
        service?.handleHostError(
          new IwpmError("SOCKET_ERROR", `the netlink socket reported ${name} (errno ${errno}); the service keeps reading`),
        ),
    });
  const openJoined = (): NodeNetlinkSocket => {
    try {
      return open([1, 2]);
    } catch (err) {
      // Joining a NETLINK_USERSOCK group needs CAP_NET_ADMIN. Without it the service still works
      // for clients it announces itself to (clientPort): they learn its port from the HELLO and
      // address their REG_PID to it.
      if (!(err instanceof IwpmError) || err.errno !== LINUX_EPERM) throw err;
      log("no CAP_NET_ADMIN: not in the port mappers' multicast group; clients reach the service through its HELLO", "warning");
      multicast = false;
      return open([]);
    }
  };
  let multicast = true;
  let netlink: NodeNetlinkSocket;
  try {
    try {
      netlink = openJoined();
    } catch (err) {
      // The probe: a kernel without RDMA netlink refuses the family itself.
      if (asked !== "auto" || !(err instanceof IwpmError) || err.errno !== LINUX_EPROTONOSUPPORT) throw err;
      protocol = NETLINK_USERSOCK;
      protocolReason = "fallback";
      multicast = true;
      netlink = openJoined();
    }
  } catch (err) {
    if (err instanceof IwpmError && err.code === "NATIVE_UNAVAILABLE") throw err;
    throw new IwpmError(
      "SOCKET_ERROR",
      `cannot open the service's netlink socket (protocol ${protocol}, port ${port}): ${err instanceof Error ? err.message : String(err)}; the port must be free`,
      { cause: err },
    );
  }
  sockets.set(NL_FD, options.tapNetlink ? options.tapNetlink(netlink) : netlink);

  const udp: NodeUdpSocket[] = [];
  const closeAll = async () => {
    ports.closeAll();
    netlink.close();
    await Promise.all(udp.map((s) => s.close()));
  };
  const slots: [number, number, number, number] = [0, 0, 0, 0];
  try {
    const v4 = await openFamily(4, udpPort, options.bindAddress?.v4, readable, log);
    const v6 = await openFamily(6, udpPort, options.bindAddress?.v6, readable, log);
    if (v4 === null && v6 === null) throw new IwpmError("SOCKET_ERROR", "neither IPv4 nor IPv6 UDP sockets could be opened");
    for (const [i, s] of [...(v4 ?? [null, null]), ...(v6 ?? [null, null])].entries()) {
      if (s === null) continue;
      udp.push(s);
      udpSockets.set(UDP_FDS[i] as number, options.tapUdp ? options.tapUdp(s, { family: s.family, port: s.port }) : s);
      slots[i] = UDP_FDS[i] as number;
    }
    service = new PortMapperService(
      core,
      { port: netlink.port, close: closeAll },
      {
        fd: NL_FD,
        clientPort: options.clientPort ?? 0,
        udpPort,
        udp: slots,
        log,
        clientUid: options.clientUid ?? 0,
        ...(options.maxMappings !== undefined ? { maxMappings: options.maxMappings } : {}),
        ...(options.maxMappingsPerPort !== undefined ? { maxMappingsPerPort: options.maxMappingsPerPort } : {}),
        ...(options.queryTicks !== undefined ? { queryTicks: options.queryTicks } : {}),
      },
    );
    options.onOpen?.({
      protocol,
      protocolReason,
      port: netlink.port,
      multicast,
      families: [...(v4 ? [4 as const] : []), ...(v6 ? [6 as const] : [])],
      bindOnly: !(ports instanceof NodePortReserver),
    });
    options.onService?.(service);
    service.start();
  } catch (err) {
    await closeAll();
    throw err;
  }
  return service;
}
