// Socket addresses as users write them, to and from the core's SockAddr.
// Portable (no node:net): the same parser runs in Node, Deno and browsers.

import { IwpmError } from "../core/errors.js";
import { formatIPv6, parseIPv4Number, parseIPv6 } from "../core/ip.js";
import type { ParsedSockAddr, SockAddr } from "../core/sockaddr.js";

/**
 * An address with its port: `"1.2.3.4:5"`, `"[::1]:5"`, `"[fe80::1%3]:5"` (numeric scope id), or an
 * object whose family, when left out, follows from the address text.
 */
export type AddressInput =
  | string
  | {
      address: string;
      port: number;
      family?: "ipv4" | "ipv6";
      scopeId?: number;
      flowinfo?: number;
    };

const EXPECTED =
  'expected "a.b.c.d:port", "[ipv6]:port", "[ipv6%scopeId]:port" or { address, port, family?, scopeId?, flowinfo? } with a port of 0..65535';

const U32_MAX = 0xffff_ffff;

function invalid(input: unknown, why: string): IwpmError {
  const shown = typeof input === "string" ? `"${input}"` : safeJson(input);
  return new IwpmError("INVALID_ARGUMENT", `${shown} is not a socket address (${why}); ${EXPECTED}`);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function parsePortText(input: unknown, text: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw invalid(input, `port "${text}" is not a decimal number`);
  const port = Number(text);
  if (port > 65535) throw invalid(input, `port ${port} is above 65535`);
  return port;
}

function checkU32(input: unknown, what: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw invalid(input, `${what} must be an integer 0..${U32_MAX}`);
  }
  return value;
}

/** Splits "addr%scope" into its parts; the scope must be a decimal interface index. */
function splitScope(input: unknown, text: string): { ip: string; scopeId?: number } {
  const at = text.indexOf("%");
  if (at < 0) return { ip: text };
  const scope = text.slice(at + 1);
  if (!/^[0-9]{1,10}$/.test(scope)) {
    throw invalid(input, `scope "${scope}" is not a numeric interface index (names cannot be resolved here)`);
  }
  return { ip: text.slice(0, at), scopeId: checkU32(input, "scopeId", Number(scope)) };
}

function ipv6(input: unknown, text: string, port: number, scopeId: number | undefined, flowinfo: number | undefined): ParsedSockAddr {
  const v6 = parseIPv6(text);
  if (v6 === null) throw invalid(input, `"${text}" is not an IPv6 address`);
  const addr: SockAddr = { family: "ipv6", address: formatIPv6(v6), port };
  if (flowinfo !== undefined && flowinfo !== 0) addr.flowinfo = flowinfo;
  if (scopeId !== undefined && scopeId !== 0) addr.scopeId = scopeId;
  return { addr, v4: 0, v6 };
}

function ipv4(input: unknown, text: string, port: number): ParsedSockAddr {
  const v4 = parseIPv4Number(text);
  if (v4 < 0) throw invalid(input, `"${text}" is not an IPv4 address`);
  // Only the canonical dotted quad parses, so the text is already what formatting gives.
  return { addr: { family: "ipv4", address: text, port }, v4, v6: null };
}

function parseString(input: string): ParsedSockAddr {
  const text = input.trim();
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) throw invalid(input, 'no "]" closes the IPv6 address');
    if (text[close + 1] !== ":") throw invalid(input, 'a port must follow "]:"');
    const port = parsePortText(input, text.slice(close + 2));
    const { ip, scopeId } = splitScope(input, text.slice(1, close));
    return ipv6(input, ip, port, scopeId, undefined);
  }
  const colon = text.lastIndexOf(":");
  if (colon < 0) throw invalid(input, "no port");
  const host = text.slice(0, colon);
  if (host.includes(":")) throw invalid(input, "an IPv6 address needs brackets around it");
  return ipv4(input, host, parsePortText(input, text.slice(colon + 1)));
}

function parseObject(input: Exclude<AddressInput, string>): ParsedSockAddr {
  const { address, family } = input;
  if (typeof address !== "string") throw invalid(input, "address must be a string");
  const port = input.port;
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw invalid(input, "port must be an integer 0..65535");
  }
  if (family !== undefined && family !== "ipv4" && family !== "ipv6") {
    throw invalid(input, `family "${String(family)}" is neither "ipv4" nor "ipv6"`);
  }
  if (family !== "ipv6" && input.scopeId === undefined && input.flowinfo === undefined) {
    // The common case, a plain IPv4 address: a dotted quad holds no "%" or ":" to look for first.
    const v4 = parseIPv4Number(address);
    if (v4 >= 0) return { addr: { family: "ipv4", address, port }, v4, v6: null };
  }
  const split = splitScope(input, address);
  const looksV6 = split.ip.includes(":");
  const isV6 = family === "ipv6" || (family === undefined && looksV6);
  if (!isV6) {
    if (input.scopeId !== undefined || input.flowinfo !== undefined || split.scopeId !== undefined) {
      throw invalid(input, "scopeId and flowinfo belong to IPv6 addresses only");
    }
    return ipv4(input, split.ip, port);
  }
  const flowinfo = input.flowinfo === undefined ? undefined : checkU32(input, "flowinfo", input.flowinfo);
  let scopeId = input.scopeId === undefined ? undefined : checkU32(input, "scopeId", input.scopeId);
  if (split.scopeId !== undefined) {
    if (scopeId !== undefined && scopeId !== split.scopeId) {
      throw invalid(input, `scope %${split.scopeId} in the address differs from scopeId ${scopeId}`);
    }
    scopeId = split.scopeId;
  }
  return ipv6(input, split.ip, port, scopeId, flowinfo);
}

/**
 * Parses an address into the core's SockAddr, with the IP in canonical text (RFC 5952 for IPv6).
 * Throws IwpmError INVALID_ARGUMENT saying which form is expected.
 */
export function parseAddress(input: AddressInput): SockAddr {
  return parseSockAddr(input).addr;
}

/** parseAddress, keeping the address bytes for the core beside the text form (the API's one parse). */
export function parseSockAddr(input: AddressInput): ParsedSockAddr {
  if (typeof input === "string") return parseString(input);
  if (typeof input === "object" && input !== null) return parseObject(input);
  throw invalid(input, "neither a string nor an object");
}

const CHAR_0 = 48;
const CHAR_9 = 57;
const PORT_DIGITS = 5;
const PORT_MAX = 65535;

/** The port of "a.b.c.d:port" text from `at`: 1..5 decimal digits up to 65535, else -1. */
function portDigits(text: string, at: number): number {
  const digits = text.length - at;
  if (digits < 1 || digits > PORT_DIGITS) return -1;
  let port = 0;
  for (let i = at; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < CHAR_0 || c > CHAR_9) return -1;
    port = port * 10 + (c - CHAR_0);
  }
  return port <= PORT_MAX ? port : -1;
}

// The common input is a plain IPv4 address: "a.b.c.d:port", or an object with no IPv6 field. The
// API writes it from the input straight into the core's argument slot, allocating nothing (the
// SockAddr of parseSockAddr is made only by a call that returns or reports the address); anything
// else goes to parseSockAddr, which parses or refuses it. The steps are apart so that a call
// taking two addresses reaches both texts before parsing either (PortMapperClient's putAddrs).

/**
 * The text of a plain IPv4 input, not parsed yet: a string input itself, or the address of an
 * object with no IPv6 field (family "ipv4" or left out); undefined for any other input.
 */
export function plainText(input: AddressInput): string | undefined {
  if (typeof input === "string") return input;
  if (typeof input !== "object" || input === null) return undefined;
  const { family, address } = input;
  if ((family !== undefined && family !== "ipv4") || input.scopeId !== undefined || input.flowinfo !== undefined) return undefined;
  return typeof address === "string" ? address : undefined;
}

/** Where the dotted quad in an input's plainText ends: its last ":" in "a.b.c.d:port" (-1 if none), the whole text of an object. */
export function plainTextEnd(input: AddressInput, text: string): number {
  return typeof input === "string" ? text.lastIndexOf(":") : text.length;
}

/** The port of an input whose plainText is `text` and plainTextEnd `end`: 0..65535, or -1 if it is not a plain one. */
export function plainPort(input: AddressInput, text: string, end: number): number {
  if (typeof input === "string") {
    // A digit at both ends: nothing for parseSockAddr's trim to remove.
    const first = text.charCodeAt(0);
    if (end < 0 || first < CHAR_0 || first > CHAR_9) return -1;
    return portDigits(text, end + 1);
  }
  const port = (input as Exclude<AddressInput, string>).port;
  return typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= PORT_MAX ? port : -1;
}

/** `"1.2.3.4:5"`, `"[::1]:5"`, `"[fe80::1%3]:5"`; flowinfo has no text form and is left out. */
export function formatAddress(addr: SockAddr): string {
  if (addr.family === "ipv4") return `${addr.address}:${addr.port}`;
  const scope = addr.scopeId ? `%${addr.scopeId}` : "";
  return `[${addr.address}${scope}]:${addr.port}`;
}
