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
  // replay: what a capture shows the client doing that no client may do
  {
    code: 134,
    name: "SEQ_IN_USE",
    hint: "a request reused the sequence number of one still waiting for its reply; a client must take a fresh one per request",
  },
  // bounds of the core's own tables
  {
    code: 135,
    name: "TABLE_FULL",
    hint: "a table of the core holds its maximum of 16,777,214 records; remove mappings (removeMapping, removeMapinfo) or settle pending requests first",
  },
];

/**
 * The two cores: what coreRole() answers, and the ABI version each speaks. Bump a core's version
 * whenever one of its exports, imports or shared record layouts changes.
 */
export const CORES = [
  { name: "client", role: 1, abi: 10 },
  { name: "daemon", role: 2, abi: 3 },
];

/** The first code past the table: the size of the per-status drop counters. */
export const STATUS_LIMIT = 136;

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
 * What the daemon core's `peerDecode(len)` writes at `peerDecodedPtr()` (docs/abi.md "Peer message
 * record"): one peer message's fields, the integers little-endian whatever the wire's order, the
 * IP fields the 16 bytes as sent (an IPv4 peer fills the first 4). Fields in order with their
 * sizes; offsets follow.
 */
export const PEER_RECORD = [
  { name: "VERSION", size: 1, note: "protocol version: bits 7-6 of the magic byte" },
  { name: "TYPE", size: 1, note: "bits 5-4 of the magic byte: an index into PEER.types" },
  { name: "IP_VERSION", size: 1, note: "bits 3-0 of the magic byte: the addresses' IP version" },
  { name: "PMTIME", size: 1 },
  { name: "MAPPED_CP_PORT", size: 2, note: "the reserved field: a REQUEST's connecting side mapped port" },
  { name: "APPORT", size: 2, note: "accepting (passive) side port" },
  { name: "CPPORT", size: 2, note: "connecting (active) side port" },
  { name: "PROBLEMS", size: 1, note: "PEER_PROBLEM_* bits: why iwpmd would drop it (0: none)" },
  { name: "HAS_MAPPED_CP_IP", size: 1, note: "1 when a REQUEST is long enough to hold its mapped IP" },
  { name: "LENGTH", size: 4, note: "the payload's length" },
  { name: "EXPECTED_LENGTH", size: 4, note: "the length a peer sends this type with (64 for a REQUEST, else 48)" },
  { name: "ASSOC_HI", size: 4, note: "assochandle, high 32 bits" },
  { name: "ASSOC_LO", size: 4, note: "assochandle, low 32 bits" },
  { name: "CP_IP", size: 16, note: "connecting side IP" },
  { name: "AP_IP", size: 16, note: "accepting side IP" },
  { name: "MAPPED_CP_IP", size: 16, note: "a REQUEST's connecting side mapped IP (zeros unless HAS_MAPPED_CP_IP)" },
];
/** What `peerDecode(len)` returns. */
export const PEER_DECODE_STATUS = [
  { id: 0, name: "PEER_OK", note: "well formed; the record holds its fields" },
  { id: 1, name: "PEER_SHORT", note: "shorter than the 48 bytes every peer message has; no record" },
  { id: 2, name: "PEER_MALFORMED", note: "the record holds its fields, and PROBLEMS why iwpmd would drop it" },
];
/** The record's PROBLEMS bits. */
export const PEER_PROBLEMS = [
  { bit: 1, name: "PEER_PROBLEM_LENGTH", note: "LENGTH is not EXPECTED_LENGTH" },
  { bit: 2, name: "PEER_PROBLEM_IP_VERSION", note: "IP_VERSION is neither 4 nor 6" },
];

/**
 * `decodeTracked` (client core) answers the status of a decode and the ABI version whose layout
 * gave it in one number: the status below this bit, the version from it up.
 */
export const DECODE_VERSION_SHIFT = 16;

/**
 * The decoded-message record the core fills for hosts (`decodedPtr()`, docs/abi.md): fields in
 * order with their sizes; offsets follow. The record refers to the message where it lies in core
 * memory (MSG) instead of holding a copy, so decoding costs no body copy; it describes that message
 * until the codec buffer is written again. ATTRS lists every attribute in arrival order
 * { nla_type u16, nla_len u16, offset from the message start u32 }, and VALUES points at the
 * payload of the last occurrence of each schema id { payload offset from the message start u32,
 * payload length u32 } at VALUES + 8 * (id - 1).
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
  {
    name: "EXTRA_LEN",
    size: 4,
    note: "the message's last EXTRA_LEN bytes are its tail as it arrived: the body after the header, or what NLMSG_ERROR echoes after the offending header",
  },
  { name: "MSG", size: 4, note: "address in core memory of the message the record describes" },
  {
    name: "VALUES",
    size: VALUE_ENTRY_SIZE * SCHEMA_MAX_ID,
    note: "per schema id: payload offset u32 and length u32 of its last occurrence",
  },
  { name: "ATTRS", size: ATTR_ENTRY_SIZE * MAX_DECODED_ATTRS },
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

/**
 * The batch descriptors of the socket boundary (docs/abi.md "Batches"): `recv_batch` writes one RX
 * descriptor per datagram, `send_batch` reads one TX descriptor per datagram and writes its errno
 * back. Every field is a little-endian u32 (errno i32); the generator lays them out in order and
 * writes the core's, the hosts' and the native addon's copies (src/native/layout.h).
 */
export const BATCH = [
  {
    name: "RX",
    struct: "rx_desc",
    note: "one per received datagram, written by the host",
    fields: [
      { name: "LEN", type: "u32", note: "the datagram's full length (> slot size when truncated)" },
      { name: "PORT", type: "u32", note: "source nl_pid" },
      { name: "GROUPS", type: "u32", note: "source nl_groups (multicast)" },
      { name: "PID", type: "u32", note: "SCM_CREDENTIALS pid" },
      { name: "UID", type: "u32", note: "SCM_CREDENTIALS uid" },
      { name: "GID", type: "u32", note: "SCM_CREDENTIALS gid" },
      { name: "FLAGS", type: "u32", note: "RXF_* bits" },
    ],
    /** The stride from one descriptor to the next; at least the fields' bytes. */
    size: 32,
    flags: [
      { name: "CREDS", bit: 1, note: "the descriptor carries SCM_CREDENTIALS" },
      { name: "TRUNC", bit: 2, note: "the datagram was longer than its slot; only the slot's bytes are there" },
    ],
  },
  {
    name: "TX",
    struct: "tx_desc",
    note: "one per datagram to send, read by the host",
    fields: [
      { name: "PTR", type: "u32", note: "offset of the bytes in the core's memory" },
      { name: "LEN", type: "u32", note: "bytes to send" },
      { name: "PORT", type: "u32", note: "destination nl_pid" },
      { name: "GROUPS", type: "u32", note: "destination nl_groups" },
      { name: "ERRNO", type: "i32", note: "written by the host: 0 sent, else the errno" },
      { name: "TAG", type: "u32", note: "the core's own; the host leaves it alone" },
    ],
    size: 24,
  },
];

/**
 * The event record the core appends for its host (`eventsPtr()`, `eventSize()`, docs/abi.md): every
 * kind shares the header and the record size; its own fields sit at fixed offsets after the header,
 * addresses as sockaddr_storage in four 128-byte slots from SLOT_BASE. Field types: u32, i32, bool
 * (a u32 that is 1 or 0) and sockaddr.
 */
export const EVENT_RECORD = {
  size: 544,
  header: [
    { name: "kind", type: "u16", offset: 0 },
    { name: "nlClient", type: "u16", offset: 2, note: "the netlink client index (nlmsg_type >> 10)" },
    { name: "status", type: "i32", offset: 4, note: "0, an IWPM_* code or a core status" },
    { name: "seq", type: "u32", offset: 8, note: "the request's header seq" },
  ],
  slotBase: 32,
  slotSize: 128,
  /**
   * The words the client's generic setters write (setEventOp, setEventValues, setEventPort in
   * assembly/client/events.ts): every client kind's field sits on one of them or in a slot.
   */
  words: [
    { name: "op", offset: 12 },
    { name: "a", offset: 16 },
    { name: "b", offset: 20 },
    { name: "c", offset: 24 },
    { name: "port", offset: 28 },
  ],
};

const slot = (n) => EVENT_RECORD.slotBase + n * EVENT_RECORD.slotSize;
const ev = (name, type, offset, note) => ({ name, type, offset, note });

/**
 * The client's event kinds (assembly/client/ writes them through the word setters, src/core/events.ts
 * reads them). A field with `alias` shares the bytes of the field it names: which one holds depends
 * on the status.
 */
export const CLIENT_EVENTS = [
  {
    id: 1,
    name: "REQUEST_DONE",
    event: "requestDone",
    note: "a request settled: status 0, the daemon's IWPM_* code or a core status",
    fields: [
      ev("op", "u32", 12, "the request's op"),
      ev("abiVersion", "u32", 16, "REG_PID answered: the ABI version in use"),
      { ...ev("errno", "u32", 16, "NETLINK_ERROR or SEND_FAILED: the errno"), alias: "abiVersion" },
      ev("daemonVersion", "u32", 20, "REG_PID answered: the version the daemon answered"),
      ev("port", "u32", 28, "REG_PID answered: the daemon's port"),
      ev("mappedLocal", "sockaddr", slot(0), "ADD or QUERY answered: the mapped local address"),
      ev("mappedRemote", "sockaddr", slot(1), "QUERY answered: the mapped remote address"),
    ],
  },
  {
    id: 2,
    name: "REMOTE_INFO",
    event: "remoteInfo",
    note: "the daemon told of a connecting peer (seq: the daemon's header seq)",
    fields: [
      ev("local", "sockaddr", slot(0)),
      ev("remote", "sockaddr", slot(1)),
      ev("mappedLocal", "sockaddr", slot(2)),
      ev("mappedRemote", "sockaddr", slot(3)),
    ],
  },
  {
    id: 3,
    name: "MAPPING_ERROR",
    event: "mappingError",
    note: "a HANDLE_ERR that names no request (ERR_SEQ 0); status: its code",
    fields: [ev("port", "u32", 28, "the daemon's port")],
  },
  {
    id: 4,
    name: "DAEMON_HELLO",
    event: "daemonHello",
    note: "a daemon's HELLO answered (seq: its header seq)",
    fields: [
      ev("version", "u32", 16, "the ABI version negotiated"),
      ev("offered", "u32", 20, "the version the daemon offered"),
      ev("answeredAsV3", "bool", 24, "answered as a v3 kernel would"),
      ev("port", "u32", 28, "the daemon's port"),
    ],
  },
  {
    id: 5,
    name: "MAPINFO_REQUEST",
    event: "mapinfoRequest",
    note: "a daemon asked for the mappings (seq: its header seq)",
    fields: [ev("version", "u32", 16, "the ABI version the daemon speaks"), ev("port", "u32", 28, "the daemon's port")],
  },
  {
    id: 6,
    name: "MAPINFO_SENT",
    event: "mapinfoSent",
    note: "the mappings went out to a daemon",
    fields: [
      ev("records", "u32", 16, "MAPINFO records sent"),
      ev("datagrams", "u32", 20, "datagrams they took"),
      ev("port", "u32", 28, "the daemon's port"),
    ],
  },
  {
    id: 7,
    name: "MAPINFO_ACK",
    event: "mapinfoAck",
    note: "the daemon acknowledged the mappings",
    fields: [
      ev("sent", "u32", 16, "records the daemon was told of"),
      ev("acked", "u32", 20, "records it accepted"),
      ev("port", "u32", 28, "the daemon's port"),
    ],
  },
  {
    // 8..15 are the service's kinds (one core may run both).
    id: 16,
    name: "MAPINFO_REFUSED",
    event: "mapinfoRefused",
    note: "the daemon refused a resent MAPINFO record (a HANDLE_ERR naming its seq); status: its IWPM_* code",
    fields: [
      ev("flags", "u32", 16, "the record's mapping flags"),
      ev("resent", "u32", 20, "records behind it in its datagram, which the daemon did not read, sent again"),
      ev("resendStatus", "i32", 24, "0, or the status that stopped sending them again"),
      ev("port", "u32", 28, "the daemon's port"),
      ev("local", "sockaddr", slot(0)),
      ev("mapped", "sockaddr", slot(1)),
    ],
  },
];

/**
 * The service's event kinds (assembly/service/events.ts writes them, src/service/events.ts reads
 * them). `id` is the record's kind; offsets are the ones hosts have always read (docs/abi.md).
 */
export const SERVICE_EVENTS = [
  {
    id: 8,
    name: "SVC_HELLO",
    event: "hello",
    note: "the ABI version settled; status 17 for a refused offer",
    fields: [
      ev("version", "u32", 16, "the version in use"),
      ev("offered", "u32", 20, "the version offered (0 after NLMSG_ERROR)"),
      ev("fallback", "bool", 24, "the v3 fallback after NLMSG_ERROR"),
    ],
  },
  {
    id: 9,
    name: "SVC_CLIENT_REGISTERED",
    event: "clientRegistered",
    note: "REG_PID answered",
    fields: [ev("first", "bool", 16, "the index's first registration"), ev("port", "u32", 28, "the requester's port")],
  },
  {
    id: 10,
    name: "SVC_MAPPING_ADDED",
    event: "mappingAdded",
    note: "a mapping created or shared",
    fields: [
      ev("refcount", "u32", 16, "references now (1: created)"),
      ev("op", "u32", 20, "the op that did it: ADD_MAPPING, QUERY_MAPPING or MAPINFO"),
      ev("flags", "u32", 24, "IWPM_FLAGS_*"),
      ev("local", "sockaddr", slot(0)),
      ev("mapped", "sockaddr", slot(1)),
    ],
  },
  {
    id: 11,
    name: "SVC_MAPPING_REMOVED",
    event: "mappingRemoved",
    note: "a REMOVE (or a lost ADD reply) dropped a reference",
    fields: [
      ev("refcount", "u32", 16, "references left (0: gone, port released)"),
      ev("local", "sockaddr", slot(0)),
      ev("mapped", "sockaddr", slot(1)),
    ],
  },
  {
    id: 12,
    name: "SVC_REQUEST_FAILED",
    event: "requestFailed",
    note: "status: the HANDLE_ERR code sent, or a core status with no answer (NOT_REGISTERED, UNKNOWN_OP, NOT_FOUND, BAD_FAMILY, NO_SPACE, SEND_FAILED)",
    fields: [
      ev("op", "u32", 12, "the request's op"),
      ev("errorSent", "bool", 16, "a HANDLE_ERR went out"),
      ev("errno", "u32", 20, "SEND_FAILED: the errno; NOT_FOUND: 1 when another index owns the address"),
      ev("port", "u32", 28, "the requester's port"),
    ],
  },
  {
    id: 13,
    name: "SVC_PEER_REQUEST",
    event: "peerRequest",
    note: "a peer's REQUEST: status 0 accepted (ACCEPT and REMOTE_INFO sent), 16 rejected, NO_SPACE dropped",
    fields: [
      ev("repeated", "bool", 16, "a repeat, ignored"),
      ev("local", "sockaddr", slot(0), "the listener's local address"),
      ev("remote", "sockaddr", slot(1), "the connecting address"),
      ev("mappedLocal", "sockaddr", slot(2), "the listener's mapped address"),
      ev("mappedRemote", "sockaddr", slot(3), "the connecting side's mapped address"),
    ],
  },
  {
    id: 14,
    name: "SVC_QUERY_DONE",
    event: "queryDone",
    note: "a QUERY we forwarded ended: 0 (ACCEPT; reply sent), 16 (REJECT, or no answer in time; reply sent)",
    fields: [
      ev("errno", "u32", 20, "the errno of a reply that could not be sent"),
      ev("port", "u32", 28, "the requester's port"),
      ev("local", "sockaddr", slot(0)),
      ev("remote", "sockaddr", slot(1)),
      ev("mappedLocal", "sockaddr", slot(2)),
      ev("mappedRemote", "sockaddr", slot(3)),
    ],
  },
  {
    id: 15,
    name: "SVC_MAPINFO_COUNT",
    event: "mapinfoCount",
    note: "MAPINFO_NUM answered",
    fields: [
      ev("sent", "u32", 16, "records the client says it sent"),
      ev("acked", "u32", 20, "records accepted for its index since start"),
      ev("port", "u32", 28, "the requester's port"),
    ],
  },
  {
    id: 17,
    name: "PEER_SEEN",
    event: "peerSeen",
    note: "replay: a captured peer datagram joined an exchange (a REQUEST begins one; ACCEPT, ACK and REJECT answer the newest with its assochandle and connecting IP)",
    fields: [
      ev("exchange", "u32", 12, "the exchange's id in this replay"),
      ev("type", "u32", 16, "the wire type: 0 REQUEST, 1 ACCEPT, 2 ACK, 3 REJECT"),
      ev("repeat", "bool", 20, "the exchange already had a message of this type: a resend, which only counts in requests"),
      ev("requests", "u32", 24, "REQUESTs of the exchange so far"),
      ev("cp", "sockaddr", slot(0), "the connecting side as the message names it"),
      ev("ap", "sockaddr", slot(1), "the accepting side as the message names it (ACCEPT: its mapped address)"),
      ev("mappedCp", "sockaddr", slot(2), "REQUEST: the connecting side's mapped address"),
    ],
  },
  {
    id: 18,
    name: "PEER_UNFINISHED",
    event: "peerUnfinished",
    note: "replay: an exchange still open when the capture ends; status TIMEOUT when its peer lifetime had passed by then",
    fields: [
      ev("exchange", "u32", 12, "the exchange's id in this replay"),
      ev("accepted", "bool", 16, "ACCEPTed and never ACKed (else never ACCEPTed or REJECTed)"),
    ],
  },
];

/** What `serviceMappingRead(m)` writes at `serviceOutPtr()`: one mapping of the service's table. */
export const MAPPING_RECORD = {
  name: "MAPPING",
  size: 288,
  fields: [
    ev("local", "sockaddr", 0),
    ev("mapped", "sockaddr", 128),
    ev("owner", "u32", 256, "the client index that made it"),
    ev("refcount", "u32", 260),
    ev("wildcard", "bool", 264, "the local address is a wildcard"),
    ev("flags", "u32", 268, "IWPM_FLAGS_*"),
    ev("handle", "u32", 272, "the reserved port's handle (0: none)"),
  ],
};
