import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "./ip.js";

// struct sockaddr_storage as the core's ABI carries addresses (128 bytes,
// Linux layout, little-endian host fields; reference §3).

export const SOCKADDR_SIZE = 128;
export const AF_INET = 2;
export const AF_INET6 = 10;

export interface SockAddr {
  family: "ipv4" | "ipv6";
  address: string;
  port: number;
  /** IPv6 only. */
  flowinfo?: number;
  /** IPv6 only: the interface index of a link-local address. */
  scopeId?: number;
}

/** Writes `addr` at `offset`; throws RangeError with the reason when the address text is invalid. */
export function writeSockaddr(view: DataView, offset: number, addr: SockAddr): void {
  new Uint8Array(view.buffer, view.byteOffset + offset, SOCKADDR_SIZE).fill(0);
  if (!Number.isInteger(addr.port) || addr.port < 0 || addr.port > 65535) throw new RangeError(`port ${addr.port} is not 0..65535`);
  if (addr.family === "ipv4") {
    const ip = parseIPv4(addr.address);
    if (ip === null) throw new RangeError(`"${addr.address}" is not an IPv4 address`);
    view.setUint16(offset, AF_INET, true);
    view.setUint16(offset + 2, addr.port, false);
    new Uint8Array(view.buffer, view.byteOffset + offset + 4, 4).set(ip);
    return;
  }
  const ip = parseIPv6(addr.address);
  if (ip === null) throw new RangeError(`"${addr.address}" is not an IPv6 address`);
  view.setUint16(offset, AF_INET6, true);
  view.setUint16(offset + 2, addr.port, false);
  view.setUint32(offset + 4, addr.flowinfo ?? 0, false);
  new Uint8Array(view.buffer, view.byteOffset + offset + 8, 16).set(ip);
  view.setUint32(offset + 24, addr.scopeId ?? 0, true);
}

/** Reads a sockaddr_storage; null for a family other than AF_INET / AF_INET6. */
export function readSockaddr(view: DataView, offset: number): SockAddr | null {
  const family = view.getUint16(offset, true);
  const port = view.getUint16(offset + 2, false);
  if (family === AF_INET) {
    return { family: "ipv4", address: formatIPv4(new Uint8Array(view.buffer, view.byteOffset + offset + 4, 4)), port };
  }
  if (family === AF_INET6) {
    const addr: SockAddr = {
      family: "ipv6",
      address: formatIPv6(new Uint8Array(view.buffer, view.byteOffset + offset + 8, 16)),
      port,
    };
    const flowinfo = view.getUint32(offset + 4, false);
    const scopeId = view.getUint32(offset + 24, true);
    if (flowinfo !== 0) addr.flowinfo = flowinfo;
    if (scopeId !== 0) addr.scopeId = scopeId;
    return addr;
  }
  return null;
}
