// The iwpm protocol, described once. build/generate.mjs turns this into the core's constants and
// policy tables (assembly/gen/), the TypeScript names (src/gen/) and the Wireshark dissector;
// nothing else spells an attribute id, a status code or an op name.
//
// Names are the kernel's: include/uapi/rdma/rdma_netlink.h and drivers/infiniband/core/iwpm_msg.c
// (protocol reference §1.4, §2.2, §2.3, §4.5). test/gen/generated.test.ts checks every id here
// against the system's rdma_netlink.h with a C compiler.

/** The two directions a message can travel; a layout is only meaningful with its direction. */
export const DIRECTIONS = [
  { id: 0, name: "to_daemon", constant: "DIR_TO_DAEMON" },
  { id: 1, name: "to_client", constant: "DIR_TO_CLIENT" },
];

/** RDMA_NL_IWPM_* op codes (§1.4); HELLO exists from ABI v4 on. */
export const OPS = [
  { id: 0, name: "REG_PID", kernel: "RDMA_NL_IWPM_REG_PID" },
  { id: 1, name: "ADD_MAPPING", kernel: "RDMA_NL_IWPM_ADD_MAPPING" },
  { id: 2, name: "QUERY_MAPPING", kernel: "RDMA_NL_IWPM_QUERY_MAPPING" },
  { id: 3, name: "REMOVE_MAPPING", kernel: "RDMA_NL_IWPM_REMOVE_MAPPING" },
  { id: 4, name: "REMOTE_INFO", kernel: "RDMA_NL_IWPM_REMOTE_INFO" },
  { id: 5, name: "HANDLE_ERR", kernel: "RDMA_NL_IWPM_HANDLE_ERR" },
  { id: 6, name: "MAPINFO", kernel: "RDMA_NL_IWPM_MAPINFO" },
  { id: 7, name: "MAPINFO_NUM", kernel: "RDMA_NL_IWPM_MAPINFO_NUM" },
  { id: 8, name: "HELLO", kernel: "RDMA_NL_IWPM_HELLO", since: 4 },
];

/**
 * Attribute kinds and the size rules each receiver applies to them (§2.3). `min`/`max` bound the
 * payload (max 0: no bound); `nul`: the last payload byte must be NUL. The kernel (daemon → client)
 * checks sizes as minimums with nla_parse and its names as strings of at most 31 characters; iwpmd
 * (client → daemon) uses libnl's policy: minimum sizes, and NLA_STRING with a maxlen and NUL last.
 * Both sides apply the same numbers, so one rule per kind serves both directions.
 */
export const KINDS = [
  { id: 1, name: "u32", constant: "KIND_U32", min: 4, max: 0, nul: false, display: "u32" },
  { id: 2, name: "u16", constant: "KIND_U16", min: 2, max: 0, nul: false, display: "u16" },
  { id: 3, name: "sockaddr", constant: "KIND_ADDR", min: 128, max: 0, nul: false, display: "addr" },
  /** char[16], NUL padded: the netdev name. */
  { id: 4, name: "char[16]", constant: "KIND_FSTR16", min: 1, max: 16, nul: true, display: "str" },
  /** char[32], NUL padded: device and library names. */
  { id: 5, name: "char[32]", constant: "KIND_FSTR32", min: 1, max: 32, nul: true, display: "str" },
  /** NUL-terminated string of strlen + 1 bytes, at most 31 characters. */
  { id: 6, name: "C string", constant: "KIND_CSTR", min: 1, max: 32, nul: true, display: "str" },
];

// An attribute: kernel name, kind, display field name, and "v4" when ABI v3 does not carry it or
// "error" when it carries an IWPM_* error code (§4.5).
const a = (name, kind, field, note) => ({ name, kind, field, v4only: note === "v4", error: note === "error" });

/**
 * Every message: its direction, op, role (how the CLI and the page label it) and attributes by id
 * (the array index + 1). The request and reply of one op use different enums (ADD's id 3 is FLAGS
 * one way and the mapped address the other).
 */
export const MESSAGES = [
  // client → daemon: iwpmd's policies
  {
    dir: "to_daemon",
    op: "REG_PID",
    role: "request",
    attrs: [
      a("IWPM_NLA_REG_PID_SEQ", "u32", "echoSeq"),
      a("IWPM_NLA_REG_IF_NAME", "char[16]", "ifName"),
      a("IWPM_NLA_REG_IBDEV_NAME", "char[32]", "devName"),
      a("IWPM_NLA_REG_ULIB_NAME", "char[32]", "ulibName"),
    ],
  },
  {
    dir: "to_daemon",
    op: "ADD_MAPPING",
    role: "request",
    attrs: [
      a("IWPM_NLA_MANAGE_MAPPING_SEQ", "u32", "echoSeq"),
      a("IWPM_NLA_MANAGE_ADDR", "sockaddr", "local"),
      a("IWPM_NLA_MANAGE_FLAGS", "u32", "flags", "v4"),
    ],
  },
  {
    dir: "to_daemon",
    op: "QUERY_MAPPING",
    role: "request",
    attrs: [
      a("IWPM_NLA_QUERY_MAPPING_SEQ", "u32", "echoSeq"),
      a("IWPM_NLA_QUERY_LOCAL_ADDR", "sockaddr", "local"),
      a("IWPM_NLA_QUERY_REMOTE_ADDR", "sockaddr", "remote"),
      a("IWPM_NLA_QUERY_FLAGS", "u32", "flags", "v4"),
    ],
  },
  {
    dir: "to_daemon",
    op: "REMOVE_MAPPING",
    role: "",
    attrs: [a("IWPM_NLA_MANAGE_MAPPING_SEQ", "u32", "echoSeq"), a("IWPM_NLA_MANAGE_ADDR", "sockaddr", "local")],
  },
  {
    dir: "to_daemon",
    op: "MAPINFO",
    role: "record",
    attrs: [
      a("IWPM_NLA_MAPINFO_LOCAL_ADDR", "sockaddr", "local"),
      a("IWPM_NLA_MAPINFO_MAPPED_ADDR", "sockaddr", "mapped"),
      a("IWPM_NLA_MAPINFO_FLAGS", "u32", "flags", "v4"),
    ],
  },
  {
    dir: "to_daemon",
    op: "MAPINFO_NUM",
    role: "",
    attrs: [a("IWPM_NLA_MAPINFO_SEQ", "u32", "mapinfoSeq"), a("IWPM_NLA_MAPINFO_SEND_NUM", "u32", "sendNum")],
  },
  { dir: "to_daemon", op: "HELLO", role: "reply", attrs: [a("IWPM_NLA_HELLO_ABI_VERSION", "u16", "abiVersion")] },
  // daemon → client: the kernel's policies
  {
    dir: "to_client",
    op: "REG_PID",
    role: "reply",
    attrs: [
      a("IWPM_NLA_RREG_PID_SEQ", "u32", "requestSeq"),
      a("IWPM_NLA_RREG_IBDEV_NAME", "C string", "devName"),
      a("IWPM_NLA_RREG_ULIB_NAME", "C string", "ulibName"),
      a("IWPM_NLA_RREG_ULIB_VER", "u16", "ulibVersion"),
      a("IWPM_NLA_RREG_PID_ERR", "u16", "pidErr", "error"),
    ],
  },
  {
    dir: "to_client",
    op: "ADD_MAPPING",
    role: "reply",
    attrs: [
      a("IWPM_NLA_RMANAGE_MAPPING_SEQ", "u32", "requestSeq"),
      a("IWPM_NLA_RMANAGE_ADDR", "sockaddr", "local"),
      a("IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR", "sockaddr", "mappedLocal"),
      a("IWPM_NLA_RMANAGE_MAPPING_ERR", "u16", "err", "error"),
    ],
  },
  {
    dir: "to_client",
    op: "QUERY_MAPPING",
    role: "reply",
    attrs: [
      a("IWPM_NLA_RQUERY_MAPPING_SEQ", "u32", "requestSeq"),
      a("IWPM_NLA_RQUERY_LOCAL_ADDR", "sockaddr", "local"),
      a("IWPM_NLA_RQUERY_REMOTE_ADDR", "sockaddr", "remote"),
      a("IWPM_NLA_RQUERY_MAPPED_LOC_ADDR", "sockaddr", "mappedLocal"),
      a("IWPM_NLA_RQUERY_MAPPED_REM_ADDR", "sockaddr", "mappedRemote"),
      a("IWPM_NLA_RQUERY_MAPPING_ERR", "u16", "err", "error"),
    ],
  },
  // REMOTE_INFO reuses the QUERY reply's enum; its SEQ is always 0 (§2.2).
  {
    dir: "to_client",
    op: "REMOTE_INFO",
    role: "",
    attrs: [
      a("IWPM_NLA_RQUERY_MAPPING_SEQ", "u32", "seq"),
      a("IWPM_NLA_RQUERY_LOCAL_ADDR", "sockaddr", "local"),
      a("IWPM_NLA_RQUERY_REMOTE_ADDR", "sockaddr", "remote"),
      a("IWPM_NLA_RQUERY_MAPPED_LOC_ADDR", "sockaddr", "mappedLocal"),
      a("IWPM_NLA_RQUERY_MAPPED_REM_ADDR", "sockaddr", "mappedRemote"),
      a("IWPM_NLA_RQUERY_MAPPING_ERR", "u16", "err", "error"),
    ],
  },
  {
    dir: "to_client",
    op: "HANDLE_ERR",
    role: "",
    attrs: [a("IWPM_NLA_ERR_SEQ", "u32", "errSeq"), a("IWPM_NLA_ERR_CODE", "u16", "errCode", "error")],
  },
  {
    dir: "to_client",
    op: "MAPINFO",
    role: "request",
    attrs: [a("IWPM_NLA_MAPINFO_ULIB_NAME", "C string", "ulibName"), a("IWPM_NLA_MAPINFO_ULIB_VER", "u16", "ulibVersion")],
  },
  {
    dir: "to_client",
    op: "MAPINFO_NUM",
    role: "ack",
    attrs: [
      a("IWPM_NLA_MAPINFO_SEQ", "u32", "requestSeq"),
      a("IWPM_NLA_MAPINFO_SEND_NUM", "u32", "sendNum"),
      a("IWPM_NLA_MAPINFO_ACK_NUM", "u32", "ackNum"),
    ],
  },
  { dir: "to_client", op: "HELLO", role: "", attrs: [a("IWPM_NLA_HELLO_ABI_VERSION", "u16", "abiVersion")] },
];

/**
 * The core's status codes: 0, the protocol's own IWPM_* codes 10..17 (§4.5, u16 on the wire, so a
 * daemon's code passes through unchanged), then the core's own from 100. Each code is also the index
 * of its drop counter. `constant` is the core's name where it differs from `E_` + name.
 */
export const STATUS = [
  { code: 0, name: "OK", constant: "OK", hint: "" },
  {
    code: 10,
    name: "IWPM_INVALID_NLMSG_ERR",
    hint: "the port mapper could not parse the request; check the ABI version both sides speak",
  },
  { code: 11, name: "IWPM_CREATE_MAPPING_ERR", hint: "the port mapper could not reserve a port; free ports or use NO_PORT_MAP" },
  { code: 12, name: "IWPM_DUPLICATE_MAPPING_ERR", hint: "this local address is already mapped; remove the old mapping first" },
  { code: 13, name: "IWPM_UNKNOWN_MAPPING_ERR", hint: "the port mapper does not know this mapping" },
  { code: 14, name: "IWPM_CLIENT_DEV_INFO_ERR", hint: "the port mapper rejected the device information" },
  {
    code: 15,
    name: "IWPM_USER_LIB_INFO_ERR",
    hint: "the reply did not match the request (names, version or addresses); check that the daemon is iwpmd-compatible",
  },
  {
    code: 16,
    name: "IWPM_REMOTE_QUERY_REJECT",
    hint: "the remote port mapper has no listener at that address; check the remote address and that the peer added its mapping",
  },
  { code: 17, name: "IWPM_VERSION_MISMATCH_ERR", hint: "the port mapper refused the ABI version offered" },
  // framing and attribute errors
  { code: 100, name: "TRUNCATED_HEADER", hint: "a datagram ended inside a netlink header" },
  { code: 101, name: "BAD_MSG_LEN", hint: "nlmsg_len is below 16 or past the end of the datagram" },
  { code: 102, name: "BAD_ATTR_LEN", hint: "an attribute length is below 4 or past the end of its message" },
  { code: 103, name: "ATTR_SIZE", hint: "an attribute is too short (or a string too long) for its type" },
  { code: 104, name: "STRING_UNTERMINATED", hint: "a string attribute does not end in NUL" },
  { code: 105, name: "MISSING_ATTR", hint: "a required attribute is absent" },
  { code: 106, name: "UNKNOWN_OP", hint: "the message type names no iwpm operation in this direction" },
  { code: 107, name: "UNKNOWN_CLIENT", hint: "the message is for a client index that was not initialized; call init() for it first" },
  { code: 108, name: "BAD_FAMILY", hint: "an address is neither IPv4 nor IPv6, or families do not match" },
  { code: 109, name: "BAD_CONTROL", hint: "a netlink control message is malformed" },
  // matching and trust
  { code: 110, name: "STRAY_SEQ", hint: "a reply names a sequence number that was never requested" },
  { code: 111, name: "DUPLICATE_RESPONSE", hint: "a reply arrived for a request that was already answered" },
  { code: 112, name: "LATE_RESPONSE", hint: "a reply arrived after its request timed out; raise timeoutMs if the daemon is slow" },
  { code: 113, name: "WRONG_SOURCE", hint: "a message came from a port other than the daemon's" },
  { code: 114, name: "PID_MISMATCH", hint: "a message's nlmsg_pid differs from the port it came from" },
  {
    code: 115,
    name: "REMOTE_INFO_FULL",
    hint: "the remote-info table is at its limit; consume entries with getRemoteInfo or raise remoteInfoLimit",
  },
  { code: 116, name: "BAD_ULIB", hint: "the daemon announced a library name other than iWarpPortMapperUser" },
  { code: 117, name: "BAD_VERSION", hint: "the daemon announced an ABI version below 3" },
  { code: 118, name: "TRUNCATED_DATAGRAM", hint: "a datagram was larger than the receive buffer" },
  { code: 119, name: "BAD_VALUE", hint: "an attribute carries a value the protocol does not allow" },
  // request outcomes and API misuse
  {
    code: 120,
    name: "TIMEOUT",
    hint: "no reply from the port mapper in time; check that iwpmd (or `iwpm serve`) runs and can reach this socket",
  },
  { code: 121, name: "NOT_INITIALIZED", hint: "call init(nlClient) before using that client index" },
  {
    code: 122,
    name: "INVALID_ARGUMENT",
    constant: "E_INVALID_ARG",
    hint: "check the arguments: IPv4/IPv6 addresses, names of at most 31 (device) and 15 (netdev) characters, flags only with ABI v4",
  },
  { code: 123, name: "DAEMON_UNAVAILABLE", hint: "no port mapper is known; call registerPid() first, or start iwpmd / `iwpm serve`" },
  { code: 124, name: "NOT_REGISTERED", hint: "call registerPid() for this client index first" },
  { code: 125, name: "SEND_FAILED", hint: "the datagram could not be sent; check the daemon runs and the socket's permissions" },
  { code: 126, name: "NETLINK_ERROR", hint: "the kernel refused the message (NLMSG_ERROR)" },
  { code: 127, name: "NOT_FOUND", hint: "no such entry" },
  { code: 128, name: "CLIENT_EXITED", hint: "exit() was called for this client index while the request was pending" },
  { code: 129, name: "NO_SPACE", hint: "the buffer is too small for the message" },
  // trust: the kernel-attested credentials of each datagram (SCM_CREDENTIALS)
  {
    code: 130,
    name: "UNTRUSTED_SENDER",
    hint: "a message came from a process whose credentials the trust policy refuses; if your port mapper runs as another user, set daemonUid (or trustDaemon) to match",
  },
  {
    code: 131,
    name: "NO_CREDENTIALS",
    hint: "a message came without kernel-attested credentials, so its sender cannot be trusted; the host socket must pass SCM_CREDENTIALS",
  },
  {
    code: 132,
    name: "DAEMON_ALIVE",
    hint: "another process announced itself as the port mapper while the known one still answers; it was ignored",
  },
  // liveness: the known daemon's port refused a probe while requests waited
  {
    code: 133,
    name: "DAEMON_GONE",
    hint: "the port mapper exited while the request waited (its port refused a probe); restart iwpmd / `iwpm serve`, then call registerPid() again",
  },
];

/** The first code past the table: the size of the per-status drop counters. */
export const STATUS_LIMIT = 134;

/** nlmsg_flags bits (§1.5), in display order. */
export const NLM_FLAGS = [
  { bit: 0x1, name: "REQUEST" },
  { bit: 0x2, name: "MULTI" },
  { bit: 0x4, name: "ACK" },
  { bit: 0x8, name: "ECHO" },
  { bit: 0x10, name: "DUMP_INTR" },
  { bit: 0x20, name: "DUMP_FILTERED" },
];

/** Netlink control message types below NLMSG_MIN_TYPE (§1.5). */
export const NLMSG_TYPES = [
  { id: 1, name: "NLMSG_NOOP" },
  { id: 2, name: "NLMSG_ERROR" },
  { id: 3, name: "NLMSG_DONE" },
  { id: 4, name: "NLMSG_OVERRUN" },
];
export const NLMSG_MIN_TYPE = 0x10;
/** struct nlmsghdr (§1.2): field offsets in host byte order. */
export const NLMSG_HEADER = [
  { name: "LEN", offset: 0, size: 4 },
  { name: "TYPE", offset: 4, size: 2 },
  { name: "FLAGS", offset: 6, size: 2 },
  { name: "SEQ", offset: 8, size: 4 },
  { name: "PID", offset: 12, size: 4 },
];

/** struct nlattr's nla_type: the low 14 bits are the id, the top two NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
export const NLA_TYPE_MASK = 0x3fff;

/** The client index sits in bits 10..15 of nlmsg_type, the op in bits 0..9 (§1.4). */
export const TYPE_CLIENT_SHIFT = 10;
export const TYPE_CLIENT_MASK = 0x3f;
export const TYPE_OP_MASK = 0x3ff;
/** The netlink protocol number of NETLINK_RDMA (what LINKTYPE_NETLINK records carry). */
export const NETLINK_RDMA = 20;

/** Map flags (IWPM_FLAGS_*) carried by FLAGS attributes. */
export const IWPM_FLAGS = [{ bit: 0x1, name: "NO_PORT_MAP" }];

/** IWPM_UABI_VERSION_MIN and IWPM_UABI_VERSION: the ABI versions a layout can belong to. */
export const ABI_VERSIONS = [3, 4];

/**
 * iwpmd's UDP peer protocol (port 3935, §5.4): big-endian fields at fixed offsets. A REQUEST carries
 * the connecting side's mapped address too.
 */
export const PEER = {
  port: 3935,
  requestSize: 64,
  replySize: 48,
  types: ["REQUEST", "ACCEPT", "ACK", "REJECT"],
  fields: [
    // magic: bits 7-6 protocol version, 5-4 type, 3-0 IP version of the addresses
    { name: "magic", offset: 0, size: 1, kind: "magic" },
    { name: "pmtime", offset: 1, size: 1, kind: "uint", field: "pmtime" },
    { name: "reserved", offset: 2, size: 2, kind: "uint", field: "mappedCpPort", note: "REQUEST: the connecting side's mapped port" },
    { name: "apport", offset: 4, size: 2, kind: "uint", field: "apport", note: "accepting (passive) side port" },
    { name: "cpport", offset: 6, size: 2, kind: "uint", field: "cpport", note: "connecting (active) side port" },
    { name: "assochandle", offset: 8, size: 8, kind: "handle", field: "assochandle" },
    { name: "cpipaddr", offset: 16, size: 16, kind: "ip", field: "cpIp", note: "connecting side IP" },
    { name: "apipaddr", offset: 32, size: 16, kind: "ip", field: "apIp", note: "accepting side IP" },
    {
      name: "mapped_cpipaddr",
      offset: 48,
      size: 16,
      kind: "ip",
      field: "mappedCpIp",
      requestOnly: true,
      note: "connecting side mapped IP",
    },
  ],
};

/**
 * The decoded-message record the core fills for hosts (`decodedPtr()`, docs/abi.md): fields in
 * order with their sizes; offsets follow. The message body is kept once, as it arrived (EXTRA);
 * ATTRS lists every attribute in arrival order { nla_type u16, nla_len u16, offset from the
 * message start u32 }, and VALUES points at the payload of the last occurrence of each schema id
 * { payload offset from the message start u32, payload length u32 } at VALUES + 8 * (id - 1).
 */
export const SCHEMA_MAX_ID = 7;
export const VALUE_ENTRY_SIZE = 8;
export const ATTR_ENTRY_SIZE = 8;
/** The longest message the codec takes (codecCap): the most iwpmd reads in one datagram (§1.6). */
export const CODEC_MAX = 4112;
export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
export const MAX_DECODED_ATTRS = (CODEC_MAX - NLMSG_HDRLEN) / NLA_HDRLEN;
export const DECODED_LAYOUT = [
  { name: "LEN", size: 4 },
  { name: "TYPE", size: 2 },
  { name: "FLAGS", size: 2 },
  { name: "SEQ", size: 4 },
  { name: "PID", size: 4 },
  { name: "KIND", size: 4, note: "MSG_IWPM, MSG_DONE, MSG_ERROR or MSG_OTHER_CONTROL" },
  { name: "CLIENT", size: 4 },
  { name: "OP", size: 4 },
  { name: "PRESENT", size: 4, note: "bit id set when attribute id of the schema is present" },
  { name: "CONTROL_VALUE", size: 4, note: "NLMSG_DONE status or NLMSG_ERROR error (int32)" },
  { name: "CONTROL_HAS_VALUE", size: 4, note: "1 when a DONE carries its int32 status" },
  { name: "ORIG_HEADER", size: 16, note: "NLMSG_ERROR: copy of the offending header" },
  { name: "ERROR_OFFSET", size: 4, note: "offset from the message start of the attribute an error names" },
  { name: "ERROR_ATTR", size: 4, note: "id of the attribute an error names (the missing one for MISSING_ATTR; 0: none)" },
  { name: "UNKNOWN_COUNT", size: 4, note: "attributes outside the schema of this (direction, op, version)" },
  { name: "ATTR_COUNT", size: 4, note: "entries in ATTRS" },
  { name: "EXTRA_LEN", size: 4, note: "bytes in EXTRA" },
  {
    name: "VALUES",
    size: VALUE_ENTRY_SIZE * SCHEMA_MAX_ID,
    note: "per schema id: payload offset u32 and length u32 of its last occurrence",
  },
  { name: "ATTRS", size: ATTR_ENTRY_SIZE * MAX_DECODED_ATTRS },
  { name: "EXTRA", size: CODEC_MAX - NLMSG_HDRLEN, note: "the message after its header, as it arrived" },
];
/** Value entry fields. */
export const VALUE_ENTRY = [
  { name: "OFFSET", offset: 0 },
  { name: "LEN", offset: 4 },
];
/** Attribute-list entry fields. */
export const ATTR_ENTRY = [
  { name: "TYPE", offset: 0 },
  { name: "LEN", offset: 2 },
  { name: "OFFSET", offset: 4 },
];
/** Decoded record kinds. */
export const MSG_KINDS = [
  { id: 0, name: "MSG_IWPM" },
  { id: 1, name: "MSG_DONE" },
  { id: 2, name: "MSG_ERROR" },
  { id: 3, name: "MSG_OTHER_CONTROL" },
];
