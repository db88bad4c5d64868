import { random_get } from "../bindings";
import { msgPid, msgSeq, msgType } from "../netlink/message";
import { saReadIp } from "../service/addr";
import { mappingLocal, mappingMapped } from "../service/mappings";
import { exchangeAdd, exchangeCount, EXCHANGE_LIMIT, exchangeSetMessage, exchangeSetRequest, X_QUERY } from "./exchanges";
import { ticksArm } from "./ticks";
import { clientFd, PEER_SIZE, peerFromSockaddr, udpSend } from "./udp";
import { formWire, MT_REQUEST, setWireFields, setWirePorts, W_AP_IP, W_CP_IP, W_MAPPED_CP_IP, wAssoc } from "./wire";

// The active side of a QUERY (reference §5.4 step 1): a REQUEST to the
// remote address's port mapper, from the ephemeral socket of its family,
// remembered for retransmission and for matching the answer.

const MSG: usize = memory.data(64, 8);
const DEST: usize = memory.data(<i32>PEER_SIZE, 8);
const SEED: usize = memory.data(8, 8);
let nextAssoc: u64 = 0;

/** The next assochandle: unique among this service's queries (a counter from a random start). */
function takeAssoc(): u64 {
  if (nextAssoc == 0) {
    if (random_get(SEED, 8) == 0) nextAssoc = load<u64>(SEED) & 0x0000_ffff_ffff_ffff;
    if (nextAssoc == 0) nextAssoc = 1;
  }
  const a = nextAssoc;
  nextAssoc = a + 1 == 0 ? 1 : a + 1;
  return a;
}

export function setNextAssoc(value: u64): void {
  nextAssoc = value;
}

/** Whether a new query can be tracked (iwpmd: whether malloc succeeds). */
export function queryRoom(): bool {
  return exchangeCount() < EXCHANGE_LIMIT;
}

/**
 * Sends the REQUEST for a QUERY message `msg` on client index `client`:
 * `local` and `remote` are the request's addresses, mapping `m` holds the
 * mapped local address. The remote's family was checked by the caller.
 */
export function queryStart(msg: usize, client: u32, m: u32, local: usize, remote: usize): void {
  const family = load<u16>(remote);
  setWireFields(family, 0, 0, takeAssoc());
  // iwpmd leaves the unused bytes of IPv4 address fields undefined; ours are zero.
  memory.fill(W_AP_IP, 0, 16);
  memory.fill(W_CP_IP, 0, 16);
  memory.fill(W_MAPPED_CP_IP, 0, 16);
  saReadIp(family, remote, W_AP_IP);
  saReadIp(family, local, W_CP_IP);
  saReadIp(family, mappingMapped(m), W_MAPPED_CP_IP);
  setWirePorts(load<u16>(remote, 2), load<u16>(local, 2), load<u16>(mappingMapped(m), 2));
  const len = formWire(MSG, MT_REQUEST);
  peerFromSockaddr(DEST, remote);
  const fd = clientFd(family);
  const x = exchangeAdd(X_QUERY, wAssoc, mappingLocal(m), remote);
  exchangeSetRequest(x, msgType(msg), msgSeq(msg), msgPid(msg), client);
  exchangeSetMessage(x, MSG, len, fd, DEST);
  ticksArm();
  udpSend(fd, MSG, len, DEST);
}
