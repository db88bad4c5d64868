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

/** Datagrams per send_batch call: a pass that builds more flushes early. */
export const TX_BATCH: u32 = 64;
/** Words of tag the owner keeps per queued datagram, to handle its failure after the flush. */
const TAG_WORDS: u32 = 3;
/** The tag of a datagram whose errno its sender waits for (`sendNow`): never passed to the failure handler. */
const TAG_NOW: u32 = 0xffffffff;

/**
 * A transmit area: during a pass (one poll over a receive batch) datagrams are built in its slots
 * and queued with their descriptors, and the pass ends with one send_batch for all of them, straight
 * from the slots. Outside a pass a datagram leaves at once and its sender gets the errno. A
 * datagram that failed in a flush reaches `onFail` (which the owner's subclass overrides) with its
 * descriptor index, so it is handled by the tag it was queued with (`tag(i, w)`), not by reading the
 * datagram again.
 */
export class TxArea {
  descs: usize;
  data: usize;
  tags: usize;
  count: u32 = 0;
  depth: u32 = 0;

  constructor(
    public fd: u32,
    public slot: u32,
  ) {
    this.descs = heap.alloc(<usize>TX_BATCH * TX_DESC_SIZE);
    this.data = heap.alloc(<usize>TX_BATCH * slot);
    this.tags = heap.alloc(<usize>TX_BATCH * TAG_WORDS * 4);
  }

  /**
   * Where the next datagram is built: a free slot (`slot` bytes), the same one until it is queued.
   * A full area is flushed here, when the next datagram is about to be built rather than when the
   * last one was queued, so a failure always concerns a datagram whose sender has already recorded
   * what its tag points to (an event pushed just after the send, say).
   */
  next(): usize {
    if (this.count == TX_BATCH) this.flush();
    return this.data + <usize>this.count * this.slot;
  }

  /** Opens a pass: sends are queued until the outermost pass ends. */
  begin(): void {
    this.depth++;
  }

  /** Ends a pass; the outermost one flushes. */
  end(): void {
    if (this.depth > 0 && --this.depth == 0) this.flush();
  }

  /** Whether sends are being queued: a datagram is then built at `next()`. */
  // @ts-ignore: decorator
  @inline
  inPass(): bool {
    return this.depth > 0;
  }

  /**
   * Queues the `len` bytes at `buf` (`next()` within a pass) for netlink port `port` and/or
   * `groups`, tagged with three words for `onFail`. Within a pass it returns 0 (the errno comes
   * later, through `onFail`); outside one the datagram leaves at once and the WASI errno is
   * returned (0 = sent).
   */
  queue(buf: usize, len: u32, port: u32, groups: u32, a: u32, b: u32, c: u32): u32 {
    if (this.depth == 0) return this.sendNow(buf, len, port, groups);
    if (this.count == TX_BATCH) this.flush();
    const i = this.count;
    this.describe(i, buf, len, port, groups, a, b, c);
    this.count = i + 1;
    return 0;
  }

  /** Sends what is queued and then the `len` bytes at `buf`, at once: that datagram's WASI errno. */
  sendNow(buf: usize, len: u32, port: u32, groups: u32): u32 {
    if (this.count == TX_BATCH) this.flush();
    const i = this.count;
    this.describe(i, buf, len, port, groups, TAG_NOW, 0, 0);
    this.count = i + 1;
    const errno = this.flush();
    return errno != 0 ? errno : load<u32>(this.descs + <usize>i * TX_DESC_SIZE + TX_ERRNO);
  }

  /** Tag word `w` (0..2) of the datagram at descriptor `i`, during `onFail`. */
  tag(i: u32, w: u32): u32 {
    return load<u32>(this.tags + (<usize>(i * TAG_WORDS + w) << 2));
  }

  /** The netlink port datagram `i` went to, during `onFail`. */
  port(i: u32): u32 {
    return load<u32>(this.descs + <usize>i * TX_DESC_SIZE + TX_PORT);
  }

  /** The WASI errno of datagram `i`, during `onFail`. */
  errno(i: u32): u32 {
    return load<u32>(this.descs + <usize>i * TX_DESC_SIZE + TX_ERRNO);
  }

  /**
   * One send_batch for every queued datagram; each failed one (tagged by `queue`) goes to `onFail`.
   * Returns the call's own WASI errno, which then stands for every datagram of the batch.
   */
  flush(): u32 {
    const n = this.count;
    if (n == 0) return 0;
    this.count = 0;
    const call = <u32>send_batch(this.fd, this.descs, n);
    for (let i: u32 = 0; i < n; i++) {
      const d = this.descs + <usize>i * TX_DESC_SIZE;
      if (call != 0) store<u32>(d + TX_ERRNO, call);
      if (load<u32>(d + TX_ERRNO) != 0 && this.tag(i, 0) != TAG_NOW) this.onFail(i);
    }
    return call;
  }

  /** Datagram `i` of the last flush failed: its owner's subclass handles it by its tag. */
  onFail(i: u32): void {}

  private describe(i: u32, buf: usize, len: u32, port: u32, groups: u32, a: u32, b: u32, c: u32): void {
    const d = this.descs + <usize>i * TX_DESC_SIZE;
    store<u32>(d + TX_PTR, <u32>buf);
    store<u32>(d + TX_LEN, len);
    store<u32>(d + TX_PORT, port);
    store<u32>(d + TX_GROUPS, groups);
    store<u32>(d + TX_ERRNO, 0);
    const t = this.tags + (<usize>(i * TAG_WORDS) << 2);
    store<u32>(t, a);
    store<u32>(t, b, 4);
    store<u32>(t, c, 8);
  }
}
