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

/**
 * An address parsed once: its text form (what users read) and its address bytes (what the core
 * takes), so neither is derived from the other again.
 */
export interface ParsedSockAddr {
  readonly addr: SockAddr;
  /** 4 bytes for IPv4, 16 for IPv6, in network order. */
  readonly ip: Uint8Array;
}

// Field offsets of struct sockaddr_in / sockaddr_in6 within the storage.
const SA_FAMILY = 0;
const SA_PORT = 2;
const SIN_ADDR = 4;
const SIN6_FLOWINFO = 4;
const SIN6_ADDR = 8;
const SIN6_SCOPE_ID = 24;

/** Writes `addr` at `offset`; throws RangeError with the reason when the address text is invalid. */
export function writeSockaddr(view: DataView, offset: number, addr: SockAddr): void {
  const ip = addr.family === "ipv4" ? parseIPv4(addr.address) : parseIPv6(addr.address);
  if (ip === null) throw new RangeError(`"${addr.address}" is not an ${addr.family === "ipv4" ? "IPv4" : "IPv6"} address`);
  writeParsedSockaddr(view, offset, { addr, ip });
}

/** Writes an address parsed before (no text is read here); throws RangeError for a port out of range. */
export function writeParsedSockaddr(view: DataView, offset: number, { addr, ip }: ParsedSockAddr): void {
  if (!Number.isInteger(addr.port) || addr.port < 0 || addr.port > 65535) throw new RangeError(`port ${addr.port} is not 0..65535`);
  const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, SOCKADDR_SIZE);
  bytes.fill(0);
  view.setUint16(offset + SA_PORT, addr.port, false);
  if (addr.family === "ipv4") {
    view.setUint16(offset + SA_FAMILY, AF_INET, true);
    bytes.set(ip, SIN_ADDR);
    return;
  }
  view.setUint16(offset + SA_FAMILY, AF_INET6, true);
  view.setUint32(offset + SIN6_FLOWINFO, addr.flowinfo ?? 0, false);
  bytes.set(ip, SIN6_ADDR);
  view.setUint32(offset + SIN6_SCOPE_ID, addr.scopeId ?? 0, true);
}

/** Reads a sockaddr_storage; null for a family other than AF_INET / AF_INET6. */
export function readSockaddr(view: DataView, offset: number): SockAddr | null {
  const family = view.getUint16(offset + SA_FAMILY, true);
  const port = view.getUint16(offset + SA_PORT, false);
  if (family === AF_INET) {
    return { family: "ipv4", address: formatIPv4(new Uint8Array(view.buffer, view.byteOffset + offset + SIN_ADDR, 4)), port };
  }
  if (family === AF_INET6) {
    const addr: SockAddr = {
      family: "ipv6",
      address: formatIPv6(new Uint8Array(view.buffer, view.byteOffset + offset + SIN6_ADDR, 16)),
      port,
    };
    const flowinfo = view.getUint32(offset + SIN6_FLOWINFO, false);
    const scopeId = view.getUint32(offset + SIN6_SCOPE_ID, true);
    if (flowinfo !== 0) addr.flowinfo = flowinfo;
    if (scopeId !== 0) addr.scopeId = scopeId;
    return addr;
  }
  return null;
}
