// IP address text <-> bytes, portable (no node:net), so the same code runs in
// Node, Deno and browsers.

const CHAR_0 = 48;
const CHAR_DOT = 46;
const OCTETS = 4;
const OCTET_MAX = 255;

/** The digit at `i` of `text` as 0..9, or -1 (also past `end`). */
function digitAt(text: string, i: number, end: number): number {
  if (i >= end) return -1;
  const d = text.charCodeAt(i) - CHAR_0;
  return d >= 0 && d <= 9 ? d : -1;
}

/**
 * An IPv4 address as one u32 (first octet highest), or -1: four decimal octets 0..255, no leading
 * zeros, nothing else. `end` reads a prefix (the host part of "a.b.c.d:port") without slicing a
 * string off for it. Octet by octet, up to three digits each, rather than one loop over every
 * character: the API parses every address argument, and this takes about a third less time.
 */
export function parseIPv4Number(text: string, end: number = text.length): number {
  let out = 0;
  let i = 0;
  for (let octet = 0; octet < OCTETS; octet++) {
    if (octet > 0) {
      if (i >= end || text.charCodeAt(i) !== CHAR_DOT) return -1;
      i++;
    }
    let value = digitAt(text, i, end);
    if (value < 0) return -1;
    i++;
    const second = digitAt(text, i, end);
    if (second >= 0) {
      if (value === 0) return -1;
      value = value * 10 + second;
      i++;
      const third = digitAt(text, i, end);
      if (third >= 0) {
        value = value * 10 + third;
        if (value > OCTET_MAX) return -1;
        i++;
      }
    }
    out = out * 256 + value;
  }
  return i === end ? out : -1;
}

export function parseIPv4(text: string): Uint8Array | null {
  const n = parseIPv4Number(text);
  return n < 0 ? null : Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export function parseIPv6(text: string): Uint8Array | null {
  let head = text;
  let tailV4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (tailV4 === null) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const left = groups(halves[0] as string);
  const right = halves.length === 2 ? groups(halves[1] as string) : [];
  if (left === null || right === null) return null;
  const missing = 8 - left.length - right.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return null;
  const all = [...left, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...right];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tailV4 !== null) out.set(tailV4, 12);
  return out;
}

export function formatIPv4(bytes: Uint8Array): string {
  return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
}

/** formatIPv4 of an address as one u32 (first octet highest), as parseIPv4Number gives it. */
export function formatIPv4Number(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** Groups 0..4 of an IPv4-mapped address are zero; group 5 is all ones (RFC 4291 §2.5.5.2). */
const MAPPED_MARK = 0xffff;
const MAPPED_MARK_GROUP = 5;
/** The embedded IPv4 address fills the last two groups, bytes 12..15. */
const EMBEDDED_V4_AT = 12;

/**
 * RFC 5952 text: lower case, the longest run of two or more zero groups compressed (the first of
 * equal runs). An IPv4-mapped address keeps its IPv4 part dotted (§5: `::ffff:127.0.0.1`), and so
 * does a deprecated IPv4-compatible one (`::1.2.3.4`), exactly as inet_ntop writes them.
 */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  const embedsV4 = bestStart === 0 && (bestLen === 6 || (bestLen === MAPPED_MARK_GROUP && groups[MAPPED_MARK_GROUP] === MAPPED_MARK));
  if (embedsV4) return `::${hex(groups.slice(bestLen, 6))}${bestLen < 6 ? ":" : ""}${formatIPv4(bytes.subarray(EMBEDDED_V4_AT))}`;
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
