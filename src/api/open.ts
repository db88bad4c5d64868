// What every host does to open a client, written once: check the target, make the socket with
// the host's socket factory, instantiate the core behind the shim, configure it and build the
// client. Portable: a host (src/node.ts, src/deno.ts) passes its ClientHost and nothing else.

import { instantiateCore } from "../core/core.js";
import { IwpmError } from "../core/errors.js";
import { createShim, type NetlinkSocket, type ShimOptions, SocketMap } from "../host/shim.js";
import { PortMapperClient, type PortMapperClientOptions } from "./client.js";
import { NETLINK_USERSOCK } from "./constants.js";
import { groupHasMember } from "./group-members.js";
import type { HostClientOptions } from "./index.js";

/** What the opener asks a host's socket factory for. */
export interface SocketRequest {
  protocol: 2 | 20;
  port: number;
  /** SO_RCVBUF in bytes. */
  recvBufferSize: number;
  /** Datagrams are queued: the core should poll. */
  onReadable(): void;
  /** The kernel dropped datagrams (receive-queue overrun); `total` counts overruns so far. */
  onOverrun(total: number): void;
  /** The open socket failed; `problem` says how and what became of the socket. Reported as SOCKET_ERROR. */
  onError(problem: string): void;
}

/** A host's open netlink socket: what the shim serves to the core, and its handle. */
export type HostSocket = NetlinkSocket & {
  /** The bound port id. */
  readonly port: number;
  close(): void;
  /** (Un)pins the event loop while the socket is open. */
  ref(): void;
  unref(): void;
};

/** Everything host-specific about opening a client. */
export interface ClientHost {
  /** The core's compiled module: from `wasm` when given, else the host's iwpm.wasm. */
  coreModule(wasm: BufferSource | undefined): Promise<WebAssembly.Module>;
  /**
   * Opens and binds a netlink socket. Throws IwpmError SOCKET_ERROR (with `errno` and `syscall`)
   * when the kernel refuses the socket, NATIVE_UNAVAILABLE when this host cannot make netlink
   * sockets at all; anything else it throws is reported as SOCKET_ERROR.
   */
  openSocket(request: SocketRequest): HostSocket;
  /** The text of /proc/net/netlink; undefined where it cannot be read (registerPid then waits for its timeout). */
  netlinkTable(): string | undefined;
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

/** What to check when a socket cannot be opened, for a host's error message. */
export function socketOpenHint(protocol: number, port: number): string {
  return (
    (port !== 0 ? "another socket may hold that port, or " : "") +
    (protocol === 20 ? "NETLINK_RDMA needs the rdma modules and CAP_NET_ADMIN" : "check the process may open netlink sockets")
  );
}

/**
 * Opens a netlink socket and a port mapper client on it. The socket joins no multicast group:
 * the client multicasts REG_PID to the port mappers and must not receive its own request.
 */
export async function openClient(host: ClientHost, options: OpenClientOptions = {}): Promise<PortMapperClient> {
  const { protocol, port } = netlinkTarget(options);
  const module = await host.coreModule(options.wasm);
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
  const socket = openSocket(host, {
    protocol,
    port,
    recvBufferSize: options.recvBufferSize ?? DEFAULT_RECV_BUFFER,
    onReadable: () => client?.handleReadable(),
    onOverrun: (total) => client?.handleOverrun(total),
    onError: (problem) => hostError(new IwpmError("SOCKET_ERROR", `the netlink socket: ${problem}`)),
  });
  const wrapped = options.wrapSocket?.(socket) ?? { socket };
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
        groupHasMember: (mask: number) => {
          const table = host.netlinkTable();
          return table === undefined ? undefined : groupHasMember(table, protocol, socket.port, mask);
        },
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

/** The host's socket, with one error code for one failure whichever host failed. */
function openSocket(host: ClientHost, request: SocketRequest): HostSocket {
  try {
    return host.openSocket(request);
  } catch (err) {
    if (err instanceof IwpmError) throw err;
    throw new IwpmError(
      "SOCKET_ERROR",
      `cannot open a netlink socket (protocol ${request.protocol}, port ${request.port}): ${err instanceof Error ? err.message : String(err)}; ${socketOpenHint(request.protocol, request.port)}`,
      { cause: err },
    );
  }
}
