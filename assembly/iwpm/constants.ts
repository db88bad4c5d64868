// Protocol constants (protocol reference §1.4, §1.5, §2.2, §4.9). Values
// mirror include/uapi/rdma/rdma_netlink.h.

/** RDMA_NL_GROUP_IWPM as a bind/send bitmask (group 2 = bit 1). */
export const IWPM_GROUP_MASK: u32 = 1 << 1;

export const RDMA_NL_IWCM: u32 = 2;
/** nlmsg_type carries the client index in 6 bits. */
export const MAX_NL_CLIENTS: u32 = 64;

export {
  NUM_OPS,
  OP_ADD_MAPPING,
  OP_HANDLE_ERR,
  OP_HELLO,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOTE_INFO,
  OP_REMOVE_MAPPING,
} from "../gen/protocol";
import { TYPE_CLIENT_MASK, TYPE_CLIENT_SHIFT, TYPE_OP_MASK } from "../gen/protocol";

// @ts-ignore: decorator
@inline
export function rdmaType(client: u32, op: u32): u16 {
  return <u16>((client << TYPE_CLIENT_SHIFT) + op);
}
// @ts-ignore: decorator
@inline
export function typeClient(type: u32): u32 {
  return (type >> TYPE_CLIENT_SHIFT) & TYPE_CLIENT_MASK;
}
// @ts-ignore: decorator
@inline
export function typeOp(type: u32): u32 {
  return type & TYPE_OP_MASK;
}

export const NLM_F_REQUEST: u16 = 0x1;
export const NLM_F_MULTI: u16 = 0x2;
export const NLMSG_ERROR: u16 = 2;
export const NLMSG_DONE: u16 = 3;
export const NLMSG_MIN_TYPE: u16 = 0x10;

export const IWPM_FLAGS_NO_PORT_MAP: u32 = 1;

export const IWPM_UABI_VERSION_MIN: u32 = 3;
export const IWPM_UABI_VERSION: u32 = 4;

export const IFNAME_SIZE: u32 = 16;
export const DEVNAME_SIZE: u32 = 32;
export const ULIBNAME_SIZE: u32 = 32;

/** iwpmd checks the library name a client registers with. */
export const ULIB_NAME: string = "iWarpPortMapperUser";

/** iwpmd reads at most this many bytes of one datagram (4096 + 16). */
export const MAX_DAEMON_DATAGRAM: u32 = 4112;

// Linux errno values carried in NLMSG_ERROR.
export const LINUX_EINVAL: i32 = 22;
