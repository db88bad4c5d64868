// What every host's netlink socket shares (Node's addon, Deno's libc calls): its options, the
// shape of a datagram handed to sendTo, and its counters. Portable: no host imports.

export interface NetlinkSocketOptions {
  /** Netlink family: NETLINK_USERSOCK (2, default) or NETLINK_RDMA (20). */
  protocol?: number;
  /** Port id to bind; 0 (default) lets the kernel pick a unique one. */
  port?: number;
  /** Multicast groups to join (group numbers, not a bitmask). */
  groups?: number[];
  /** SO_RCVBUF in bytes; the kernel caps it at net.core.rmem_max. */
  recvBufferSize?: number;
  /** Datagrams were queued: drain them with recvFrom() until it returns null. */
  onReadable: () => void;
  /**
   * A send that sendTo had accepted failed later. `datagram` is what failed to go out (the bytes
   * as given to sendTo, and its destination), so the caller can tell which request it carried.
   */
  onSendError?: (err: Error, errno: number, datagram: SentDatagram) => void;
  /** Receiving failed (e.g. ENOBUFS: the kernel dropped datagrams because the queue overran). */
  onRecvError?: (err: Error, errno: number) => void;
}

/** A datagram as handed to sendTo: its bytes and its destination. */
export interface SentDatagram {
  bytes: Uint8Array;
  port: number;
  groups: number;
}

export interface NetlinkCounters {
  /** Sends the kernel accepted. */
  sent: number;
  /** Datagrams received, truncated ones included. */
  received: number;
  /** Sends that failed after sendTo had accepted them (each also reported to onSendError). */
  sendErrors: number;
  /** Datagrams longer than the receive buffer. */
  truncated: number;
  /** Receive errors (each also reported to onRecvError). */
  recvErrors: number;
}
