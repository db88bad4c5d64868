import { NLMSG_HDRLEN, nlmsgAlign } from "../netlink/align";
import { attrLen, attrPtr, WALK_LIBNL } from "../netlink/attr";
import {
  IWPM_NLA_HELLO_ABI_VERSION,
  IWPM_NLA_MANAGE_ADDR,
  IWPM_NLA_MANAGE_FLAGS,
  IWPM_NLA_MAPINFO_FLAGS,
  IWPM_NLA_MAPINFO_LOCAL_ADDR,
  IWPM_NLA_MAPINFO_MAPPED_ADDR,
  IWPM_NLA_MAPINFO_SEND_NUM,
  IWPM_NLA_QUERY_FLAGS,
  IWPM_NLA_QUERY_LOCAL_ADDR,
  IWPM_NLA_QUERY_REMOTE_ADDR,
  IWPM_NLA_REG_IBDEV_NAME,
  IWPM_NLA_REG_ULIB_NAME,
} from "../gen/protocol";
import { msgLen, msgPid, msgSeq, msgType } from "../netlink/message";
import {
  IWPM_FLAGS_NO_PORT_MAP,
  IWPM_UABI_VERSION,
  IWPM_UABI_VERSION_MIN,
  NLMSG_DONE,
  NLMSG_ERROR,
  OP_ADD_MAPPING,
  OP_HELLO,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOVE_MAPPING,
  RDMA_NL_IWCM,
  typeClient,
  typeOp,
} from "../iwpm/constants";
import { buildAddMappingReply, buildMapinfoNumAck, buildRegPidReply } from "../iwpm/daemon-messages";
import { attrU16, attrU32, DIR_TO_DAEMON, walkMessage } from "../iwpm/schema";
import { SOCKADDR_SIZE, sockaddrEqual } from "../iwpm/sockaddr";
import {
  E_BAD_FAMILY,
  E_BAD_VERSION,
  E_NO_SPACE,
  E_NOT_FOUND,
  E_NOT_REGISTERED,
  E_SEND_FAILED,
  E_UNKNOWN_OP,
  IWPM_CREATE_MAPPING_ERR,
  IWPM_DUPLICATE_MAPPING_ERR,
  IWPM_INVALID_NLMSG_ERR,
  IWPM_USER_LIB_INFO_ERR,
  IWPM_VERSION_MISMATCH_ERR,
  OK,
} from "../status";
import { NIL } from "../tables/slab";
import { queryRoom, queryStart } from "../peer/query";
import { isInet } from "../peer/udp";
import { saWildcard } from "../service/addr";
import {
  countDrop,
  DROP_BAD_FRAME,
  DROP_EXCHANGE_LIMIT,
  DROP_NO_PORT,
  DROP_PORT_LIMIT,
  DROP_TOTAL_LIMIT,
  emitHello,
  emitMapinfoCount,
  emitMappingAdded,
  emitMappingRemoved,
  emitRegistered,
  emitRequestFailed,
} from "../service/events";
import {
  mappingAdd,
  mappingFind,
  mappingFindSameLocal,
  mappingRoomFor,
  mappingLocal,
  mappingMapped,
  mappingOwner,
  mappingRefs,
  mappingSetRefs,
  mappingWildcard,
} from "../service/mappings";
import { releasePort, reservedPort, reservePort } from "../service/ports";
import { sendHandleErr, sendMapinfoRequest } from "../service/send";
import {
  clientRegistered,
  clientUlib,
  countMapinfo,
  mapinfoAccepted,
  registerClient,
  failRequest,
  ON_FAIL_EVENT_ERRNO,
  ON_FAIL_EVENT_STATUS,
  svcBuf,
  svcPort,
  svcSend,
  svcSender,
  svcSetVersion,
  svcVersion,
  svcTx,
  takeClientSeq,
  unrefMapping,
} from "../service/state";

// The service's netlink side (reference §5.2, §5.3, §4.9), handler by
// handler as iwpmd's process_iwpm_* functions. Messages of a datagram are
// handled in order until one fails, as iwpmd stops there; a failure is
// answered with HANDLE_ERR where iwpmd sends one and reported as an event.

const MAPPED: usize = memory.data(<i32>SOCKADDR_SIZE, 8);
/** Whether an ADD reply may be queued in the transmit area (see onRemove). */
let addsQueued = false;

/** Handles one datagram of `len` bytes at `buf`. */
export function handleServiceDatagram(buf: usize, len: u32): void {
  let p = buf;
  let rem = <i32>len;
  while (rem >= <i32>NLMSG_HDRLEN) {
    const mlen = msgLen(p);
    if (mlen < NLMSG_HDRLEN || <i32>mlen > rem) {
      countDrop(DROP_BAD_FRAME);
      return;
    }
    const type = <u32>msgType(p);
    if (type == <u32>NLMSG_DONE) return;
    if (type == <u32>NLMSG_ERROR) {
      // Any NLMSG_ERROR with seq 0 reads as "the kernel has no HELLO": fall back to v3.
      if (msgSeq(p) == 0) onVersion(p, typeClient(type), IWPM_UABI_VERSION_MIN, true);
      return;
    }
    if (!dispatch(p, typeClient(type), typeOp(type))) return;
    const step = <i32>nlmsgAlign(mlen);
    p += <usize>step;
    rem -= step;
  }
  // Fewer bytes than a header left over: a datagram cut short, or trailing junk.
  if (rem > 0) countDrop(DROP_BAD_FRAME);
}

function dispatch(msg: usize, client: u32, op: u32): bool {
  if (op == OP_REG_PID) return onRegPid(msg, client);
  if (op == OP_ADD_MAPPING || op == OP_QUERY_MAPPING) {
    // A client that has not registered with this instance is ignored outright.
    if (!clientRegistered(client)) return refuse(msg, client, op, E_NOT_REGISTERED, false);
    return op == OP_ADD_MAPPING ? onAdd(msg, client) : onQuery(msg, client);
  }
  if (op == OP_REMOVE_MAPPING) return onRemove(msg, client);
  if (op == OP_MAPINFO) return onMapinfo(msg, client);
  if (op == OP_MAPINFO_NUM) return onMapinfoNum(msg, client);
  if (op == OP_HELLO) return onHello(msg, client);
  return refuse(msg, client, op, E_UNKNOWN_OP, false);
}

/** Reports a refused request, with HANDLE_ERR(code) when `answer`; always false (the datagram stops here). */
function refuse(msg: usize, client: u32, op: u32, code: i32, answer: bool): bool {
  const errno = answer ? sendHandleErr(client, msgSeq(msg), <u32>code, ON_FAIL_EVENT_ERRNO, 0) : 0;
  emitRequestFailed(client, code, msgSeq(msg), op, msgPid(msg), answer, errno);
  return false;
}

/**
 * Whether iwpmd would take the message at `msg` as `op` under the version in use: the one walker
 * with libnl's rules (a bad trailing attribute ends the walk; every occurrence of a known id is
 * checked, the last one kept; ids above the version's maximum are ignored; every id up to it is
 * required). Its values are then read with attrPtr / attrU32 until the next walk.
 */
function validForDaemon(msg: usize, op: u32): bool {
  return walkMessage(msg, msgLen(msg), DIR_TO_DAEMON, op, svcVersion, WALK_LIBNL) == OK;
}

/** The FLAGS attribute when this ABI version has it (v3 ignores an id above its maximum). */
function flagsAttr(id: u32): u32 {
  return svcVersion == IWPM_UABI_VERSION ? attrU32(id) : 0;
}

/** strcmp of two NUL-terminated names of at most 32 bytes. */
function sameName(a: usize, b: usize): bool {
  for (let k: usize = 0; k < 32; k++) {
    const c = load<u8>(a + k);
    if (c != load<u8>(b + k)) return false;
    if (c == 0) return true;
  }
  return true;
}

function onRegPid(msg: usize, client: u32): bool {
  if (!validForDaemon(msg, OP_REG_PID)) return refuse(msg, client, OP_REG_PID, IWPM_INVALID_NLMSG_ERR, true);
  const ulib = attrPtr(IWPM_NLA_REG_ULIB_NAME);
  const first = !clientRegistered(client);
  if (first) registerClient(client, ulib, attrLen(IWPM_NLA_REG_ULIB_NAME));
  else if (!sameName(clientUlib(client), ulib)) return refuse(msg, client, OP_REG_PID, IWPM_USER_LIB_INFO_ERR, true);
  const len = buildRegPidReply(svcBuf(), msgType(msg), takeClientSeq(client), svcPort, msgSeq(msg), attrPtr(IWPM_NLA_REG_IBDEV_NAME), attrLen(IWPM_NLA_REG_IBDEV_NAME), svcVersion);
  const errno = svcSend(len, msgPid(msg), failRequest(client, OP_REG_PID), msgSeq(msg));
  if (errno != 0) {
    emitRequestFailed(client, E_SEND_FAILED, msgSeq(msg), OP_REG_PID, msgPid(msg), false, errno);
    return false;
  }
  emitRegistered(client, OK, msgSeq(msg), msgPid(msg), first);
  return true;
}

/**
 * Whether a new mapping asked for by netlink port `requester` fits the
 * table's bounds; counts the refusal when it does not.
 */
function roomFor(requester: u32): bool {
  const full = mappingRoomFor(requester);
  if (full == 0) return true;
  countDrop(full == 1 ? DROP_PORT_LIMIT : DROP_TOTAL_LIMIT);
  return false;
}

/** A new mapping's mapped address in MAPPED: the local one, with a reserved port unless NO_PORT_MAP. The handle, 0 for none, -1 on failure. */
function newMappedAddress(local: usize, flags: u32): i64 {
  memory.copy(MAPPED, local, SOCKADDR_SIZE);
  if ((flags & IWPM_FLAGS_NO_PORT_MAP) != 0) return 0;
  const handle = reservePort(load<u16>(local), 0);
  if (handle == 0) {
    countDrop(DROP_NO_PORT);
    return -1;
  }
  store<u16>(MAPPED, reservedPort, 2);
  return <i64>handle;
}


function onAdd(msg: usize, client: u32): bool {
  if (!validForDaemon(msg, OP_ADD_MAPPING)) return refuse(msg, client, OP_ADD_MAPPING, IWPM_INVALID_NLMSG_ERR, true);
  const local = attrPtr(IWPM_NLA_MANAGE_ADDR);
  const flags = flagsAttr(IWPM_NLA_MANAGE_FLAGS);
  let m = mappingFind(local, false);
  let handle: i64 = 0;
  if (m != NIL) {
    // Only the very same wildcard address may be added twice; it is shared.
    if (!sockaddrEqual(local, mappingLocal(m)) || !mappingWildcard(m)) return refuse(msg, client, OP_ADD_MAPPING, IWPM_DUPLICATE_MAPPING_ERR, true);
    mappingSetRefs(m, mappingRefs(m) + 1);
  } else {
    if (!roomFor(svcSender.port)) return refuse(msg, client, OP_ADD_MAPPING, IWPM_CREATE_MAPPING_ERR, true);
    handle = newMappedAddress(local, flags);
    if (handle < 0) return refuse(msg, client, OP_ADD_MAPPING, IWPM_CREATE_MAPPING_ERR, true);
  }
  // Listed before its reply leaves, which may be at the end of the pass; iwpmd lists a new mapping
  // only once its reply went out, so a failed send gives the reference back (state.ts onSendFailed).
  if (m == NIL) m = mappingAdd(local, MAPPED, client, flags, <u32>handle, svcSender.port);
  const len = buildAddMappingReply(svcBuf(), msgType(msg), takeClientSeq(client), svcPort, msgSeq(msg), mappingLocal(m), mappingMapped(m));
  const errno = svcSend(len, msgPid(msg), failRequest(client, OP_ADD_MAPPING), msgSeq(msg), m);
  if (errno != 0) {
    unrefMapping(m);
    emitRequestFailed(client, E_SEND_FAILED, msgSeq(msg), OP_ADD_MAPPING, msgPid(msg), false, errno);
    return false;
  }
  if (svcTx.inPass()) addsQueued = true;
  emitMappingAdded(mappingOwner(m), msgSeq(msg), OP_ADD_MAPPING, mappingRefs(m), flags, mappingLocal(m), mappingMapped(m));
  return true;
}

function onQuery(msg: usize, client: u32): bool {
  if (!validForDaemon(msg, OP_QUERY_MAPPING)) return refuse(msg, client, OP_QUERY_MAPPING, IWPM_INVALID_NLMSG_ERR, true);
  const local = attrPtr(IWPM_NLA_QUERY_LOCAL_ADDR);
  const remote = attrPtr(IWPM_NLA_QUERY_REMOTE_ADDR);
  const flags = flagsAttr(IWPM_NLA_QUERY_FLAGS);
  let m = mappingFind(local, false);
  let handle: i64 = 0;
  if (m != NIL) {
    mappingSetRefs(m, mappingRefs(m) + 1);
  } else {
    if (!roomFor(svcSender.port)) return refuse(msg, client, OP_QUERY_MAPPING, IWPM_CREATE_MAPPING_ERR, true);
    handle = newMappedAddress(local, flags);
    if (handle < 0) return refuse(msg, client, OP_QUERY_MAPPING, IWPM_CREATE_MAPPING_ERR, true);
  }
  // A wildcard address cannot be told to a peer.
  const wildcard = m != NIL ? mappingWildcard(m) : saWildcard(local);
  let failure = OK;
  if (wildcard) failure = IWPM_CREATE_MAPPING_ERR;
  else if (!isInet(load<u16>(remote))) failure = E_BAD_FAMILY;
  else if (!queryRoom()) {
    failure = E_NO_SPACE;
    countDrop(DROP_EXCHANGE_LIMIT);
  }
  if (failure != OK) {
    if (m != NIL) unrefMapping(m);
    else releasePort(<u32>handle);
    return refuse(msg, client, OP_QUERY_MAPPING, failure, failure == IWPM_CREATE_MAPPING_ERR);
  }
  if (m == NIL) m = mappingAdd(local, MAPPED, client, flags, <u32>handle, svcSender.port);
  emitMappingAdded(mappingOwner(m), msgSeq(msg), OP_QUERY_MAPPING, mappingRefs(m), flags, mappingLocal(m), mappingMapped(m));
  queryStart(msg, client, m, local, remote);
  return true;
}

function onRemove(msg: usize, client: u32): bool {
  // A queued ADD reply names its mapping by index for the case it fails: it leaves before a
  // mapping can be dropped, so the index cannot come to mean another.
  if (addsQueued) {
    addsQueued = false;
    svcTx.flush();
  }
  if (!validForDaemon(msg, OP_REMOVE_MAPPING)) return refuse(msg, client, OP_REMOVE_MAPPING, IWPM_INVALID_NLMSG_ERR, true);
  const m = mappingFindSameLocal(attrPtr(IWPM_NLA_MANAGE_ADDR));
  // Unknown, or another index's: ignored without an answer (teardown may name a mapping that never was).
  if (m == NIL || mappingOwner(m) != client) {
    emitRequestFailed(client, E_NOT_FOUND, msgSeq(msg), OP_REMOVE_MAPPING, msgPid(msg), false, m == NIL ? 0 : 1);
    return true;
  }
  emitMappingRemoved(mappingOwner(m), msgSeq(msg), mappingRefs(m) - 1, mappingLocal(m), mappingMapped(m));
  unrefMapping(m);
  return true;
}

function onMapinfo(msg: usize, client: u32): bool {
  if (!validForDaemon(msg, OP_MAPINFO)) return refuse(msg, client, OP_MAPINFO, IWPM_INVALID_NLMSG_ERR, true);
  const local = attrPtr(IWPM_NLA_MAPINFO_LOCAL_ADDR);
  const mapped = attrPtr(IWPM_NLA_MAPINFO_MAPPED_ADDR);
  const flags = flagsAttr(IWPM_NLA_MAPINFO_FLAGS);
  const m = mappingFind(local, false);
  if (m != NIL) {
    // The client replays everything it has; an exact copy of a known mapping is fine.
    if (!sockaddrEqual(mappingLocal(m), local) || !sockaddrEqual(mappingMapped(m), mapped)) {
      return refuse(msg, client, OP_MAPINFO, IWPM_DUPLICATE_MAPPING_ERR, true);
    }
    countMapinfo(client);
    return true;
  }
  const family = load<u16>(local);
  if (family != load<u16>(mapped)) return refuse(msg, client, OP_MAPINFO, IWPM_CREATE_MAPPING_ERR, true);
  if (!roomFor(svcSender.port)) return refuse(msg, client, OP_MAPINFO, IWPM_CREATE_MAPPING_ERR, true);
  memory.copy(MAPPED, mapped, SOCKADDR_SIZE);
  let handle: u32 = 0;
  if ((flags & IWPM_FLAGS_NO_PORT_MAP) == 0) {
    // Re-reserve the very port the client uses (port 0 would take any and record it).
    handle = reservePort(family, load<u16>(mapped, 2));
    if (handle == 0) {
      countDrop(DROP_NO_PORT);
      return refuse(msg, client, OP_MAPINFO, IWPM_CREATE_MAPPING_ERR, true);
    }
    store<u16>(MAPPED, reservedPort, 2);
  }
  const i = mappingAdd(local, MAPPED, client, flags, handle, svcSender.port);
  countMapinfo(client);
  emitMappingAdded(client, msgSeq(msg), OP_MAPINFO, 1, flags, mappingLocal(i), mappingMapped(i));
  return true;
}

function onMapinfoNum(msg: usize, client: u32): bool {
  if (!validForDaemon(msg, OP_MAPINFO_NUM)) return refuse(msg, client, OP_MAPINFO_NUM, IWPM_INVALID_NLMSG_ERR, true);
  const sent = attrU32(IWPM_NLA_MAPINFO_SEND_NUM);
  const acked = mapinfoAccepted(client);
  const len = buildMapinfoNumAck(svcBuf(), msgType(msg), takeClientSeq(client), svcPort, msgSeq(msg), sent, acked);
  const errno = svcSend(len, msgPid(msg), ON_FAIL_EVENT_STATUS, 0);
  emitMapinfoCount(client, errno == 0 ? OK : E_SEND_FAILED, msgSeq(msg), msgPid(msg), sent, acked);
  return errno == 0;
}

function onHello(msg: usize, client: u32): bool {
  if (!validForDaemon(msg, OP_HELLO)) return refuse(msg, client, OP_HELLO, IWPM_INVALID_NLMSG_ERR, true);
  const offered = <u32>attrU16(IWPM_NLA_HELLO_ABI_VERSION);
  // Any local process can send a HELLO on NETLINK_USERSOCK; adopting a version
  // no client speaks would make every later REG_PID answer fail (design.md).
  if (offered < IWPM_UABI_VERSION_MIN) {
    emitRequestFailed(client, E_BAD_VERSION, msgSeq(msg), OP_HELLO, msgPid(msg), false, 0);
    return false;
  }
  if (offered > IWPM_UABI_VERSION) {
    // The requestFailed event, pushed after the hello event, tells a late failure.
    const errno = sendHandleErr(client, msgSeq(msg), <u32>IWPM_VERSION_MISMATCH_ERR, ON_FAIL_EVENT_ERRNO, 1);
    emitHello(client, IWPM_VERSION_MISMATCH_ERR, msgSeq(msg), svcVersion, offered, false);
    emitRequestFailed(client, IWPM_VERSION_MISMATCH_ERR, msgSeq(msg), OP_HELLO, msgPid(msg), true, errno);
    return false;
  }
  onVersion(msg, client, offered, false);
  return true;
}

/** The version is settled (a HELLO answer, or v3 after NLMSG_ERROR): ask the clients for their mappings. */
function onVersion(msg: usize, client: u32, version: u32, fallback: bool): void {
  svcSetVersion(version);
  sendMapinfoRequest(RDMA_NL_IWCM);
  // v3 kernels may still run the legacy Chelsio client on index 3.
  if (version == IWPM_UABI_VERSION_MIN) sendMapinfoRequest(RDMA_NL_IWCM + 1);
  emitHello(client, OK, msgSeq(msg), version, fallback ? 0 : version, fallback);
}
