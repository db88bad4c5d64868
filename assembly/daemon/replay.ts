import { nowNs } from "../lib/clock";
import { pushEvent } from "../lib/events";
import { EV_PEER_SEEN, EV_PEER_UNFINISHED, writePeerSeen, writePeerUnfinished } from "../gen/events";
import { SOCKADDR_SIZE } from "../iwpm/sockaddr";
import { E_TIMEOUT, OK } from "../status";
import { HashIndex } from "../tables/hash-index";
import { NIL, Slab } from "../tables/slab";
import { saBuild } from "../service/addr";
import { countDrop, DROP_EXCHANGE_LIMIT, DROP_PEER_MALFORMED, DROP_PEER_UNMATCHED } from "../service/events";
import { X_TICKS } from "../peer/exchanges";
import { PEER_R_SIZE } from "../gen/protocol";
import {
  decodeWireRecord,
  MT_ACCEPT,
  MT_ACK,
  MT_REJECT,
  MT_REQUEST,
  parseWire,
  W_AP_IP,
  W_CP_IP,
  W_MAPPED_CP_IP,
  WIRE_REQUEST_SIZE,
  wApport,
  wAssoc,
  wCpport,
  wFamily,
  wIpVer,
  wMappedCpport,
  wType,
} from "../peer/wire";

// Replay of the port mappers' UDP exchanges as a capture shows them (docs/capture.md "How the
// state is found"). The capture may hold both daemons' sides, so this is not one daemon's
// exchange table: it pairs what it sees. A REQUEST begins an exchange, keyed, as the peers key
// theirs, by the assochandle and the connecting side's IP; ACCEPT, ACK and REJECT answer the
// exchange with their key. Each datagram is read with the service's own wire parser, so what
// the service would drop as malformed is dropped here too. The host writes one UDP payload at
// replayPeerPtr(); the verdicts are events (PEER_SEEN, PEER_UNFINISHED) and the service's drop
// counters (PEER_MALFORMED, PEER_UNMATCHED). Time is the capture's, read from the clock import.

/** An exchange whose answer has not come this long after it began is one its peers gave up on (IWPM_MAP_REQ_TIMEOUT ticks, and the tick under way). */
const PEER_LIFETIME_NS: u64 = <u64>(X_TICKS + 1) * 1_000_000_000;

const S_ACCEPTED: u8 = 1;
const S_ACKED: u8 = 2;
const S_REJECTED: u8 = 4;

const R_ASSOC: usize = 0;
const R_CP_IP: usize = 8;
const R_IP_VER: usize = 24;
const R_STATE: usize = 25;
const R_REQUESTS: usize = 28;
const R_FIRST_NS: usize = 32;
const R_ACCEPTED_NS: usize = 40;
const R_HASH: u32 = 48;
const R_NEXT: u32 = 52;
const RECORD_SIZE: u32 = 56;

const IPV4_BYTES: u32 = 4;
const IP_BYTES: u32 = 16;

const slab = new Slab(RECORD_SIZE);
const byKey = new HashIndex(slab, R_HASH, R_NEXT);

const RX: usize = memory.data(<i32>WIRE_REQUEST_SIZE, 8);
const SA_CP: usize = memory.data(<i32>SOCKADDR_SIZE, 8);
const SA_AP: usize = memory.data(<i32>SOCKADDR_SIZE, 8);
const SA_MAPPED_CP: usize = memory.data(<i32>SOCKADDR_SIZE, 8);
const PEER_DECODED: usize = memory.data(<i32>PEER_R_SIZE, 8);

/** The bytes of the connecting IP that count: an IPv4 peer fills only the first 4 of 16. */
// @ts-ignore: decorator
@inline
function ipBytes(ipVer: u32): u32 {
  return ipVer == 4 ? IPV4_BYTES : IP_BYTES;
}

function keyHash(assoc: u64, ipVer: u32): u32 {
  return <u32>assoc ^ <u32>(assoc >> 32) ^ load<u32>(W_CP_IP) ^ (ipVer << 24) ^ 0x70656572;
}

/** The exchange of the parsed message's assochandle and connecting IP, or NIL. */
function findExchange(hash: u32): u32 {
  const n = ipBytes(wIpVer);
  let i = byKey.first(hash);
  while (i != NIL) {
    const r = slab.ptr(i);
    if (load<u64>(r + R_ASSOC) == wAssoc && <u32>load<u8>(r + R_IP_VER) == wIpVer && memory.compare(r + R_CP_IP, W_CP_IP, n) == 0) return i;
    i = byKey.next(i);
  }
  return NIL;
}

export function replayPeerPtr(): usize {
  return RX;
}

/**
 * The captured UDP payload of `len` bytes at replayPeerPtr() (at most its first 64 bytes
 * written, as iwpmd reads no more). Returns the exchange it joined (> 0), or 0 when dropped:
 * not a port mapper message (PEER_MALFORMED), an answer to no REQUEST seen (PEER_UNMATCHED), or a
 * REQUEST past the table's bound (EXCHANGE_LIMIT).
 */
export function replayPeer(len: u32): u32 {
  if (!parseWire(RX, min(len, WIRE_REQUEST_SIZE))) {
    countDrop(DROP_PEER_MALFORMED);
    return 0;
  }
  const hash = keyHash(wAssoc, wIpVer);
  let i = findExchange(hash);
  let repeat = false;
  if (wType == MT_REQUEST) {
    if (i == NIL) {
      if (slab.full()) {
        countDrop(DROP_EXCHANGE_LIMIT);
        return 0;
      }
      i = slab.alloc();
      const r = slab.ptr(i);
      store<u64>(r + R_ASSOC, wAssoc);
      memory.copy(r + R_CP_IP, W_CP_IP, ipBytes(wIpVer));
      store<u8>(r + R_IP_VER, <u8>wIpVer);
      store<u64>(r + R_FIRST_NS, nowNs());
      byKey.insert(i, hash);
    } else {
      repeat = true;
    }
    const r = slab.ptr(i);
    store<u32>(r + R_REQUESTS, load<u32>(r + R_REQUESTS) + 1);
  } else {
    if (i == NIL) {
      countDrop(DROP_PEER_UNMATCHED);
      return 0;
    }
    const r = slab.ptr(i);
    const state = load<u8>(r + R_STATE);
    let bit: u8 = S_ACKED;
    if (wType == MT_ACCEPT) bit = S_ACCEPTED;
    else if (wType == MT_REJECT) bit = S_REJECTED;
    repeat = (state & bit) != 0;
    if (!repeat) {
      store<u8>(r + R_STATE, state | bit);
      if (wType == MT_ACCEPT) store<u64>(r + R_ACCEPTED_NS, nowNs());
    }
  }
  saBuild(SA_CP, wFamily, W_CP_IP, wCpport);
  saBuild(SA_AP, wFamily, W_AP_IP, wApport);
  if (wType == MT_REQUEST) saBuild(SA_MAPPED_CP, wFamily, W_MAPPED_CP_IP, wMappedCpport);
  else memory.fill(SA_MAPPED_CP, 0, SOCKADDR_SIZE);
  const e = pushEvent(EV_PEER_SEEN, 0, OK, 0);
  writePeerSeen(e, i, <u32>wType, repeat, load<u32>(slab.ptr(i) + R_REQUESTS), SA_CP, SA_AP, SA_MAPPED_CP);
  return i;
}

/**
 * The captured UDP payload of `len` bytes at replayPeerPtr() as the peer message record at
 * peerDecodedPtr(), for display (docs/abi.md "Peer message record"); a PEER_* status. Pairs
 * nothing and counts nothing: replayPeer gives the verdict.
 */
export function peerDecode(len: u32): u32 {
  return decodeWireRecord(RX, len, PEER_DECODED);
}

export function peerDecodedPtr(): usize {
  return PEER_DECODED;
}

/**
 * The capture ends now: a PEER_UNFINISHED event for every exchange never answered (no ACCEPT or
 * REJECT) or ACCEPTed and never ACKed, oldest first; status TIMEOUT when its peers' lifetime had
 * passed. Returns how many.
 */
export function replayPeerEnd(): u32 {
  const now = nowNs();
  let n: u32 = 0;
  for (let i: u32 = 1; i <= slab.top; i++) {
    const r = slab.ptr(i);
    const state = load<u8>(r + R_STATE);
    let since: u64 = 0;
    let accepted = false;
    if ((state & (S_ACCEPTED | S_REJECTED)) == 0) {
      since = load<u64>(r + R_FIRST_NS);
    } else if ((state & S_ACCEPTED) != 0 && (state & S_ACKED) == 0) {
      since = load<u64>(r + R_ACCEPTED_NS);
      accepted = true;
    } else {
      continue;
    }
    const e = pushEvent(EV_PEER_UNFINISHED, 0, now - since >= PEER_LIFETIME_NS ? E_TIMEOUT : OK, 0);
    writePeerUnfinished(e, i, accepted);
    n++;
  }
  return n;
}
