import { udp_send_to } from "../bindings";
import { AF_INET, AF_INET6 } from "../iwpm/sockaddr";

// The service's UDP sockets, as iwpmd opens them (reference §5.1): per
// family one bound to the port mappers' port (3935) for peers' traffic and
// one on an ephemeral port for the queries it starts. 0 = no such socket.
// Peer addresses cross the import as { family u16, port u16 (host order),
// scope_id u32, address[16] }.

export const SLOT_V4: u32 = 0;
export const SLOT_V4_CLIENT: u32 = 1;
export const SLOT_V6: u32 = 2;
export const SLOT_V6_CLIENT: u32 = 3;
export const UDP_SLOTS: u32 = 4;
const FDS: usize = memory.data(<i32>UDP_SLOTS * 4, 4);

export const PEER_SIZE: u32 = 24;
const PEER_FAMILY: usize = 0;
const PEER_PORT: usize = 2;
const PEER_SCOPE: usize = 4;
export const PEER_ADDR: usize = 8;

/** iwpmd's sender tries each datagram up to this many times. */
const SEND_TRIES: u32 = 3;
/** The peers' UDP port (iwpmd: IWARP_PM_PORT), host order. */
export let peerPort: u32 = 3935;
const NSENT: usize = memory.data(8, 4);

export function setPeerPort(port: u32): void {
  peerPort = port;
}
export function setUdpFd(slot: u32, fd: u32): void {
  if (slot < UDP_SLOTS) store<u32>(FDS + (<usize>slot << 2), fd);
}
export function udpFd(slot: u32): u32 {
  return load<u32>(FDS + (<usize>slot << 2));
}
/** The socket a query to a peer of `family` goes out on. */
export function clientFd(family: u16): u32 {
  return udpFd(family == AF_INET ? SLOT_V4_CLIENT : SLOT_V6_CLIENT);
}
/** The peer record for a sockaddr's address at the peers' port, keeping an IPv6 scope id (link-local peers). */
export function peerFromSockaddr(peer: usize, sa: usize): void {
  memory.fill(peer, 0, PEER_SIZE);
  const family = load<u16>(sa);
  store<u16>(peer, family, PEER_FAMILY);
  store<u16>(peer, <u16>peerPort, PEER_PORT);
  if (family == AF_INET) {
    store<u32>(peer + PEER_ADDR, load<u32>(sa, 4));
  } else if (family == AF_INET6) {
    memory.copy(peer + PEER_ADDR, sa + 8, 16);
    store<u32>(peer, load<u32>(sa, 24), PEER_SCOPE);
  }
}

/** Sends one datagram, retrying as iwpmd's sender does; the WASI errno of the last try (0 sent). */
export function udpSend(fd: u32, buf: usize, len: u32, peer: usize): u32 {
  // EBADF: no socket for this family
  if (fd == 0) return 8;
  let errno: u32 = 0;
  for (let t: u32 = 0; t < SEND_TRIES; t++) {
    errno = <u32>udp_send_to(fd, buf, len, peer, NSENT);
    if (errno == 0) return 0;
  }
  return errno;
}

// @ts-ignore: decorator
@inline
export function isInet(family: u16): bool {
  return family == AF_INET || family == AF_INET6;
}
