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

/** Sends one datagram to a netlink port and/or multicast groups (bitmask). */
// @ts-ignore: decorator
@external("iwpm_sock", "send_to")
export declare function send_to(fd: u32, buf: usize, len: usize, port: u32, groups: u32, nsent: usize): u16;

/** Takes one queued datagram with its source port; EAGAIN when none is queued. */
// @ts-ignore: decorator
@external("iwpm_sock", "recv_from")
export declare function recv_from(
  fd: u32,
  buf: usize,
  cap: usize,
  nread: usize,
  port: usize,
  groups: usize,
): u16;

export const ERRNO_SUCCESS: u16 = 0;
export const ERRNO_AGAIN: u16 = 6;
export const ERRNO_MSGSIZE: u16 = 35;

export const CLOCK_MONOTONIC: u32 = 1;
