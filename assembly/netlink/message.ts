// struct nlmsghdr field offsets (reference §1.2); host byte order.
export const NLMSG_LEN: usize = 0;
export const NLMSG_TYPE: usize = 4;
export const NLMSG_FLAGS: usize = 6;
export const NLMSG_SEQ: usize = 8;
export const NLMSG_PID: usize = 12;

/** Writes a complete header over the first 16 bytes of a message built at `msg`. */
// @ts-ignore: decorator
@inline
export function putHeader(msg: usize, len: u32, type: u16, flags: u16, seq: u32, pid: u32): void {
  store<u32>(msg, len, NLMSG_LEN);
  store<u16>(msg, type, NLMSG_TYPE);
  store<u16>(msg, flags, NLMSG_FLAGS);
  store<u32>(msg, seq, NLMSG_SEQ);
  store<u32>(msg, pid, NLMSG_PID);
}

// @ts-ignore: decorator
@inline
export function msgLen(msg: usize): u32 {
  return load<u32>(msg, NLMSG_LEN);
}
// @ts-ignore: decorator
@inline
export function msgType(msg: usize): u16 {
  return load<u16>(msg, NLMSG_TYPE);
}
// @ts-ignore: decorator
@inline
export function msgFlags(msg: usize): u16 {
  return load<u16>(msg, NLMSG_FLAGS);
}
// @ts-ignore: decorator
@inline
export function msgSeq(msg: usize): u32 {
  return load<u32>(msg, NLMSG_SEQ);
}
// @ts-ignore: decorator
@inline
export function msgPid(msg: usize): u32 {
  return load<u32>(msg, NLMSG_PID);
}
