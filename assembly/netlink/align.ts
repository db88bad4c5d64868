// The netlink alignment macros, ported once. No other file rounds lengths.

export const NLMSG_ALIGNTO: u32 = 4;
/** NLMSG_HDRLEN: sizeof(struct nlmsghdr), already aligned. */
export const NLMSG_HDRLEN: u32 = 16;
export const NLA_ALIGNTO: u32 = 4;
/** NLA_HDRLEN: sizeof(struct nlattr), already aligned. */
export const NLA_HDRLEN: u32 = 4;

/** NLMSG_ALIGN(len): ((len) + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1) */
// @ts-ignore: decorator
@inline
export function nlmsgAlign(len: u32): u32 {
  return (len + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

/** NLA_ALIGN(len): ((len) + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1) */
// @ts-ignore: decorator
@inline
export function nlaAlign(len: u32): u32 {
  return (len + NLA_ALIGNTO - 1) & ~(NLA_ALIGNTO - 1);
}
