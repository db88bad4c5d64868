// Protocol numbers a user of the client needs (reference §1.1, §1.4, §4.10).

/** Netlink family any user-space process can bind (the default transport). */
export const NETLINK_USERSOCK = 2;
/** Netlink family of RDMA, where the kernel's own port mapper client lives. */
export const NETLINK_RDMA = 20;

/** Client index of the RDMA netlink user `iw_cm` (RDMA_NL_IWCM): the default everywhere. */
export const RDMA_NL_IWCM = 2;
/** Client index of the legacy Chelsio driver (RDMA_NL_C4IW). */
export const RDMA_NL_C4IW = 3;
/** Client indexes are 0..63 (RDMA_NL_NUM_CLIENTS). */
export const MAX_NL_CLIENTS = 64;

/** Mapping flag (ABI v4): keep the local port, reserve nothing (`IW_F_NO_PORT_MAP` devices, e.g. siw). */
export const IWPM_FLAGS_NO_PORT_MAP = 1;

/** Request timeout of the kernel client (IWPM_NL_TIMEOUT), ms. */
export const IWPM_NL_TIMEOUT_MS = 10_000;

/** RDMA_NL_GROUP_IWPM (group 2) as a bind/send bitmask: the group port mappers join. */
export const IWPM_GROUP_MASK = 1 << 1;
