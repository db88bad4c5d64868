// The Node host of the port mapper service: a netlink socket bound like iwpmd's (port = our pid
// unless told otherwise, multicast groups 1 and 2 to hear REG_PID), UDP sockets for the peers,
// TCP port reservations, and the portable PortMapperService over them.

import { instantiateCore } from "../core/core.js";
import { IwpmError } from "../core/errors.js";
import { type NodeNetlinkSocket, openNetlinkSocket } from "../host/netlink-node.js";
import { createShim, SocketMap, type UdpSocket } from "../host/shim.js";
import { NodePortReserver } from "../host/tcp-node.js";
import { NodeUdpSocket } from "../host/udp-node.js";
import { coreModule } from "../host/wasm-node.js";
import { PortMapperService } from "./service.js";

export interface OpenPortMapperServiceOptions {
  /** Netlink family: 2 NETLINK_USERSOCK (default) or 20 NETLINK_RDMA (talking to the kernel's iw_cm). */
  protocol?: 2 | 20;
  /** Our netlink port id (default: this process's pid, as iwpmd binds). */
  port?: number;
  /** Where unsolicited messages go (default 0: the kernel, as iwpmd; a user-space client's port otherwise). */
  clientPort?: number;
  /** The peers' UDP port, bound on both families and used to reach peers (default 3935). */
  udpPort?: number;
  /** Addresses to bind the peer sockets to (default the wildcard of each family). */
  bindAddress?: { v4?: string; v6?: string };
  /** The core's bytes, instead of reading iwpm.wasm from disk. */
  wasm?: BufferSource;
  /** Receive buffer of the netlink socket (SO_RCVBUFFORCE where permitted; default 16 MiB). */
  recvBufferSize?: number;
  /**
   * Who may speak to the service as a client, by the kernel-attested credentials of each datagram:
   * this uid (default 0, root, as the kernel's clients are), or "any". The kernel (port 0) always may.
   */
  clientUid?: number | "any";
  log?: (line: string) => void;
}

const NL_FD = 4;
const LINUX_EPERM = 1;
/** iwpmd asks for a large receive buffer (nl_sock_rbuf_size): a burst of requests must not overrun it. */
const DEFAULT_SERVICE_RECV_BUFFER = 16 * 1024 * 1024;
const UDP_FDS = [10, 11, 12, 13] as const;
/** Opens a family's two peer sockets (3935 and ephemeral); null when the family is unavailable. */
async function openFamily(family: 4 | 6, port: number, address: string | undefined, onReadable: () => void, log: (l: string) => void) {
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
      log(`iwpm service: IPv${family} unavailable (${code}), skipped`);
      return null;
    }
    throw new IwpmError(
      "SOCKET_ERROR",
      `cannot open the IPv${family} peer socket on UDP port ${port}: ${code ?? ""} ${(err as Error).message}; is another port mapper running?`,
    );
  }
}

/** Opens the sockets, builds the service and sends its start-up HELLO. */
export async function openPortMapperService(options: OpenPortMapperServiceOptions = {}): Promise<PortMapperService> {
  const protocol = options.protocol ?? 2;
  const port = options.port ?? process.pid;
  const udpPort = options.udpPort ?? 3935;
  const log = options.log ?? (() => {});
  const module = await coreModule(options.wasm);

  let service: PortMapperService | undefined;
  const readable = () => service?.handleReadable();
  const sockets = new SocketMap();
  const udpSockets = new Map<number, UdpSocket>();
  const ports = new NodePortReserver();
  const shim = createShim({ sockets, udpSockets, ports, onHostError: (err) => service?.handleHostError(err) });
  const core = await instantiateCore(module, shim);

  const open = (groups: number[]) =>
    openNetlinkSocket({
      protocol,
      port,
      groups,
      recvBufferSize: options.recvBufferSize ?? DEFAULT_SERVICE_RECV_BUFFER,
      forceRecvBufferSize: true,
      onReadable: readable,
      onError: (name, errno) =>
        service?.handleHostError(new IwpmError("SOCKET_ERROR", `the netlink socket reported ${name} (errno ${errno})`)),
    });
  let netlink: NodeNetlinkSocket;
  try {
    try {
      netlink = open([1, 2]);
    } catch (err) {
      // Joining a NETLINK_USERSOCK group needs CAP_NET_ADMIN. Without it the service still works
      // for clients it announces itself to (clientPort): they learn its port from the HELLO and
      // address their REG_PID to it.
      if (!(err instanceof IwpmError) || err.errno !== LINUX_EPERM) throw err;
      log("iwpm service: no CAP_NET_ADMIN, not in the multicast group; clients reach it through its HELLO");
      netlink = open([]);
    }
  } catch (err) {
    if (err instanceof IwpmError && err.code === "NATIVE_UNAVAILABLE") throw err;
    throw new IwpmError(
      "SOCKET_ERROR",
      `cannot open the service's netlink socket (protocol ${protocol}, port ${port}): ${err instanceof Error ? err.message : String(err)}; the port must be free`,
      { cause: err },
    );
  }
  sockets.set(NL_FD, netlink);

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
      udpSockets.set(UDP_FDS[i] as number, s);
      slots[i] = UDP_FDS[i] as number;
    }
    service = new PortMapperService(
      core,
      { port: netlink.port, close: closeAll },
      { fd: NL_FD, clientPort: options.clientPort ?? 0, udpPort, udp: slots, log, clientUid: options.clientUid ?? 0 },
    );
    service.start();
  } catch (err) {
    await closeAll();
    throw err;
  }
  return service;
}
