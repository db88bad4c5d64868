// The portable API surface every entry point (Node, Deno) re-exports, and the options a host's
// openPortMapperClient takes.

export type { MapinfoRecord } from "../core/core.js";
export { IwpmError, type IwpmErrorCode, type IwpmErrorDetails } from "../core/errors.js";
export type { SockAddr } from "../core/sockaddr.js";
export type { Credentials } from "../host/shim.js";

import type { Credentials } from "../host/shim.js";

export { type AddressInput, formatAddress, parseAddress } from "./address.js";
export {
  type AwaitOptions,
  type ClientIndexOption,
  type ClientStats,
  type DaemonHelloEvent,
  type DeviceNames,
  type MapinfoAckEvent,
  type MapinfoRefusedEvent,
  type MapinfoRequestEvent,
  type MapinfoResentEvent,
  type MappingCallOptions,
  type MappingErrorEvent,
  type MappingOptions,
  type MappingResult,
  PortMapperClient,
  type PortMapperClientOptions,
  type PortMapperEvents,
  type PortMapperTransport,
  type QueryResult,
  type RegisterOptions,
  type RegisterResult,
  type Registration,
  type RemoteInfoEvent,
  type ResyncedEvent,
} from "./client.js";
export {
  IWPM_FLAGS_NO_PORT_MAP,
  IWPM_NL_TIMEOUT_MS,
  MAX_NL_CLIENTS,
  NETLINK_RDMA,
  NETLINK_USERSOCK,
  RDMA_NL_C4IW,
  RDMA_NL_IWCM,
} from "./constants.js";

/** What a host's openPortMapperClient takes (Node and Deno alike). */
export interface HostClientOptions {
  /** Netlink family: 2 NETLINK_USERSOCK (default), or 20 NETLINK_RDMA on hosts with RDMA. */
  protocol?: 2 | 20;
  /** Netlink port id to bind; 0 (default) lets the kernel pick one. */
  port?: number;
  /** Request timeout in ms (default 10 000). */
  timeoutMs?: number;
  /** After requests waited this long (ms, default 250), check that the port mapper still holds its port (0: never). */
  livenessMs?: number;
  /** Register again by itself after a port mapper restart, with the names last used (default true). */
  autoRegister?: boolean;
  /** Highest ABI version spoken (default 4). */
  abiVersion?: 3 | 4;
  /** Bound of the remote-info table (default 65 536). */
  remoteInfoLimit?: number;
  /** The core's bytes, instead of reading iwpm.wasm from disk. */
  wasm?: BufferSource;
  /** Client indexes to init (default [2], RDMA_NL_IWCM). */
  init?: number[];
  /**
   * Who may speak as the port mapper, by the kernel-attested credentials of each datagram: only
   * processes of this uid (default 0, root, as iwpmd runs), or "any" to check nothing.
   */
  daemonUid?: number | "any";
  /** A check of your own instead of daemonUid: called with each new sender's pid, uid and gid. */
  trustDaemon?: (sender: Credentials) => boolean;
  /**
   * SO_RCVBUF in bytes (default 4 MiB, capped by net.core.rmem_max): many replies can arrive
   * while the event loop is busy, and a receive-queue overrun loses datagrams.
   */
  recvBufferSize?: number;
}
