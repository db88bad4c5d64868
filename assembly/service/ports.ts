import { handle_close, tcp_reserve } from "../bindings";
import { AF_INET, AF_INET6 } from "../iwpm/sockaddr";

// Mapped ports are held by the host (iwpmd: a TCP socket bound to the
// wildcard address of the family, never listened on). Ports travel in
// network order inside sockaddrs and in host order across the import.

const OUT: usize = memory.data(8, 4);
export let reserveErrno: u32 = 0;
/** The port the last successful reservation got, network order, ready for a sockaddr. */
export let reservedPort: u16 = 0;

/** Reserves `port` (network order, 0 = any) for `family`; the handle (> 0) or 0 on failure. */
export function reservePort(family: u16, port: u16): u32 {
  if (family != AF_INET && family != AF_INET6) {
    reserveErrno = 28; // EINVAL: iwpmd refuses other families before creating a socket
    return 0;
  }
  store<u64>(OUT, 0);
  const errno = <u32>tcp_reserve(<u32>family, <u32>bswap<u16>(port), OUT, OUT + 4);
  const handle = load<u32>(OUT);
  if (errno != 0 || handle == 0) {
    reserveErrno = errno != 0 ? errno : 29;
    return 0;
  }
  reservedPort = bswap<u16>(<u16>load<u32>(OUT, 4));
  return handle;
}

export function releasePort(handle: u32): void {
  if (handle != 0) handle_close(handle);
}
