import { EVENT_SEQ, EVENT_WORD_C } from "../gen/events";
import { NLMSG_HDRLEN, nlmsgAlign } from "../netlink/align";
import { msgLen, msgPid, msgSeq, msgType, NLMSG_SEQ } from "../netlink/message";
import { attrPtr } from "../netlink/attr";
import { frameMessage } from "../iwpm/codec";
import {
  IWPM_NLA_ERR_CODE,
  IWPM_NLA_ERR_SEQ,
  IWPM_NLA_HELLO_ABI_VERSION,
  IWPM_NLA_MAPINFO_ACK_NUM,
  IWPM_NLA_MAPINFO_SEND_NUM,
  IWPM_NLA_MAPINFO_SEQ,
  IWPM_NLA_MAPINFO_ULIB_NAME,
  IWPM_NLA_MAPINFO_ULIB_VER,
  IWPM_NLA_RMANAGE_ADDR,
  IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR,
  IWPM_NLA_RMANAGE_MAPPING_SEQ,
  IWPM_NLA_RQUERY_LOCAL_ADDR,
  IWPM_NLA_RQUERY_MAPPED_LOC_ADDR,
  IWPM_NLA_RQUERY_MAPPED_REM_ADDR,
  IWPM_NLA_RQUERY_MAPPING_ERR,
  IWPM_NLA_RQUERY_MAPPING_SEQ,
  IWPM_NLA_RQUERY_REMOTE_ADDR,
  IWPM_NLA_RREG_IBDEV_NAME,
  IWPM_NLA_RREG_PID_SEQ,
  IWPM_NLA_RREG_ULIB_NAME,
  IWPM_NLA_RREG_ULIB_VER,
} from "../gen/protocol";
import {
  IWPM_UABI_VERSION,
  IWPM_UABI_VERSION_MIN,
  LINUX_EINVAL,
  MAX_DAEMON_DATAGRAM,
  MAX_NL_CLIENTS,
  NLMSG_ERROR,
  NLMSG_MIN_TYPE,
  OP_ADD_MAPPING,
  OP_HANDLE_ERR,
  OP_HELLO,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOTE_INFO,
  OP_REMOVE_MAPPING,
  typeClient,
  typeOp,
} from "../iwpm/constants";
import {
  buildBatchDone,
  buildHello,
  buildMapinfoNum,
  buildMapinfoRecord,
  buildNetlinkError,
  ulibNamePtr,
} from "../iwpm/messages";
import { attrU16, attrU32, DIR_TO_CLIENT, parseMessage, schemaMaxId } from "../iwpm/schema";
import { sockaddrFamilyOk, sockaddrMatches } from "../iwpm/sockaddr";
import {
  E_BAD_CONTROL,
  E_BAD_FAMILY,
  E_BAD_ULIB,
  E_BAD_VALUE,
  E_BAD_VERSION,
  E_DAEMON_ALIVE,
  E_DUPLICATE_RESPONSE,
  E_LATE_RESPONSE,
  E_NETLINK_ERROR,
  E_PID_MISMATCH,
  E_REMOTE_INFO_FULL,
  E_SEND_FAILED,
  E_STRAY_SEQ,
  E_TRUNCATED_DATAGRAM,
  E_TRUNCATED_HEADER,
  E_UNKNOWN_CLIENT,
  E_UNKNOWN_OP,
  E_WRONG_SOURCE,
  IWPM_REMOTE_QUERY_REJECT,
  IWPM_USER_LIB_INFO_ERR,
  OK,
} from "../status";
import { mapinfoClient, mapinfoCount, mapinfoFirst, mapinfoFlags, mapinfoLocal, mapinfoMapped, mapinfoNext } from "../tables/mapinfo";
import { remoteInfoInsert } from "../tables/remote-info";
import {
  OUTCOME_SETTLED,
  OUTCOME_TIMED_OUT,
  R_DEVNAME,
  R_LOCAL,
  R_REMOTE,
  requestClient,
  requestFind,
  requestOp,
  requestOutcome,
  requestPtr,
  requestSeq,
  requestSettle,
} from "../tables/requests";
import { NIL } from "../tables/slab";
import {
  EV_DAEMON_HELLO,
  EV_MAPINFO_ACK,
  EV_MAPINFO_REFUSED,
  EV_MAPINFO_REQUEST,
  EV_MAPINFO_SENT,
  EV_MAPPING_ERROR,
  EV_REMOTE_INFO,
  EV_REQUEST_DONE,
  EVENT_SOFT_LIMIT,
  eventBase,
  eventCount,
  EVENT_SIZE,
  pushEvent,
  setEventAddr,
  setEventKeyAddr,
  setEventOp,
  setEventPort,
  setEventStatus,
  setEventValues,
} from "./events";
import {
  abiVersion,
  clientValid,
  daemonKnown,
  daemonPort,
  maxVersion,
  ownPort,
  PID_UNAVAILABLE,
  PID_UNDEFINED,
  REG_INCOMPL,
  REG_VALID,
  probePort,
  rx,
  sendTx,
  sender,
  setAbiVersion,
  setDaemon,
  setPidState,
  setEchoSeq,
  setRegistration,
  trust,
  TAG_STATUS,
  TAG_VALUE_C,
  takeSeq,
  tx,
  txBuf,
} from "./state";
import { bump, drop, STAT_RX_DATAGRAMS, STAT_RX_MESSAGES, STAT_TX_MESSAGES } from "./stats";

// Inbound: one handler per message the daemon sends (reference §4.6), with
// the kernel's checks. Anything malformed, unexpected or untrusted is dropped
// and counted under its reason; nothing here can leave a table half-changed,
// because every check runs before the first write.

// A reply's sockaddrs reach the events as they are and are checked where they lie; only the
// remote info table makes its keys compact, in its record.

// The MAPINFO_NUM each client sent last, so its ack can be matched.
const MAPINFO_NUM_SEQ: usize = memory.data(<i32>MAX_NL_CLIENTS * 4, 4);

/**
 * Reads queued datagrams, a batch at a time, until none is left or the event queue needs
 * draining; a batch taken is handled whole (nothing accepted is lost). 1 = stopped early.
 */
export function poll(): i32 {
  // One pass: the replies to a batch leave in one send_batch when it is handled.
  tx.begin();
  const more = pollBatches();
  tx.end();
  return more;
}

function pollBatches(): i32 {
  while (eventCount() < EVENT_SOFT_LIMIT) {
    const n = rx.fill();
    if (n <= 0) return n;
    for (let i: u32 = 0; i < <u32>n; i++) {
      rx.sender(i, sender);
      if (rx.truncated(i)) {
        bump(STAT_RX_DATAGRAMS);
        drop(E_TRUNCATED_DATAGRAM);
        continue;
      }
      handleDatagram(rx.bytes(i), rx.length(i));
    }
  }
  return 1;
}

/** A datagram the host fed by hand (replay, benchmarks), from `port`, with no credentials. */
export function handleFed(buf: usize, len: u32, port: u32): void {
  sender.unattested(port);
  handleDatagram(buf, len);
}

/** Handles every message of one datagram from `sender`; a framing error ends the datagram. */
function handleDatagram(buf: usize, len: u32): void {
  bump(STAT_RX_DATAGRAMS);
  let off: u32 = 0;
  while (<i64>len - <i64>off > 0) {
    const framed = frameMessage(buf + off, len - off);
    if (framed < 0) {
      drop(-framed);
      return;
    }
    handleMessage(buf + off, <u32>framed);
    off += nlmsgAlign(<u32>framed);
  }
}

function dropUnmatched(seq: u32): void {
  const outcome = requestOutcome(seq);
  drop(outcome == OUTCOME_SETTLED ? E_DUPLICATE_RESPONSE : outcome == OUTCOME_TIMED_OUT ? E_LATE_RESPONSE : E_STRAY_SEQ);
}

function handleMessage(msg: usize, len: u32): void {
  bump(STAT_RX_MESSAGES);
  const port = sender.port;
  const type = <u32>msgType(msg);
  // Port 0 is the kernel; only it can send from there. Every other sender must pass the trust
  // policy (its kernel-attested credentials), and once the daemon is known nobody else may speak
  // for it, except a (re)started daemon announcing itself with HELLO or a MAPINFO request, and
  // only when the known one is gone.
  if (type < <u32>NLMSG_MIN_TYPE) {
    if (port != 0 && daemonKnown() && port != daemonPort) return drop(E_WRONG_SOURCE);
    const verdict = trust.check(sender);
    if (verdict != OK) return drop(verdict);
    if (type == <u32>NLMSG_ERROR) handleNetlinkError(msg, len);
    return;
  }
  const client = typeClient(type);
  const op = typeOp(type);
  if (schemaMaxId(DIR_TO_CLIENT, op, IWPM_UABI_VERSION) == 0) return drop(E_UNKNOWN_OP);
  if (!clientValid(client)) return drop(E_UNKNOWN_CLIENT);
  const verdict = trust.check(sender);
  if (verdict != OK) return drop(verdict);
  const announce = op == OP_HELLO || op == OP_MAPINFO;
  const newPort = port != 0 && daemonKnown() && port != daemonPort;
  if (newPort && !announce) return drop(E_WRONG_SOURCE);
  if (port != 0 && msgPid(msg) != port) return drop(E_PID_MISMATCH);
  const status = parseMessage(msg, len, DIR_TO_CLIENT, op, IWPM_UABI_VERSION);
  if (status != OK) return drop(status);
  if (newPort && probePort(daemonPort)) return drop(E_DAEMON_ALIVE);
  if (op == OP_REG_PID) onRegPidReply(msg);
  else if (op == OP_ADD_MAPPING) onAddMappingReply(msg);
  else if (op == OP_QUERY_MAPPING) onQueryMappingReply(msg);
  else if (op == OP_REMOTE_INFO) onRemoteInfo(msg, client);
  else if (op == OP_HANDLE_ERR) onMappingError(msg, client);
  else if (op == OP_MAPINFO) onMapinfoRequest(msg, len, client);
  else if (op == OP_MAPINFO_NUM) onMapinfoAck(msg, client);
  else if (op == OP_HELLO) onHello(msg, len, client);
}

/** Finds the pending request a reply names, or counts why there is none. */
function matchRequest(seq: u32, op: u32): u32 {
  const i = requestFind(seq);
  if (i == NIL || requestOp(i) != op) {
    dropUnmatched(seq);
    return NIL;
  }
  return i;
}

function complete(i: u32, status: i32): usize {
  const e = pushEvent(EV_REQUEST_DONE, requestClient(i), status, requestSeq(i));
  setEventOp(e, requestOp(i));
  return e;
}

/** strcmp over two NUL-terminated names of at most 32 bytes. */
function sameName(a: usize, b: usize): bool {
  for (let k: usize = 0; k < 32; k++) {
    const c = load<u8>(a + k);
    if (c != load<u8>(b + k)) return false;
    if (c == 0) return true;
  }
  return true;
}

function onRegPidReply(msg: usize): void {
  const i = matchRequest(attrU32(IWPM_NLA_RREG_PID_SEQ), OP_REG_PID);
  if (i == NIL) return;
  const version = <u32>attrU16(IWPM_NLA_RREG_ULIB_VER);
  // A v3-only client accepts exactly v3, as v3 kernels did.
  const versionOk = maxVersion <= IWPM_UABI_VERSION_MIN ? version == IWPM_UABI_VERSION_MIN : version >= IWPM_UABI_VERSION_MIN;
  let status = OK;
  if (!sameName(attrPtr(IWPM_NLA_RREG_IBDEV_NAME), requestPtr(i) + R_DEVNAME) || !sameName(attrPtr(IWPM_NLA_RREG_ULIB_NAME), ulibNamePtr()) || !versionOk) {
    status = IWPM_USER_LIB_INFO_ERR;
  } else {
    setDaemon(msgPid(msg));
    setAbiVersion(min(version, maxVersion));
    setEchoSeq(msgSeq(msg));
    setRegistration(requestClient(i), REG_VALID);
  }
  const e = complete(i, status);
  setEventValues(e, abiVersion, version, 0);
  setEventPort(e, msgPid(msg));
  requestSettle(i, OUTCOME_SETTLED);
}

function onAddMappingReply(msg: usize): void {
  setEchoSeq(msgSeq(msg));
  const i = matchRequest(attrU32(IWPM_NLA_RMANAGE_MAPPING_SEQ), OP_ADD_MAPPING);
  if (i == NIL) return;
  let status = OK;
  // The daemon echoes the local address; it must be ours (so of a known family), and mapping
  // keeps the family.
  const local = attrPtr(IWPM_NLA_RMANAGE_ADDR);
  const mapped = attrPtr(IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR);
  if (!sockaddrMatches(local, requestPtr(i) + R_LOCAL) || load<u16>(local) != load<u16>(mapped)) {
    status = IWPM_USER_LIB_INFO_ERR;
  }
  const e = complete(i, status);
  if (status == OK) setEventAddr(e, 0, mapped);
  requestSettle(i, OUTCOME_SETTLED);
}

function onQueryMappingReply(msg: usize): void {
  setEchoSeq(msgSeq(msg));
  const i = matchRequest(attrU32(IWPM_NLA_RQUERY_MAPPING_SEQ), OP_QUERY_MAPPING);
  if (i == NIL) return;
  let status = OK;
  const mappedLocal = attrPtr(IWPM_NLA_RQUERY_MAPPED_LOC_ADDR);
  const mappedRemote = attrPtr(IWPM_NLA_RQUERY_MAPPED_REM_ADDR);
  if (<i32>attrU16(IWPM_NLA_RQUERY_MAPPING_ERR) == IWPM_REMOTE_QUERY_REJECT) {
    status = IWPM_REMOTE_QUERY_REJECT;
  } else {
    const r = requestPtr(i);
    const local = attrPtr(IWPM_NLA_RQUERY_LOCAL_ADDR);
    const remote = attrPtr(IWPM_NLA_RQUERY_REMOTE_ADDR);
    if (
      !sockaddrMatches(local, r + R_LOCAL) ||
      !sockaddrMatches(remote, r + R_REMOTE) ||
      load<u16>(local) != load<u16>(mappedLocal) ||
      load<u16>(remote) != load<u16>(mappedRemote)
    ) {
      status = IWPM_USER_LIB_INFO_ERR;
    }
  }
  const e = complete(i, status);
  if (status == OK) {
    setEventAddr(e, 0, mappedLocal);
    setEventAddr(e, 1, mappedRemote);
  }
  requestSettle(i, OUTCOME_SETTLED);
}

function onRemoteInfo(msg: usize, client: u32): void {
  const local = attrPtr(IWPM_NLA_RQUERY_LOCAL_ADDR);
  const remote = attrPtr(IWPM_NLA_RQUERY_REMOTE_ADDR);
  const mappedLocal = attrPtr(IWPM_NLA_RQUERY_MAPPED_LOC_ADDR);
  const mappedRemote = attrPtr(IWPM_NLA_RQUERY_MAPPED_REM_ADDR);
  if (
    !sockaddrFamilyOk(local) ||
    !sockaddrFamilyOk(remote) ||
    load<u16>(local) != load<u16>(mappedLocal) ||
    load<u16>(remote) != load<u16>(mappedRemote)
  ) {
    return drop(E_BAD_FAMILY);
  }
  if (!remoteInfoInsert(mappedLocal, mappedRemote, remote, client)) return drop(E_REMOTE_INFO_FULL);
  setEchoSeq(msgSeq(msg));
  const e = pushEvent(EV_REMOTE_INFO, client, OK, msgSeq(msg));
  setEventAddr(e, 0, local);
  setEventAddr(e, 1, remote);
  setEventAddr(e, 2, mappedLocal);
  setEventAddr(e, 3, mappedRemote);
}

function onMappingError(msg: usize, client: u32): void {
  const seq = attrU32(IWPM_NLA_ERR_SEQ);
  const code = <i32>attrU16(IWPM_NLA_ERR_CODE);
  if (code == 0) return drop(E_BAD_VALUE);
  if (seq == 0) {
    // Errors about MAPINFO records name no request (ERR_SEQ 0): report them as they are.
    const e = pushEvent(EV_MAPPING_ERROR, client, code, 0);
    setEventPort(e, msgPid(msg));
    return;
  }
  const k = logFind(seq, client);
  if (k >= 0) {
    setEchoSeq(msgSeq(msg));
    return onMapinfoRefused(msg, client, <u32>k, code);
  }
  const i = requestFind(seq);
  if (i == NIL) return dropUnmatched(seq);
  setEchoSeq(msgSeq(msg));
  complete(i, code);
  requestSettle(i, OUTCOME_SETTLED);
}

function onMapinfoRequest(msg: usize, len: u32, client: u32): void {
  const version = <u32>attrU16(IWPM_NLA_MAPINFO_ULIB_VER);
  if (!sameName(attrPtr(IWPM_NLA_MAPINFO_ULIB_NAME), ulibNamePtr())) return drop(E_BAD_ULIB);
  if (version < IWPM_UABI_VERSION_MIN) return drop(E_BAD_VERSION);
  setEchoSeq(msgSeq(msg));
  setRegistration(client, REG_INCOMPL);
  setDaemon(msgPid(msg));
  const e = pushEvent(EV_MAPINFO_REQUEST, client, OK, msgSeq(msg));
  setEventValues(e, version, 0, 0);
  setEventPort(e, msgPid(msg));
  // With no record of any client the kernel sends nothing back.
  if (mapinfoCount() != 0) resendMapinfo(client);
}

// The records of each client's latest resend, in the order sent: the record's own header seq
// (which iwpmd echoes in the HANDLE_ERR of a record it refuses), its mapinfo record, the datagram
// it travelled in (iwpmd stops reading a datagram at a refused record) and the client.
const LOG_SEQ: usize = 0;
const LOG_RECORD: usize = 4;
const LOG_DATAGRAM: usize = 8;
const LOG_CLIENT: usize = 12;
const LOG_ENTRY: u32 = 16;
let resendLog: usize = 0;
let resendCap: u32 = 0;
let resendLen: u32 = 0;
let datagramNumber: u32 = 0;

function logAt(k: u32): usize {
  return resendLog + <usize>k * LOG_ENTRY;
}

function logPush(seq: u32, record: u32, client: u32): void {
  if (resendLen == resendCap) {
    resendCap = resendCap == 0 ? 256 : resendCap << 1;
    const bytes = <usize>resendCap * LOG_ENTRY;
    resendLog = resendLog == 0 ? heap.alloc(bytes) : heap.realloc(resendLog, bytes);
  }
  const e = logAt(resendLen++);
  store<u32>(e + LOG_SEQ, seq);
  store<u32>(e + LOG_RECORD, record);
  store<u32>(e + LOG_DATAGRAM, datagramNumber);
  store<u32>(e + LOG_CLIENT, client);
}

/** Forgets a client's earlier resend: a new MAPINFO request starts over. */
function logForget(client: u32): void {
  let kept: u32 = 0;
  for (let k: u32 = 0; k < resendLen; k++) {
    if (load<u32>(logAt(k) + LOG_CLIENT) == client) continue;
    if (kept != k) memory.copy(logAt(kept), logAt(k), LOG_ENTRY);
    kept++;
  }
  resendLen = kept;
}

/** The log entry of a record sent with header seq `seq` to `client`'s daemon, or -1. */
function logFind(seq: u32, client: u32): i32 {
  for (let k = <i32>resendLen - 1; k >= 0; k--) {
    const e = logAt(<u32>k);
    if (load<u32>(e + LOG_SEQ) == seq && load<u32>(e + LOG_CLIENT) == client) return k;
  }
  return -1;
}

/** One MAPINFO record on the wire: header, two sockaddr_storage attributes, FLAGS from v4 on. */
const MAPINFO_RECORD_V3: u32 = 280;
const MAPINFO_RECORD_V4: u32 = 288;

// One batch of MAPINFO records being packed into datagrams.
let batchClient: u32 = 0;
let batchTo: u32 = 0;
let batchOff: u32 = 0;
let batchRecords: u32 = 0;
let batchDatagrams: u32 = 0;
let batchStatus: i32 = OK;
let batchWithFlags: bool = false;
/** The event whose word `batchTag` a late send failure of the batch is written to. */
let batchEvent: u32 = 0;
let batchTag: u32 = 0;

function batchBegin(client: u32, event: u32, tag: u32): void {
  batchEvent = event;
  batchTag = tag;
  batchClient = client;
  batchTo = daemonPort;
  batchOff = 0;
  batchRecords = 0;
  batchDatagrams = 0;
  batchStatus = OK;
  batchWithFlags = abiVersion > IWPM_UABI_VERSION_MIN;
  datagramNumber++;
}

/** Appends record `i` with a sequence number of its own, sending the datagram first when full. */
function batchAdd(i: u32): void {
  if (batchStatus != OK) return;
  const recordSize: u32 = batchWithFlags ? MAPINFO_RECORD_V4 : MAPINFO_RECORD_V3;
  if (batchOff + recordSize + NLMSG_HDRLEN > MAX_DAEMON_DATAGRAM) {
    batchFlush();
    if (batchStatus != OK) return;
  }
  const seq = takeSeq();
  const at = txBuf() + batchOff;
  batchOff += buildMapinfoRecord(at, batchClient, ownPort, mapinfoLocal(i), mapinfoMapped(i), mapinfoFlags(i), batchWithFlags);
  store<u32>(at + NLMSG_SEQ, seq);
  logPush(seq, i, batchClient);
  batchRecords++;
}

function batchFlush(): void {
  batchStatus = flushBatch(batchOff, batchTo);
  batchDatagrams++;
  datagramNumber++;
  batchOff = 0;
}

/**
 * Replays this client's records to the daemon in datagrams iwpmd can read
 * whole (each ends with NLMSG_DONE, where iwpmd stops), then MAPINFO_NUM.
 */
function resendMapinfo(client: u32): void {
  logForget(client);
  // The event comes first so that a send failing after this call can still be told in it.
  const ev = eventCount();
  pushEvent(EV_MAPINFO_SENT, client, OK, 0);
  batchBegin(client, ev, TAG_STATUS);
  for (let i = mapinfoFirst(); i != NIL && batchStatus == OK; i = mapinfoNext(i)) {
    if (mapinfoClient(i) == client) batchAdd(i);
  }
  if (batchStatus == OK && (batchOff > 0 || batchDatagrams == 0)) batchFlush();
  const to = batchTo;
  let status = batchStatus;
  let numSeq: u32 = 0;
  if (status == OK) {
    numSeq = takeSeq();
    status = sendTx(buildMapinfoNum(txBuf(), client, numSeq, ownPort, batchRecords), to, 0, TAG_STATUS, ev);
    if (status == OK) {
      bump(STAT_TX_MESSAGES);
      store<u32>(MAPINFO_NUM_SEQ + (<usize>client << 2), numSeq);
    }
  }
  const e = eventBase() + <usize>ev * EVENT_SIZE;
  // A batch that left early (a full transmit area) may have failed already and said so.
  if (status != OK) setEventStatus(e, status);
  store<u32>(e + EVENT_SEQ, numSeq);
  setEventValues(e, batchRecords, batchDatagrams, 0);
  setEventPort(e, to);
}

/**
 * The daemon refused the resent record of log entry `k` with `code`. It read nothing after it in
 * that datagram, so the records behind it are sent again (with new sequence numbers); the event
 * names the refused record and counts those resent.
 */
function onMapinfoRefused(msg: usize, client: u32, k: u32, code: i32): void {
  const refused = logAt(k);
  const record = load<u32>(refused + LOG_RECORD);
  const datagram = load<u32>(refused + LOG_DATAGRAM);
  store<u32>(refused + LOG_SEQ, 0);
  const e = pushEvent(EV_MAPINFO_REFUSED, client, code, msgSeq(msg));
  setEventKeyAddr(e, 0, mapinfoLocal(record));
  setEventKeyAddr(e, 1, mapinfoMapped(record));
  setEventPort(e, msgPid(msg));
  // Unread: the entries after it that travelled in the same datagram. The log grows while they are
  // resent, so the end of the datagram is found first.
  let end = k + 1;
  while (end < resendLen && load<u32>(logAt(end) + LOG_DATAGRAM) == datagram) end++;
  let resent: u32 = 0;
  if (end > k + 1) {
    batchBegin(client, eventCount() - 1, TAG_VALUE_C);
    for (let j = k + 1; j < end && batchStatus == OK; j++) {
      const entry = logAt(j);
      if (load<u32>(entry + LOG_SEQ) == 0) continue;
      store<u32>(entry + LOG_SEQ, 0);
      batchAdd(load<u32>(entry + LOG_RECORD));
    }
    if (batchStatus == OK && batchOff > 0) batchFlush();
    resent = batchRecords;
  }
  const failed = load<u32>(e + EVENT_WORD_C);
  setEventValues(e, mapinfoFlags(record), resent, failed != 0 ? failed : <u32>batchStatus);
}

function flushBatch(off: u32, to: u32): i32 {
  const len = off + buildBatchDone(txBuf() + off, ownPort);
  return sendTx(len, to, 0, batchTag, batchEvent);
}

/** Replay: a capture shows `client` sent a MAPINFO_NUM with header seq `seq`, so its ack is matched against that. */
export function expectMapinfoAck(client: u32, seq: u32): void {
  store<u32>(MAPINFO_NUM_SEQ + (<usize>client << 2), seq);
}

function onMapinfoAck(msg: usize, client: u32): void {
  const seq = attrU32(IWPM_NLA_MAPINFO_SEQ);
  const slot = MAPINFO_NUM_SEQ + (<usize>client << 2);
  if (seq == 0 || load<u32>(slot) != seq) return drop(E_STRAY_SEQ);
  store<u32>(slot, 0);
  setEchoSeq(msgSeq(msg));
  // ACK_NUM counts every record the daemon accepted since it started, so a
  // difference from SEND_NUM is reported, not treated as a failure.
  const e = pushEvent(EV_MAPINFO_ACK, client, OK, seq);
  setEventValues(e, attrU32(IWPM_NLA_MAPINFO_SEND_NUM), attrU32(IWPM_NLA_MAPINFO_ACK_NUM), 0);
  setEventPort(e, msgPid(msg));
}

function onHello(msg: usize, len: u32, client: u32): void {
  const offered = <u32>attrU16(IWPM_NLA_HELLO_ABI_VERSION);
  if (maxVersion > IWPM_UABI_VERSION_MIN && offered < IWPM_UABI_VERSION_MIN) return drop(E_BAD_VERSION);
  const e = pushEvent(EV_DAEMON_HELLO, client, OK, msgSeq(msg));
  setEventPort(e, msgPid(msg));
  if (maxVersion <= IWPM_UABI_VERSION_MIN) {
    // A v3 kernel has no HELLO op and answers with NLMSG_ERROR; iwpmd reads
    // that as "fall back to v3" (reference §4.9).
    const status = sendTx(buildNetlinkError(txBuf(), msg, len, -LINUX_EINVAL), msgPid(msg), 0, TAG_STATUS, eventCount() - 1);
    setEventStatus(e, status);
    setEventValues(e, IWPM_UABI_VERSION_MIN, offered, 1);
    return;
  }
  setRegistration(client, REG_INCOMPL);
  setEchoSeq(msgSeq(msg));
  setAbiVersion(min(maxVersion, offered));
  setDaemon(msgPid(msg));
  const status = sendTx(buildHello(txBuf(), client, takeSeq(), ownPort, abiVersion), msgPid(msg), 0, TAG_STATUS, eventCount() - 1);
  if (status == OK) bump(STAT_TX_MESSAGES);
  setEventStatus(e, status);
  setEventValues(e, abiVersion, offered, 0);
}

/** NLMSG_ERROR from the kernel: fails the request it names, if any. */
function handleNetlinkError(msg: usize, len: u32): void {
  if (len < NLMSG_HDRLEN * 2 + 4) return drop(E_BAD_CONTROL);
  const origSeq = load<u32>(msg, NLMSG_HDRLEN + 4 + 8);
  const i = requestFind(origSeq);
  if (i == NIL) return drop(E_NETLINK_ERROR);
  const e = complete(i, E_NETLINK_ERROR);
  setEventValues(e, <u32>-load<i32>(msg, NLMSG_HDRLEN), 0, 0);
  requestSettle(i, OUTCOME_SETTLED);
}
