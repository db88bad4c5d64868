// Every import of the core, in one place. Names and signatures follow WASI
// preview1 where a standard function fits; the socket module is ours because
// preview1 has no datagram addressing. Each returns a WASI errno (0 = success).

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "clock_time_get")
export declare function clock_time_get(clockId: u32, precision: u64, timeOut: usize): u16;

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "random_get")
export declare function random_get(buf: usize, bufLen: usize): u16;

// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
export declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;

/**
 * Sends `count` datagrams described by transmit descriptors at `descs` (docs/abi.md "Batches"),
 * each straight from the core's memory, and writes each one's errno into its descriptor. Returns
 * an errno only when the call itself is wrong (EBADF, EFAULT).
 */
// @ts-ignore: decorator
@external("iwpm_sock", "send_batch")
export declare function send_batch(fd: u32, descs: usize, count: u32): u16;

/**
 * Receives up to `max` queued datagrams: datagram i lands at `data + i * slot` (at most `slot`
 * bytes) with its receive descriptor at `descs` (length, source port and groups, the sender's
 * credentials); the count goes to `*count`. EAGAIN when nothing is queued.
 */
// @ts-ignore: decorator
@external("iwpm_sock", "recv_batch")
export declare function recv_batch(fd: u32, descs: usize, data: usize, slot: u32, max: u32, count: usize): u16;

/**
 * The host's own verdict on a sender's credentials, for a trust policy the host defines
 * (docs/api.md "Trust"): 1 trusted, 0 not.
 */
// @ts-ignore: decorator
@external("iwpm_sock", "trust_check")
export declare function trust_check(pid: u32, uid: u32, gid: u32): u32;

/**
 * Reserves a TCP port for a mapping: binds the wildcard address of `family`
 * (2 or 10) at `port` (host order; 0 = any) and holds it until handle_close.
 * Writes the handle (> 0) and the bound port.
 */
// @ts-ignore: decorator
@external("iwpm_sock", "tcp_reserve")
export declare function tcp_reserve(family: u32, port: u32, handle: usize, boundPort: usize): u16;

/** Releases what tcp_reserve holds. */
// @ts-ignore: decorator
@external("iwpm_sock", "handle_close")
export declare function handle_close(handle: u32): u16;

/**
 * Sends one UDP datagram to the peer address at `peer`: { family u16, port
 * u16 (host order), scope_id u32, address[16] (IPv4 in the first 4 bytes) }.
 */
// @ts-ignore: decorator
@external("iwpm_sock", "udp_send_to")
export declare function udp_send_to(fd: u32, buf: usize, len: usize, peer: usize, nsent: usize): u16;

/** Takes one queued UDP datagram and writes its source to `peer` (layout as udp_send_to); EAGAIN when none. */
// @ts-ignore: decorator
@external("iwpm_sock", "udp_recv_from")
export declare function udp_recv_from(fd: u32, buf: usize, cap: usize, nread: usize, peer: usize): u16;

export const ERRNO_AGAIN: u16 = 6;
export const ERRNO_MSGSIZE: u16 = 35;
export const ERRNO_CONNREFUSED: u16 = 14;

export const CLOCK_MONOTONIC: u32 = 1;
