// One table of status codes, shared by every layer and exported to hosts
// (docs/abi.md). 10..17 are the protocol's own IWPM_* error codes (§4.5) so a
// daemon's code passes through unchanged; the core's own codes start at 100.
// Each code is also the index of its drop counter.

export const OK: i32 = 0;

// iwpm protocol codes (u16 on the wire)
export const IWPM_INVALID_NLMSG_ERR: i32 = 10;
export const IWPM_CREATE_MAPPING_ERR: i32 = 11;
export const IWPM_DUPLICATE_MAPPING_ERR: i32 = 12;
export const IWPM_UNKNOWN_MAPPING_ERR: i32 = 13;
export const IWPM_CLIENT_DEV_INFO_ERR: i32 = 14;
export const IWPM_USER_LIB_INFO_ERR: i32 = 15;
export const IWPM_REMOTE_QUERY_REJECT: i32 = 16;
export const IWPM_VERSION_MISMATCH_ERR: i32 = 17;

// framing and attribute errors
export const E_TRUNCATED_HEADER: i32 = 100;
export const E_BAD_MSG_LEN: i32 = 101;
export const E_BAD_ATTR_LEN: i32 = 102;
export const E_ATTR_SIZE: i32 = 103;
export const E_STRING_UNTERMINATED: i32 = 104;
export const E_MISSING_ATTR: i32 = 105;
export const E_UNKNOWN_OP: i32 = 106;
export const E_UNKNOWN_CLIENT: i32 = 107;
export const E_BAD_FAMILY: i32 = 108;
export const E_BAD_CONTROL: i32 = 109;
// matching and trust
export const E_STRAY_SEQ: i32 = 110;
export const E_DUPLICATE_RESPONSE: i32 = 111;
export const E_LATE_RESPONSE: i32 = 112;
export const E_WRONG_SOURCE: i32 = 113;
export const E_PID_MISMATCH: i32 = 114;
export const E_REMOTE_INFO_FULL: i32 = 115;
export const E_BAD_ULIB: i32 = 116;
export const E_BAD_VERSION: i32 = 117;
export const E_TRUNCATED_DATAGRAM: i32 = 118;
export const E_BAD_VALUE: i32 = 119;
// request outcomes and API misuse
export const E_TIMEOUT: i32 = 120;
export const E_NOT_INITIALIZED: i32 = 121;
export const E_INVALID_ARG: i32 = 122;
export const E_DAEMON_UNAVAILABLE: i32 = 123;
export const E_NOT_REGISTERED: i32 = 124;
export const E_SEND_FAILED: i32 = 125;
export const E_NETLINK_ERROR: i32 = 126;
export const E_NOT_FOUND: i32 = 127;
export const E_CLIENT_EXITED: i32 = 128;
export const E_NO_SPACE: i32 = 129;
// trust (kernel-attested sender credentials)
export const E_UNTRUSTED_SENDER: i32 = 130;
export const E_NO_CREDENTIALS: i32 = 131;
export const E_DAEMON_ALIVE: i32 = 132;

export const STATUS_LIMIT: i32 = 133;
