import { ERRNO_AGAIN, recv_batch, send_batch } from "../bindings";
import {
  RX_DESC_SIZE,
  RX_FLAGS,
  RX_GID,
  RX_GROUPS,
  RX_LEN,
  RX_PID,
  RX_PORT,
  RX_UID,
  RXF_CREDS,
  RXF_TRUNC,
  TX_DESC_SIZE,
  TX_ERRNO,
  TX_GROUPS,
  TX_LEN,
  TX_PORT,
  TX_PTR,
} from "../gen/batch";

// Datagram I/O through the host's netlink socket, in batches and without copies: the host writes
// received datagrams straight into a receive area (one descriptor each, with the sender's port,
// groups and kernel-attested credentials), and sends datagrams straight from the core's memory as
// described by transmit descriptors. The layouts come from build/protocol.mjs (docs/abi.md "Batches").

/** Datagrams taken per recv_batch call. */
export const RX_BATCH: u32 = 64;
const RX_COUNT: usize = memory.data(4, 4);

/** Who sent the datagram being handled, as the kernel attests it (reference: SCM_CREDENTIALS). */
export class Sender {
  port: u32 = 0;
  groups: u32 = 0;
  hasCreds: bool = false;
  pid: u32 = 0;
  uid: u32 = 0;
  gid: u32 = 0;

  /** A datagram fed by the host without credentials (replay, tests). */
  unattested(port: u32): void {
    this.port = port;
    this.groups = 0;
    this.hasCreds = false;
    this.pid = 0;
    this.uid = 0;
    this.gid = 0;
  }
}

/** The receive area of one socket: RX_BATCH descriptors and as many slots of `slot` bytes. */
export class RxArea {
  descs: usize;
  data: usize;

  constructor(
    public fd: u32,
    public slot: u32,
  ) {
    this.descs = heap.alloc(<usize>RX_BATCH * RX_DESC_SIZE);
    this.data = heap.alloc(<usize>RX_BATCH * slot);
  }

  /** Fills the area from the socket: the count (0 when nothing is queued), or -errno. */
  fill(): i32 {
    store<u32>(RX_COUNT, 0);
    const errno = recv_batch(this.fd, this.descs, this.data, this.slot, RX_BATCH, RX_COUNT);
    if (errno == ERRNO_AGAIN) return 0;
    if (errno != 0) return -<i32>errno;
    return <i32>min(load<u32>(RX_COUNT), RX_BATCH);
  }

  /** Datagram i's bytes. */
  // @ts-ignore: decorator
  @inline
  bytes(i: u32): usize {
    return this.data + <usize>i * this.slot;
  }

  /** Datagram i's full length (larger than the slot when truncated). */
  // @ts-ignore: decorator
  @inline
  length(i: u32): u32 {
    return load<u32>(this.descs + <usize>i * RX_DESC_SIZE + RX_LEN);
  }

  // @ts-ignore: decorator
  @inline
  truncated(i: u32): bool {
    return (load<u32>(this.descs + <usize>i * RX_DESC_SIZE + RX_FLAGS) & RXF_TRUNC) != 0;
  }

  /** Describes datagram i's sender in `s`. */
  sender(i: u32, s: Sender): void {
    const d = this.descs + <usize>i * RX_DESC_SIZE;
    s.port = load<u32>(d + RX_PORT);
    s.groups = load<u32>(d + RX_GROUPS);
    s.hasCreds = (load<u32>(d + RX_FLAGS) & RXF_CREDS) != 0;
    s.pid = load<u32>(d + RX_PID);
    s.uid = load<u32>(d + RX_UID);
    s.gid = load<u32>(d + RX_GID);
  }
}

/** One transmit descriptor, for a datagram that leaves at once from where it was built. */
export class TxOne {
  desc: usize;

  constructor(public fd: u32) {
    this.desc = heap.alloc(TX_DESC_SIZE);
    memory.fill(this.desc, 0, TX_DESC_SIZE);
  }

  /** Sends `len` bytes at `buf` to netlink port `port` and/or `groups`; the WASI errno (0 = sent). */
  send(buf: usize, len: u32, port: u32, groups: u32): u32 {
    const d = this.desc;
    store<u32>(d + TX_PTR, <u32>buf);
    store<u32>(d + TX_LEN, len);
    store<u32>(d + TX_PORT, port);
    store<u32>(d + TX_GROUPS, groups);
    store<u32>(d + TX_ERRNO, 0);
    const errno = <u32>send_batch(this.fd, d, 1);
    return errno != 0 ? errno : load<u32>(d + TX_ERRNO);
  }
}
