import { AF_INET, AF_INET6, SOCKADDR_SIZE } from "../iwpm/sockaddr";

// iwpmd keeps and compares whole sockaddr_storage values (128 bytes), so the
// service does too: what a client sent is echoed byte for byte. These are
// iwpmd's helpers over that form (reference §3, §5.3).

/** get_sockaddr_port: the port as stored (network order), 0 for another family. */
export function saPort(sa: usize): u16 {
  const family = load<u16>(sa);
  return family == AF_INET || family == AF_INET6 ? load<u16>(sa, 2) : 0;
}

/** is_wcard_ipaddr: 0.0.0.0 or ::. */
export function saWildcard(sa: usize): bool {
  const family = load<u16>(sa);
  if (family == AF_INET) return load<u32>(sa, 4) == 0;
  if (family == AF_INET6) return load<u64>(sa, 8) == 0 && load<u64>(sa, 16) == 0;
  return false;
}

/**
 * copy_iwpm_sockaddr from a sockaddr: the address bytes (4 at offset 4 for
 * AF_INET, 16 at offset 8 for AF_INET6) and the port, read as `family` says
 * whatever the sockaddr's own family is, as iwpmd reads them.
 */
export function saReadIp(family: u16, sa: usize, ip16: usize): void {
  if (family == AF_INET) store<u32>(ip16, load<u32>(sa, 4));
  else memory.copy(ip16, sa + 8, 16);
}

/** copy_iwpm_sockaddr into a fresh sockaddr: family, port and address; every other byte zero. */
export function saBuild(sa: usize, family: u16, ip16: usize, port: u16): void {
  memory.fill(sa, 0, SOCKADDR_SIZE);
  store<u16>(sa, family);
  store<u16>(sa, port, 2);
  if (family == AF_INET) store<u32>(sa, load<u32>(ip16), 4);
  else memory.copy(sa + 8, ip16, 16);
}
