// What every host does to open a client: check the target, instantiate the core behind a shim,
// open the host's netlink socket with callbacks into the client, and build the client on it.
// Portable: the host passes its socket opener.

import { instantiateCore } from "../core/core.js";
import { IwpmError } from "../core/errors.js";
import { createShim, type NetlinkSocket, type ShimOptions, SocketMap } from "../host/shim.js";
import { PortMapperClient, type PortMapperClientOptions } from "./client.js";
import { NETLINK_USERSOCK } from "./constants.js";
import type { HostClientOptions } from "./index.js";

/** A host's netlink socket as a client needs it. */
export interface HostSocket {
  /** What the shim serves to the core. */
  readonly socket: NetlinkSocket;
  readonly port: number;
  /** See PortMapperTransport.groupHasMember. */
  groupHasMember?(groupMask: number): boolean | undefined;
  close(): void;
  ref(): void;
  unref(): void;
}

/** Callbacks a host's socket calls into the client. */
export interface SocketHooks {
  onReadable(): void;
  /** The kernel dropped datagrams (receive-queue overrun); `total` counts overruns so far. */
  onOverrun(total: number): void;
  /** Anything the host wants reported as an `error` event (or counted). */
  hostError(err: unknown): void;
}

export interface OpenClientOptions extends HostClientOptions {
  /**
   * Puts something between the core and the socket (a capture tap, say); `close` runs after the
   * socket closed.
   */
  wrapSocket?: (socket: NetlinkSocket) => { socket: NetlinkSocket; close?: () => void };
}

const SOCKET_FD = 3;
/** SO_RCVBUF by default: many replies can arrive while the event loop is busy. */
export const DEFAULT_RECV_BUFFER = 4 * 1024 * 1024;

/** The netlink family and port to bind, checked. */
export function netlinkTarget(options: HostClientOptions): { protocol: 2 | 20; port: number } {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new IwpmError(
      "INVALID_ARGUMENT",
      `openPortMapperClient: options ${String(options)} is not an object; pass { … } or leave it out`,
    );
  }
  const protocol = options.protocol ?? NETLINK_USERSOCK;
  if (protocol !== 2 && protocol !== 20) {
    throw new IwpmError("INVALID_ARGUMENT", `protocol ${String(protocol)} is neither 2 (NETLINK_USERSOCK) nor 20 (NETLINK_RDMA)`);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 0xffff_ffff) {
    throw new IwpmError("INVALID_ARGUMENT", `port ${String(port)} is not a netlink port id of 0..4294967295`);
  }
  return { protocol, port };
}

/** The hint a host adds when its socket cannot be opened. */
export function socketOpenHint(protocol: number, port: number): string {
  return (
    (port !== 0 ? "another socket may hold that port, or " : "") +
    (protocol === 20 ? "NETLINK_RDMA needs the rdma modules and CAP_NET_ADMIN" : "check the process may open netlink sockets")
  );
}

export async function openClient(
  module: WebAssembly.Module,
  options: OpenClientOptions,
  openSocket: (hooks: SocketHooks) => HostSocket,
): Promise<PortMapperClient> {
  let client: PortMapperClient | undefined;
  const early: unknown[] = [];
  const hostError = (err: unknown) => {
    if (client !== undefined) client.handleHostError(err);
    else early.push(err);
  };
  const sockets = new SocketMap();
  const shimOptions: ShimOptions = { sockets, onHostError: hostError };
  if (options.trustDaemon !== undefined) shimOptions.trustSender = options.trustDaemon;
  const core = await instantiateCore(module, createShim(shimOptions));
  const socket = openSocket({
    onReadable: () => client?.handleReadable(),
    onOverrun: (total) => client?.handleOverrun(total),
    hostError,
  });
  const wrapped = options.wrapSocket?.(socket.socket) ?? { socket: socket.socket };
  sockets.set(SOCKET_FD, wrapped.socket);
  const close = () => {
    socket.close();
    wrapped.close?.();
  };

  const clientOptions: PortMapperClientOptions = { fd: SOCKET_FD };
  if (options.timeoutMs !== undefined) clientOptions.timeoutMs = options.timeoutMs;
  if (options.livenessMs !== undefined) clientOptions.livenessMs = options.livenessMs;
  if (options.autoRegister !== undefined) clientOptions.autoRegister = options.autoRegister;
  if (options.abiVersion !== undefined) clientOptions.abiVersion = options.abiVersion;
  if (options.remoteInfoLimit !== undefined) clientOptions.remoteInfoLimit = options.remoteInfoLimit;
  if (options.init !== undefined) clientOptions.init = options.init;
  if (options.daemonUid !== undefined) clientOptions.daemonUid = options.daemonUid;
  if (options.trustDaemon !== undefined) clientOptions.hostTrust = true;
  try {
    client = new PortMapperClient(
      core,
      {
        socket: wrapped.socket,
        port: socket.port,
        ...(socket.groupHasMember ? { groupHasMember: (mask: number) => socket.groupHasMember?.(mask) } : {}),
        close,
        ref: () => socket.ref(),
        unref: () => socket.unref(),
      },
      clientOptions,
    );
  } catch (err) {
    close();
    throw err;
  }
  for (const err of early) client.handleHostError(err);
  return client;
}
