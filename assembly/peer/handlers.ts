import { OP_REMOTE_INFO, rdmaType } from "../iwpm/constants";
import { SOCKADDR_SIZE } from "../iwpm/sockaddr";
import { E_NO_SPACE, IWPM_REMOTE_QUERY_REJECT, OK } from "../status";
import { NIL } from "../tables/slab";
import { saBuild, saPort, saReadIp } from "../service/addr";
import { countDrop, DROP_EXCHANGE_LIMIT, DROP_PEER_MALFORMED, DROP_PEER_UNMATCHED, emitPeerRequest, emitQueryDone } from "../service/events";
import { mappingFind, mappingFindSameLocal, mappingLocal, mappingMapped, mappingOwner, mappingWildcard } from "../service/mappings";
import { sendConnInfo } from "../service/send";
import { ON_FAIL_EVENT_ERRNO, ON_FAIL_QUIET, svcClientPort } from "../service/state";
import {
  exchangeAdd,
  exchangeAnswered,
  exchangeClient,
  exchangeComplete,
  exchangeCount,
  exchangeFind,
  EXCHANGE_LIMIT,
  exchangeNlPid,
  exchangeNlSeq,
  exchangeNlType,
  exchangeRemote,
  exchangeSetMessage,
  exchangeSrc,
  exchangeType,
  X_ACCEPT,
  X_ACK,
  X_QUERY,
} from "./exchanges";
import { ticksArm } from "./ticks";
import { udpSend } from "./udp";
import {
  formWire,
  MT_ACCEPT,
  MT_ACK,
  MT_REJECT,
  MT_REQUEST,
  parseWire,
  setWireApport,
  W_AP_IP,
  W_CP_IP,
  W_MAPPED_CP_IP,
  wApport,
  wAssoc,
  wCpport,
  wFamily,
  wMappedCpport,
  wType,
} from "./wire";

// A peer port mapper's message (reference §5.4 steps 2-4, §5.5), handled as
// iwpmd's process_iwpm_wire_* functions handle it. Answers go back out of
// the socket the message came in on, to the address it came from.

const MSG: usize = memory.data(64, 8);
const SA_A: usize = memory.data(<i32>SOCKADDR_SIZE, 8);
const SA_B: usize = memory.data(<i32>SOCKADDR_SIZE, 8);
const SA_C: usize = memory.data(<i32>SOCKADDR_SIZE, 8);

/** One datagram of `len` bytes at `buf` (room for 64) from `peer`, received on socket `fd`. */
export function handlePeerDatagram(fd: u32, buf: usize, len: u32, peer: usize): void {
  if (!parseWire(buf, len)) {
    countDrop(DROP_PEER_MALFORMED);
    return;
  }
  if (wType == MT_REQUEST) onRequest(fd, peer);
  else if (wType == MT_ACCEPT) onAccept(fd, peer);
  else if (wType == MT_ACK) onAck();
  else onReject();
}

/** Passive side: is anyone listening at the accepting address? */
function onRequest(fd: u32, peer: usize): void {
  const local = SA_A;
  saBuild(local, wFamily, W_AP_IP, wApport);
  saBuild(SA_C, wFamily, W_CP_IP, wCpport);
  const m = mappingFind(local, false);
  if (m == NIL) {
    udpSend(fd, MSG, formWire(MSG, MT_REJECT), peer);
    emitPeerRequest(0, IWPM_REMOTE_QUERY_REJECT, false, local, SA_C, local, SA_C);
    return;
  }
  // Answer with the mapped port, and the mapped address unless the listener is a wildcard.
  if (mappingWildcard(m)) {
    setWireApport(saPort(mappingMapped(m)));
  } else {
    setWireApport(load<u16>(mappingMapped(m), 2));
    saReadIp(wFamily, mappingMapped(m), W_AP_IP);
  }
  const mappedLocal = SA_A;
  saBuild(mappedLocal, wFamily, W_AP_IP, wApport);
  const remote = SA_C;
  const mappedRemote = SA_B;
  saBuild(mappedRemote, wFamily, W_MAPPED_CP_IP, wMappedCpport);
  if (exchangeFind(wAssoc, mappedLocal, X_ACCEPT) != NIL) {
    emitPeerRequest(mappingOwner(m), OK, true, mappingLocal(m), remote, mappingMapped(m), mappedRemote);
    return;
  }
  if (exchangeCount() >= EXCHANGE_LIMIT) {
    // iwpmd would fail to allocate and answer nothing; the peer retries.
    countDrop(DROP_EXCHANGE_LIMIT);
    emitPeerRequest(mappingOwner(m), E_NO_SPACE, false, mappingLocal(m), remote, mappingMapped(m), mappedRemote);
    return;
  }
  const len = formWire(MSG, MT_ACCEPT);
  const x = exchangeAdd(X_ACCEPT, wAssoc, mappedLocal, remote);
  exchangeSetMessage(x, MSG, len, fd, peer);
  ticksArm();
  udpSend(fd, MSG, len, peer);
  const owner = mappingOwner(m);
  sendConnInfo(owner, rdmaType(owner, OP_REMOTE_INFO), 0, svcClientPort, mappingLocal(m), remote, mappingMapped(m), mappedRemote, 0, ON_FAIL_QUIET, 0);
  emitPeerRequest(owner, OK, false, mappingLocal(m), remote, mappingMapped(m), mappedRemote);
}

/** Active side: the peer accepted; answer the QUERY once and ACK every copy. */
function onAccept(fd: u32, peer: usize): void {
  saBuild(SA_A, wFamily, W_CP_IP, wCpport);
  const remoteMapped = SA_B;
  saBuild(remoteMapped, wFamily, W_AP_IP, wApport);
  const m = mappingFindSameLocal(SA_A);
  const x = m == NIL ? NIL : exchangeFind(wAssoc, mappingLocal(m), X_QUERY | X_ACK);
  if (x == NIL) {
    countDrop(DROP_PEER_UNMATCHED);
    return;
  }
  const wasComplete = exchangeComplete(x);
  const type = exchangeType(x);
  exchangeAnswered(x);
  if (wasComplete) return;
  if (type != X_ACK) {
    const owner = mappingOwner(m);
    const errno = sendConnInfo(owner, exchangeNlType(x), exchangeNlSeq(x), exchangeNlPid(x), mappingLocal(m), exchangeRemote(x), mappingMapped(m), remoteMapped, 0, ON_FAIL_EVENT_ERRNO, 0);
    emitQueryDone(exchangeClient(x), OK, exchangeNlSeq(x), exchangeNlPid(x), errno, mappingLocal(m), exchangeRemote(x), mappingMapped(m), remoteMapped);
    if (errno != 0) return;
    // Remembered so that a repeated ACCEPT (our ACK was lost) is acked again.
    exchangeAdd(X_ACK, wAssoc, exchangeSrc(x), exchangeRemote(x));
    ticksArm();
  }
  udpSend(fd, MSG, formWire(MSG, MT_ACK), peer);
}

/** Active side: nobody listens there; the QUERY gets error 16 with the remote unmapped. */
function onReject(): void {
  saBuild(SA_A, wFamily, W_CP_IP, wCpport);
  const m = mappingFindSameLocal(SA_A);
  const x = m == NIL ? NIL : exchangeFind(wAssoc, mappingLocal(m), X_QUERY);
  if (x == NIL) {
    countDrop(DROP_PEER_UNMATCHED);
    return;
  }
  const wasComplete = exchangeComplete(x);
  exchangeAnswered(x);
  if (wasComplete) return;
  const owner = mappingOwner(m);
  const remote = exchangeRemote(x);
  const errno = sendConnInfo(owner, exchangeNlType(x), exchangeNlSeq(x), exchangeNlPid(x), mappingLocal(m), remote, mappingMapped(m), remote, IWPM_REMOTE_QUERY_REJECT, ON_FAIL_EVENT_ERRNO, 0);
  emitQueryDone(exchangeClient(x), IWPM_REMOTE_QUERY_REJECT, exchangeNlSeq(x), exchangeNlPid(x), errno, mappingLocal(m), remote, mappingMapped(m), remote);
}

/** Passive side: the ACCEPT arrived; stop re-sending it. */
function onAck(): void {
  saBuild(SA_A, wFamily, W_AP_IP, wApport);
  const x = mappingFind(SA_A, true) == NIL ? NIL : exchangeFind(wAssoc, SA_A, X_ACCEPT);
  if (x == NIL) countDrop(DROP_PEER_UNMATCHED);
  else exchangeAnswered(x);
}
