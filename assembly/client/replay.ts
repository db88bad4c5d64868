// Replay of a capture on the client itself (docs/capture.md "Replay"). What the capture shows the
// client sending is taken as done: the requests it then waits on, the mapinfo records it keeps or
// removes. What it shows the client receiving goes through the client's own handlers, so which
// reply settles which request, and why any other message is refused, is the client's verdict
// (its events and per-reason drop counters), not the replaying host's.
//
// All exports here belong to the client side. The host hands one netlink message at a time,
// written at rxPtr().

import { NLMSG_HDRLEN, nlmsgAlign } from "../netlink/align";
import { msgSeq, msgType } from "../netlink/message";
import { attrLen, attrPtr } from "../netlink/attr";
import {
  IWPM_NLA_HELLO_ABI_VERSION,
  IWPM_NLA_MANAGE_ADDR,
  IWPM_NLA_MANAGE_FLAGS,
  IWPM_NLA_MAPINFO_FLAGS,
  IWPM_NLA_MAPINFO_LOCAL_ADDR,
  IWPM_NLA_MAPINFO_MAPPED_ADDR,
  IWPM_NLA_QUERY_FLAGS,
  IWPM_NLA_QUERY_LOCAL_ADDR,
  IWPM_NLA_QUERY_REMOTE_ADDR,
  IWPM_NLA_REG_IBDEV_NAME,
  IWPM_NLA_RMANAGE_MAPPING_SEQ,
  IWPM_NLA_RQUERY_MAPPING_SEQ,
} from "../gen/protocol";
import { EVENT_KIND, EVENT_SEQ, EVENT_SLOT_BASE, EVENT_STATUS } from "../gen/events";
import {
  IWPM_UABI_VERSION,
  IWPM_UABI_VERSION_MIN,
  NLMSG_ERROR,
  NLMSG_MIN_TYPE,
  OP_ADD_MAPPING,
  OP_HELLO,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOVE_MAPPING,
  typeClient,
  typeOp,
} from "../iwpm/constants";
import { attrU16, attrU32, DIR_TO_CLIENT, DIR_TO_DAEMON, parseMessage, schemaMaxId } from "../iwpm/schema";
import { ADDR_SIZE, addrFromSockaddr } from "../iwpm/sockaddr";
import { E_BAD_FAMILY, E_NOT_FOUND, E_SEQ_IN_USE, E_TABLE_FULL, E_TRUNCATED_HEADER, E_UNKNOWN_OP, OK } from "../status";
import { frameMessage } from "../iwpm/codec";
import { mapinfoCreate, mapinfoFindByLocal, mapinfoFindPair, mapinfoFull, mapinfoMapped, mapinfoRemove } from "../tables/mapinfo";
import { R_DEVNAME, R_LOCAL, R_REMOTE, requestAdd, requestClient, requestFind, requestOp, requestPtr, requestsFull } from "../tables/requests";
import { NIL } from "../tables/slab";
import { EV_REQUEST_DONE, EVENT_SIZE, eventBase, eventCount } from "./events";
import { expectMapinfoAck, handleFed } from "./handlers";
import { maxVersion, RX, RX_CAP, setAbiVersion, timeoutNs } from "./state";
import { nowNs } from "../lib/clock";

const LOCAL: usize = memory.data(<i32>ADDR_SIZE, 8);
const MAPPED: usize = memory.data(<i32>ADDR_SIZE, 8);
const DEVNAME_SIZE: u32 = 32;
// A replayed ADD or QUERY has no device name: its flags ride in that field of the request
// record until the reply, when the mapinfo record the client would create is made from them.
const R_FLAGS: usize = R_DEVNAME;

/** Parses a message the client sent, in the newest layout or, failing that, in v3's. */
function parseSent(len: u32, op: u32): i32 {
  const status = parseMessage(RX, len, DIR_TO_DAEMON, op, IWPM_UABI_VERSION);
  if (status == OK) return OK;
  return parseMessage(RX, len, DIR_TO_DAEMON, op, IWPM_UABI_VERSION_MIN) == OK ? OK : status;
}

/** A u32 attribute, or 0 when the message lacks it (FLAGS in v3 layouts). */
function optionalU32(id: u32): u32 {
  return attrLen(id) >= 4 ? attrU32(id) : 0;
}

/** Records a request the client sent and now waits on; -SEQ_IN_USE when one with its seq still waits. */
function sentRequest(op: u32, client: u32): i32 {
  const seq = msgSeq(RX);
  if (requestFind(seq) != NIL) return -E_SEQ_IN_USE;
  if (op == OP_ADD_MAPPING && !addrFromSockaddr(LOCAL, attrPtr(IWPM_NLA_MANAGE_ADDR))) return -E_BAD_FAMILY;
  if (op == OP_QUERY_MAPPING) {
    if (!addrFromSockaddr(LOCAL, attrPtr(IWPM_NLA_QUERY_LOCAL_ADDR))) return -E_BAD_FAMILY;
    if (!addrFromSockaddr(MAPPED, attrPtr(IWPM_NLA_QUERY_REMOTE_ADDR))) return -E_BAD_FAMILY;
  }
  if (requestsFull()) return -E_TABLE_FULL;
  const r = requestPtr(requestAdd(seq, op, client, nowNs() + timeoutNs));
  if (op == OP_REG_PID) {
    memory.copy(r + R_DEVNAME, attrPtr(IWPM_NLA_REG_IBDEV_NAME), DEVNAME_SIZE);
  } else {
    memory.copy(r + R_LOCAL, LOCAL, ADDR_SIZE);
    if (op == OP_QUERY_MAPPING) memory.copy(r + R_REMOTE, MAPPED, ADDR_SIZE);
    store<u32>(r + R_FLAGS, optionalU32(op == OP_ADD_MAPPING ? IWPM_NLA_MANAGE_FLAGS : IWPM_NLA_QUERY_FLAGS));
  }
  return OK;
}

/**
 * The message at rxPtr(), which the captured client sent. Returns 0; the mapinfo record (> 0) a
 * REMOVE_MAPPING removed or a resent MAPINFO record names (created when the client had none); or
 * -status: the message does not parse, a REMOVE_MAPPING names no record (NOT_FOUND), a request
 * reuses the seq of one still pending (SEQ_IN_USE).
 */
export function replaySent(len: u32): i32 {
  if (len > RX_CAP) len = RX_CAP;
  if (len < NLMSG_HDRLEN) return -E_TRUNCATED_HEADER;
  const type = <u32>msgType(RX);
  if (type < <u32>NLMSG_MIN_TYPE) {
    // An NLMSG_ERROR with seq 0 is how a v3 kernel answers HELLO; iwpmd then speaks v3.
    if (type == <u32>NLMSG_ERROR && msgSeq(RX) == 0) setAbiVersion(IWPM_UABI_VERSION_MIN);
    return OK;
  }
  const op = typeOp(type);
  const client = typeClient(type);
  if (schemaMaxId(DIR_TO_DAEMON, op, IWPM_UABI_VERSION) == 0) return -E_UNKNOWN_OP;
  const status = parseSent(len, op);
  if (status != OK) return -status;
  if (op == OP_REG_PID || op == OP_ADD_MAPPING || op == OP_QUERY_MAPPING) return sentRequest(op, client);
  if (op == OP_REMOVE_MAPPING) {
    if (!addrFromSockaddr(LOCAL, attrPtr(IWPM_NLA_MANAGE_ADDR))) return -E_BAD_FAMILY;
    const newest = mapinfoFindByLocal(LOCAL);
    if (newest == NIL) return -E_NOT_FOUND;
    memory.copy(MAPPED, mapinfoMapped(newest), ADDR_SIZE);
    const i = mapinfoFindPair(LOCAL, MAPPED);
    mapinfoRemove(LOCAL, MAPPED);
    return <i32>i;
  }
  if (op == OP_MAPINFO) {
    if (!addrFromSockaddr(LOCAL, attrPtr(IWPM_NLA_MAPINFO_LOCAL_ADDR))) return -E_BAD_FAMILY;
    if (!addrFromSockaddr(MAPPED, attrPtr(IWPM_NLA_MAPINFO_MAPPED_ADDR))) return -E_BAD_FAMILY;
    const known = mapinfoFindPair(LOCAL, MAPPED);
    if (known != NIL) return <i32>known;
    return mapinfoFull() ? -E_TABLE_FULL : <i32>mapinfoCreate(LOCAL, MAPPED, client, optionalU32(IWPM_NLA_MAPINFO_FLAGS));
  }
  if (op == OP_MAPINFO_NUM) {
    expectMapinfoAck(client, msgSeq(RX));
    return OK;
  }
  if (op == OP_HELLO) {
    // The client's answer settles the version both sides speak.
    const answered = <u32>attrU16(IWPM_NLA_HELLO_ABI_VERSION);
    setAbiVersion(answered < maxVersion ? answered : maxVersion);
  }
  return OK;
}

/**
 * The message at rxPtr(), which the captured client received from netlink port `port`: handled
 * by the client (events, drops). A reply that completes an ADD or QUERY also creates the mapinfo
 * record the client's caller creates then; returns that record (> 0), else 0.
 */
export function replayReceived(len: u32, port: u32): i32 {
  if (len > RX_CAP) len = RX_CAP;
  let seq: u32 = 0;
  let waiting = NIL;
  let flags: u32 = 0;
  let client: u32 = 0;
  const type = len >= NLMSG_HDRLEN ? <u32>msgType(RX) : 0;
  if (type >= <u32>NLMSG_MIN_TYPE) {
    const op = typeOp(type);
    if ((op == OP_ADD_MAPPING || op == OP_QUERY_MAPPING) && parseMessage(RX, len, DIR_TO_CLIENT, op, IWPM_UABI_VERSION) == OK) {
      seq = attrU32(op == OP_ADD_MAPPING ? IWPM_NLA_RMANAGE_MAPPING_SEQ : IWPM_NLA_RQUERY_MAPPING_SEQ);
      waiting = requestFind(seq);
      if (waiting != NIL && requestOp(waiting) == op) {
        memory.copy(LOCAL, requestPtr(waiting) + R_LOCAL, ADDR_SIZE);
        flags = load<u32>(requestPtr(waiting) + R_FLAGS);
        client = requestClient(waiting);
      } else {
        waiting = NIL;
      }
    }
  }
  const before = eventCount();
  handleFed(RX, len, port);
  if (waiting == NIL || eventCount() == before) return 0;
  const e = eventBase() + <usize>(eventCount() - 1) * EVENT_SIZE;
  if (load<u16>(e + EVENT_KIND) != EV_REQUEST_DONE || load<u32>(e + EVENT_SEQ) != seq || load<i32>(e + EVENT_STATUS) != OK) return 0;
  // Slot 0 of a completed ADD or QUERY is the mapped local address.
  if (!addrFromSockaddr(MAPPED, e + EVENT_SLOT_BASE) || mapinfoFull()) return 0;
  return <i32>mapinfoCreate(LOCAL, MAPPED, client, flags);
}

// ---- framing --------------------------------------------------------------------------------

/** The most messages a datagram in RX can hold: each is at least a bare header. */
const FRAME_MAX: u32 = RX_CAP / NLMSG_HDRLEN;
/** One frame: the message's offset in the datagram and its length (nlmsg_len), u32 each. */
const FRAME_SIZE: u32 = 8;
const FRAMES: usize = memory.data(<i32>(FRAME_MAX * FRAME_SIZE), 4);
let framing: i32 = OK;

/**
 * Frames the datagram at rxPtr() as the client reads one: each message's offset and length go to
 * framesPtr() (u32 pairs), and the count is returned. Where a message's header is cut short or its
 * length does not fit, framing stops; framingStatus() says why (0 when it did not stop), and the
 * rest of the datagram, from the end of the last message framed, is what it stopped at.
 */
export function frameDatagram(len: u32): u32 {
  if (len > RX_CAP) len = RX_CAP;
  framing = OK;
  let n: u32 = 0;
  let off: u32 = 0;
  while (off < len) {
    const framed = frameMessage(RX + off, len - off);
    if (framed < 0) {
      framing = -framed;
      break;
    }
    store<u32>(FRAMES + <usize>(n * FRAME_SIZE), off);
    store<u32>(FRAMES + <usize>(n * FRAME_SIZE), <u32>framed, 4);
    n++;
    off += nlmsgAlign(<u32>framed);
  }
  return n;
}

export function framesPtr(): usize {
  return FRAMES;
}

/** Why the last frameDatagram stopped before the end of the datagram: a status, or 0. */
export function framingStatus(): i32 {
  return framing;
}
