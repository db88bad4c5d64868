import { udp_recv_from, ERRNO_AGAIN, ERRNO_MSGSIZE } from "../bindings";
import { EVENT_SOFT_LIMIT, eventCount } from "../lib/events";
import { OK } from "../status";
import { NIL } from "../tables/slab";
import { handlePeerDatagram } from "../peer/handlers";
import { exchangesClear } from "../peer/exchanges";
import { ticksStop } from "../peer/ticks";
import { PEER_SIZE, UDP_SLOTS, udpFd } from "../peer/udp";
import { WIRE_REQUEST_SIZE } from "../peer/wire";
import { mappingDrop, mappingFirst, mappingHandle } from "../service/mappings";
import { handleServiceDatagram } from "./netlink";
import { releasePort } from "../service/ports";
import { countDrop, DROP_UNTRUSTED } from "../service/events";
import { SRX_CAP, svcRx, svcSender, svcTrust, svcTx } from "../service/state";

// The service's event loop: drain the netlink socket, a batch at a time, and the UDP sockets.

const IO: usize = memory.data(16, 8);
const URX: usize = memory.data(<i32>WIRE_REQUEST_SIZE, 8);
const PEER: usize = memory.data(<i32>PEER_SIZE, 8);

/** Reads every queued datagram until none is left or events need draining; 1 = stopped early. */
export function servicePollAll(): i32 {
  // One pass: the answers to everything read here leave in one send_batch at the end.
  svcTx.begin();
  while (eventCount() < EVENT_SOFT_LIMIT) {
    const n = svcRx.fill();
    if (n <= 0) break;
    for (let i: u32 = 0; i < <u32>n; i++) {
      svcRx.sender(i, svcSender);
      if (svcTrust.check(svcSender) != OK) {
        countDrop(DROP_UNTRUSTED);
        continue;
      }
      // A longer datagram is cut to what iwpmd reads (4112 bytes) and handled as cut.
      handleServiceDatagram(svcRx.bytes(i), min(svcRx.length(i), SRX_CAP));
    }
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
  svcTx.end();
  return eventCount() >= EVENT_SOFT_LIMIT ? 1 : 0;
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
