import { formatIPv4, formatIPv6, parseIPv4Number, parseIPv6 } from "./ip.js";

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
  /** IPv4: the address as one u32, first octet highest (no bytes allocated). */
  readonly v4: number;
  /** IPv6: the 16 address bytes, in network order. */
  readonly v6: Uint8Array | null;
}

// Field offsets of struct sockaddr_in / sockaddr_in6 within the storage.
const SA_FAMILY = 0;
const SA_PORT = 2;
const SIN_ADDR = 4;
const SIN_ZERO = 8;
const SIN6_FLOWINFO = 4;
const SIN6_ADDR = 8;
const SIN6_SCOPE_ID = 24;
const SOCKADDR_IN6_SIZE = 28;

/** Writes `addr` at `offset`; throws RangeError with the reason when the address text is invalid. */
export function writeSockaddr(view: DataView, offset: number, addr: SockAddr): void {
  const v4 = addr.family === "ipv4" ? parseIPv4Number(addr.address) : 0;
  const v6 = addr.family === "ipv4" ? null : parseIPv6(addr.address);
  if (v4 < 0 || (addr.family !== "ipv4" && v6 === null)) {
    throw new RangeError(`"${addr.address}" is not an ${addr.family === "ipv4" ? "IPv4" : "IPv6"} address`);
  }
  writeParsedSockaddr(view, offset, { addr, v4, v6 });
}

function clearStorage(view: DataView, offset: number): void {
  // Word by word: a typed-array view per call would be an allocation per address.
  for (let at = 0; at < SOCKADDR_SIZE; at += 4) view.setUint32(offset + at, 0);
}

/** Writes an address parsed before (no text is read here); throws RangeError for a port out of range. */
export function writeParsedSockaddr(view: DataView, offset: number, { addr, v4, v6 }: ParsedSockAddr): void {
  if (!Number.isInteger(addr.port) || addr.port < 0 || addr.port > 65535) throw new RangeError(`port ${addr.port} is not 0..65535`);
  clearStorage(view, offset);
  if (v6 === null) {
    writeSockaddrV4(view, offset, v4, addr.port);
    return;
  }
  view.setUint16(offset + SA_PORT, addr.port, false);
  view.setUint16(offset + SA_FAMILY, AF_INET6, true);
  view.setUint32(offset + SIN6_FLOWINFO, addr.flowinfo ?? 0, false);
  for (let k = 0; k < 16; k++) view.setUint8(offset + SIN6_ADDR + k, v6[k] as number);
  view.setUint32(offset + SIN6_SCOPE_ID, addr.scopeId ?? 0, true);
}

/**
 * Writes a struct sockaddr_in (address as one u32, first octet highest) and clears the storage up
 * to the end of a sockaddr_in6; nothing is checked. The core copies an argument slot into the
 * datagram whole, so no byte of an earlier IPv6 address may stay behind; the bytes past a
 * sockaddr_in6 are left as they are, as every writer of a slot (writeParsedSockaddr, the core's own)
 * leaves them zero, and clearing all 128 bytes per argument was a cost of every call.
 */
export function writeSockaddrV4(view: DataView, offset: number, v4: number, port: number): void {
  view.setUint16(offset + SA_FAMILY, AF_INET, true);
  view.setUint16(offset + SA_PORT, port, false);
  view.setUint32(offset + SIN_ADDR, v4, false);
  for (let at = SIN_ZERO; at < SOCKADDR_IN6_SIZE; at += 4) view.setUint32(offset + at, 0);
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
