// The core's status codes (assembly/status.ts), with a name a program can
// switch on and a hint a person can act on.

export interface StatusInfo {
  readonly name: string;
  readonly hint: string;
}

const table: Record<number, StatusInfo> = {
  0: { name: "OK", hint: "" },
  10: { name: "IWPM_INVALID_NLMSG_ERR", hint: "the port mapper could not parse the request; check the ABI version both sides speak" },
  11: { name: "IWPM_CREATE_MAPPING_ERR", hint: "the port mapper could not reserve a port; free ports or use NO_PORT_MAP" },
  12: { name: "IWPM_DUPLICATE_MAPPING_ERR", hint: "this local address is already mapped; remove the old mapping first" },
  13: { name: "IWPM_UNKNOWN_MAPPING_ERR", hint: "the port mapper does not know this mapping" },
  14: { name: "IWPM_CLIENT_DEV_INFO_ERR", hint: "the port mapper rejected the device information" },
  15: {
    name: "IWPM_USER_LIB_INFO_ERR",
    hint: "the reply did not match the request (names, version or addresses); check that the daemon is iwpmd-compatible",
  },
  16: {
    name: "IWPM_REMOTE_QUERY_REJECT",
    hint: "the remote port mapper has no listener at that address; check the remote address and that the peer added its mapping",
  },
  17: { name: "IWPM_VERSION_MISMATCH_ERR", hint: "the port mapper refused the ABI version offered" },
  100: { name: "TRUNCATED_HEADER", hint: "a datagram ended inside a netlink header" },
  101: { name: "BAD_MSG_LEN", hint: "nlmsg_len is below 16 or past the end of the datagram" },
  102: { name: "BAD_ATTR_LEN", hint: "an attribute length is below 4 or past the end of its message" },
  103: { name: "ATTR_SIZE", hint: "an attribute is too short (or a string too long) for its type" },
  104: { name: "STRING_UNTERMINATED", hint: "a string attribute does not end in NUL" },
  105: { name: "MISSING_ATTR", hint: "a required attribute is absent" },
  106: { name: "UNKNOWN_OP", hint: "the message type names no iwpm operation in this direction" },
  107: { name: "UNKNOWN_CLIENT", hint: "the message is for a client index that was not initialized; call init() for it first" },
  108: { name: "BAD_FAMILY", hint: "an address is neither IPv4 nor IPv6, or families do not match" },
  109: { name: "BAD_CONTROL", hint: "a netlink control message is malformed" },
  110: { name: "STRAY_SEQ", hint: "a reply names a sequence number that was never requested" },
  111: { name: "DUPLICATE_RESPONSE", hint: "a reply arrived for a request that was already answered" },
  112: { name: "LATE_RESPONSE", hint: "a reply arrived after its request timed out; raise timeoutMs if the daemon is slow" },
  113: { name: "WRONG_SOURCE", hint: "a message came from a port other than the daemon's" },
  114: { name: "PID_MISMATCH", hint: "a message's nlmsg_pid differs from the port it came from" },
  115: {
    name: "REMOTE_INFO_FULL",
    hint: "the remote-info table is at its limit; consume entries with getRemoteInfo or raise remoteInfoLimit",
  },
  116: { name: "BAD_ULIB", hint: "the daemon announced a library name other than iWarpPortMapperUser" },
  117: { name: "BAD_VERSION", hint: "the daemon announced an ABI version below 3" },
  118: { name: "TRUNCATED_DATAGRAM", hint: "a datagram was larger than the receive buffer" },
  119: { name: "BAD_VALUE", hint: "an attribute carries a value the protocol does not allow" },
  120: {
    name: "TIMEOUT",
    hint: "no reply from the port mapper in time; check that iwpmd (or `iwpm serve`) runs and can reach this socket",
  },
  121: { name: "NOT_INITIALIZED", hint: "call init(nlClient) before using that client index" },
  122: {
    name: "INVALID_ARGUMENT",
    hint: "check the arguments: IPv4/IPv6 addresses, names of at most 31 (device) and 15 (netdev) characters, flags only with ABI v4",
  },
  123: { name: "DAEMON_UNAVAILABLE", hint: "no port mapper is known; call registerPid() first, or start iwpmd / `iwpm serve`" },
  124: { name: "NOT_REGISTERED", hint: "call registerPid() for this client index first" },
  125: { name: "SEND_FAILED", hint: "the datagram could not be sent; check the daemon runs and the socket's permissions" },
  126: { name: "NETLINK_ERROR", hint: "the kernel refused the message (NLMSG_ERROR)" },
  127: { name: "NOT_FOUND", hint: "no such entry" },
  128: { name: "CLIENT_EXITED", hint: "exit() was called for this client index while the request was pending" },
  129: { name: "NO_SPACE", hint: "the buffer is too small for the message" },
  130: {
    name: "UNTRUSTED_SENDER",
    hint: "a message came from a process whose credentials the trust policy refuses; if your port mapper runs as another user, set daemonUid (or trust) to match",
  },
  131: {
    name: "NO_CREDENTIALS",
    hint: "a message came without kernel-attested credentials, so its sender cannot be trusted; the host socket must pass SCM_CREDENTIALS",
  },
  132: {
    name: "DAEMON_ALIVE",
    hint: "another process announced itself as the port mapper while the known one still answers; it was ignored",
  },
};

export function statusInfo(code: number): StatusInfo {
  return table[code] ?? { name: `STATUS_${code}`, hint: "unknown status code" };
}

export const STATUS_LIMIT = 133;
export const Status = {
  OK: 0,
  IWPM_REMOTE_QUERY_REJECT: 16,
  TIMEOUT: 120,
  NOT_INITIALIZED: 121,
  INVALID_ARGUMENT: 122,
  DAEMON_UNAVAILABLE: 123,
  NOT_REGISTERED: 124,
  SEND_FAILED: 125,
  NOT_FOUND: 127,
  CLIENT_EXITED: 128,
} as const;

/** Names of the counters after the per-status drop counters (assembly/client/stats.ts). */
export const TRAFFIC_STATS = ["rxDatagrams", "rxMessages", "txDatagrams", "txMessages", "dropped"] as const;
