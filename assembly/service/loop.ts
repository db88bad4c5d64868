import { ERRNO_AGAIN, ERRNO_MSGSIZE, recv_from, udp_recv_from } from "../bindings";
import { EVENT_SOFT_LIMIT, eventCount } from "../client/events";
import { msgLen, msgType } from "../netlink/message";
import { NLMSG_HDRLEN } from "../netlink/align";
import { OP_ADD_MAPPING, typeClient, typeOp } from "../iwpm/constants";
import { E_SEND_FAILED } from "../status";
import { NIL } from "../tables/slab";
import { handlePeerDatagram } from "../peer/handlers";
import { exchangesClear } from "../peer/exchanges";
import { ticksStop } from "../peer/ticks";
import { PEER_SIZE, UDP_SLOTS, udpFd } from "../peer/udp";
import { WIRE_REQUEST_SIZE } from "../peer/wire";
import { emitMappingRemoved, emitRequestFailed } from "./events";
import { mappingDrop, mappingFindSameLocal, mappingFirst, mappingHandle, mappingLocal, mappingMapped, mappingOwner, mappingRefs, mappingSetRefs } from "./mappings";
import { handleServiceDatagram } from "./netlink";
import { releasePort } from "./ports";
import { SRX, SRX_CAP, svcFd } from "./state";

// The service's event loop: drain the netlink socket and the UDP sockets,
// and the after-the-fact report of a netlink send that failed.

const IO: usize = memory.data(16, 8);
const URX: usize = memory.data(<i32>WIRE_REQUEST_SIZE, 8);
const PEER: usize = memory.data(<i32>PEER_SIZE, 8);

/** Reads every queued datagram until none is left or events need draining; 1 = stopped early. */
export function servicePollAll(): i32 {
  while (eventCount() < EVENT_SOFT_LIMIT) {
    const errno = recv_from(svcFd, SRX, SRX_CAP, IO, IO + 4, IO + 8);
    if (errno == ERRNO_AGAIN) break;
    // A longer datagram is cut to what iwpmd reads (4112 bytes) and handled as cut.
    if (errno != 0 && errno != ERRNO_MSGSIZE) break;
    handleServiceDatagram(SRX, min(load<u32>(IO), SRX_CAP));
  }
  for (let slot: u32 = 0; slot < UDP_SLOTS; slot++) {
    const fd = udpFd(slot);
    if (fd == 0) continue;
    while (eventCount() < EVENT_SOFT_LIMIT) {
      // iwpmd reads at most 64 bytes: a longer datagram arrives as its first 64.
      const errno = udp_recv_from(fd, URX, WIRE_REQUEST_SIZE, IO, PEER);
      if (errno == ERRNO_AGAIN) break;
      if (errno != 0 && errno != ERRNO_MSGSIZE) break;
      handlePeerDatagram(fd, URX, min(load<u32>(IO), WIRE_REQUEST_SIZE), PEER);
    }
  }
  return eventCount() >= EVENT_SOFT_LIMIT ? 1 : 0;
}

/**
 * The host could not deliver a netlink message the service sent (reported
 * later, the datagram back at SRX). An ADD reply that never arrived leaves
 * no mapping behind, as in iwpmd, where the reply is sent before listing.
 */
export function serviceSendFailedAt(len: u32, errno: u32): void {
  if (len < NLMSG_HDRLEN || msgLen(SRX) < NLMSG_HDRLEN) return;
  const type = <u32>msgType(SRX);
  const client = typeClient(type);
  emitRequestFailed(client, E_SEND_FAILED, 0, typeOp(type), 0, false, errno);
  if (typeOp(type) != OP_ADD_MAPPING || msgLen(SRX) < NLMSG_HDRLEN + 8 + 132) return;
  const m = mappingFindSameLocal(SRX + NLMSG_HDRLEN + 8 + 4);
  if (m == NIL) return;
  const refs = mappingRefs(m) - 1;
  emitMappingRemoved(mappingOwner(m), 0, refs, mappingLocal(m), mappingMapped(m));
  if (refs != 0) {
    mappingSetRefs(m, refs);
  } else {
    releasePort(mappingHandle(m));
    mappingDrop(m);
  }
}

/** Releases every mapped port and forgets every mapping and exchange (shutdown). */
export function serviceReleaseAll(): u32 {
  let n: u32 = 0;
  for (let m = mappingFirst(); m != NIL; m = mappingFirst()) {
    releasePort(mappingHandle(m));
    mappingDrop(m);
    n++;
  }
  exchangesClear();
  ticksStop();
  return n;
}
