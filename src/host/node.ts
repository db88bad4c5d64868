// The Node host: a real netlink socket (src/host/netlink-node.ts) under the portable client.

import { PortMapperClient, type PortMapperClientOptions } from "../api/client.js";
import { NETLINK_USERSOCK } from "../api/constants.js";
import type { HostClientOptions } from "../api/index.js";
import { instantiateCore } from "../core/core.js";
import { IwpmError } from "../core/errors.js";
import { type NodeNetlinkSocket, openNetlinkSocket } from "./netlink-node.js";
import { createShim, type DatagramSocket, SocketMap } from "./shim.js";
import { coreModule } from "./wasm-node.js";

export interface OpenPortMapperClientOptions extends HostClientOptions {
  /**
   * Puts something between the core and the socket (a capture tap, say); `close` runs after the
   * socket closed.
   */
  wrapSocket?: (socket: DatagramSocket) => { socket: DatagramSocket; close?: () => void };
}

const SOCKET_FD = 3;
const DEFAULT_RECV_BUFFER = 4 * 1024 * 1024;

/**
 * Opens a netlink socket and a port mapper client on it. The socket joins no multicast group:
 * the client multicasts REG_PID to the port mappers and must not receive its own request.
 */
export async function openPortMapperClient(options: OpenPortMapperClientOptions = {}): Promise<PortMapperClient> {
  const protocol = options.protocol ?? NETLINK_USERSOCK;
  if (protocol !== 2 && protocol !== 20) {
    throw new IwpmError("INVALID_ARGUMENT", `protocol ${String(protocol)} is neither 2 (NETLINK_USERSOCK) nor 20 (NETLINK_RDMA)`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff_ffff) {
    throw new IwpmError("INVALID_ARGUMENT", `port ${String(port)} is not a netlink port id of 0..4294967295`);
  }
  const module = await coreModule(options.wasm);

  let client: PortMapperClient | undefined;
  const early: unknown[] = [];
  const hostError = (err: unknown) => {
    if (client !== undefined) client.handleHostError(err);
    else early.push(err);
  };
  const sockets = new SocketMap();
  const shim = createShim({ sockets, onHostError: hostError });
  const core = await instantiateCore(module, shim);

  let socket: NodeNetlinkSocket;
  try {
    socket = openNetlinkSocket({
      protocol,
      port,
      recvBufferSize: options.recvBufferSize ?? DEFAULT_RECV_BUFFER,
      onReadable: () => client?.handleReadable(),
      onSendError: (_err, errno, datagram) => client?.handleSendError(datagram, errno),
      onRecvError: (err, errno) =>
        hostError(
          new IwpmError(
            "SOCKET_ERROR",
            `receiving from the netlink socket failed: ${err.message}; datagrams may have been lost (raise recvBufferSize or net.core.rmem_max)`,
            undefined,
            undefined,
            errno,
          ),
        ),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new IwpmError(
      "SOCKET_ERROR",
      `cannot open a netlink socket (protocol ${protocol}, port ${port}): ${e.code ?? ""} ${e.message}; ` +
        (port !== 0 ? "another socket may hold that port, or " : "") +
        (protocol === 20 ? "NETLINK_RDMA needs the rdma modules and CAP_NET_ADMIN" : "check the process may open netlink sockets"),
    );
  }
  const wrapped = options.wrapSocket?.(socket) ?? { socket };
  sockets.set(SOCKET_FD, wrapped.socket);

  const clientOptions: PortMapperClientOptions = { fd: SOCKET_FD };
  if (options.timeoutMs !== undefined) clientOptions.timeoutMs = options.timeoutMs;
  if (options.abiVersion !== undefined) clientOptions.abiVersion = options.abiVersion;
  if (options.remoteInfoLimit !== undefined) clientOptions.remoteInfoLimit = options.remoteInfoLimit;
  if (options.init !== undefined) clientOptions.init = options.init;
  try {
    client = new PortMapperClient(
      core,
      {
        socket: wrapped.socket,
        port: socket.port,
        close: () => {
          socket.close();
          wrapped.close?.();
        },
        ref: () => socket.ref(),
        unref: () => socket.unref(),
      },
      clientOptions,
    );
  } catch (err) {
    socket.close();
    wrapped.close?.();
    throw err;
  }
  for (const err of early) client.handleHostError(err);
  return client;
}
