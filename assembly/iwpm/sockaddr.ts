// struct sockaddr_storage (128 bytes, reference §3) and the compact form the
// tables keep (28 bytes). A sockaddr that passes through (argument slot to
// datagram, datagram to event) is copied as it is, all 128 bytes, as the
// kernel's nla_put does; the compact form exists only as a table key. Both
// compare as the kernel compares them: family, address bytes and port;
// flowinfo, scope id and trailing bytes are carried but never compared.

export const SOCKADDR_SIZE: u32 = 128;
export const AF_INET: u16 = 2;
export const AF_INET6: u16 = 10;

// Compact layout: [0] family u16, [2] port (network order, as on the wire),
// [4] flowinfo (raw), [8] 16 address bytes (IPv4 uses the first 4), [24] scope id.
export const ADDR_SIZE: u32 = 28;
const C_FAMILY: usize = 0;
const C_PORT: usize = 2;
const C_FLOWINFO: usize = 4;
const C_ADDR: usize = 8;
const C_SCOPE: usize = 24;

// sockaddr_in / sockaddr_in6 field offsets
const SIN_PORT: usize = 2;
const SIN_ADDR: usize = 4;
const SIN6_FLOWINFO: usize = 4;
const SIN6_ADDR: usize = 8;
const SIN6_SCOPE_ID: usize = 24;

/** Reads a sockaddr_storage into compact form; false for a family other than AF_INET/AF_INET6. */
export function addrFromSockaddr(dst: usize, sa: usize): bool {
  const family = load<u16>(sa);
  memory.fill(dst, 0, ADDR_SIZE);
  if (family == AF_INET) {
    store<u16>(dst, family, C_FAMILY);
    store<u16>(dst, load<u16>(sa, SIN_PORT), C_PORT);
    store<u32>(dst, load<u32>(sa, SIN_ADDR), C_ADDR);
    return true;
  }
  if (family == AF_INET6) {
    store<u16>(dst, family, C_FAMILY);
    store<u16>(dst, load<u16>(sa, SIN_PORT), C_PORT);
    store<u32>(dst, load<u32>(sa, SIN6_FLOWINFO), C_FLOWINFO);
    memory.copy(dst + C_ADDR, sa + SIN6_ADDR, 16);
    store<u32>(dst, load<u32>(sa, SIN6_SCOPE_ID), C_SCOPE);
    return true;
  }
  return false;
}

/** Writes a zero-filled sockaddr_storage from compact form, as the kernel builds one. */
export function addrToSockaddr(sa: usize, src: usize): void {
  memory.fill(sa, 0, SOCKADDR_SIZE);
  const family = load<u16>(src, C_FAMILY);
  store<u16>(sa, family);
  store<u16>(sa, load<u16>(src, C_PORT), SIN_PORT);
  if (family == AF_INET) {
    store<u32>(sa, load<u32>(src, C_ADDR), SIN_ADDR);
  } else if (family == AF_INET6) {
    store<u32>(sa, load<u32>(src, C_FLOWINFO), SIN6_FLOWINFO);
    memory.copy(sa + SIN6_ADDR, src + C_ADDR, 16);
    store<u32>(sa, load<u32>(src, C_SCOPE), SIN6_SCOPE_ID);
  }
}

/** iwpm_compare_sockaddr: family, port and address bytes (IPv4 tails are zero in compact form). */
// @ts-ignore: decorator
@inline
export function addrEqual(a: usize, b: usize): bool {
  return (
    load<u32>(a, C_FAMILY) == load<u32>(b, C_FAMILY) &&
    load<u64>(a, C_ADDR) == load<u64>(b, C_ADDR) &&
    load<u64>(a, C_ADDR + 8) == load<u64>(b, C_ADDR + 8)
  );
}

/** True for the two families the protocol carries. */
// @ts-ignore: decorator
@inline
export function sockaddrFamilyOk(sa: usize): bool {
  const family = load<u16>(sa);
  return family == AF_INET || family == AF_INET6;
}

/** iwpm_compare_sockaddr between a sockaddr_storage and a compact key, with nothing converted. */
export function sockaddrMatches(sa: usize, key: usize): bool {
  const family = load<u16>(sa);
  if (family != load<u16>(key, C_FAMILY) || load<u16>(sa, SIN_PORT) != load<u16>(key, C_PORT)) return false;
  if (family == AF_INET) return load<u32>(sa, SIN_ADDR) == load<u32>(key, C_ADDR);
  if (family == AF_INET6) {
    return load<u64>(sa, SIN6_ADDR) == load<u64>(key, C_ADDR) && load<u64>(sa, SIN6_ADDR + 8) == load<u64>(key, C_ADDR + 8);
  }
  return false;
}

/** Same comparison straight on two sockaddr_storage buffers (the daemon's tables keep whole sockaddrs). */
export function sockaddrEqual(a: usize, b: usize): bool {
  const family = load<u16>(a);
  if (family != load<u16>(b) || load<u16>(a, SIN_PORT) != load<u16>(b, SIN_PORT)) return false;
  if (family == AF_INET) return load<u32>(a, SIN_ADDR) == load<u32>(b, SIN_ADDR);
  if (family == AF_INET6) return memory.compare(a + SIN6_ADDR, b + SIN6_ADDR, 16) == 0;
  return false;
}

// Multiply-xorshift over 64-bit words: the key is internal, so any good 32-bit
// hash serves (the kernel's jhash only picks buckets of its fixed-size
// tables), and the tables recompute it often enough for its speed to count.
const MIX_MUL: u64 = 0x9e3779b97f4a7c15;
const FINAL_MUL: u64 = 0xbf58476d1ce4e5b9;

// @ts-ignore: decorator
@inline
function mix64(h: u64, w: u64): u64 {
  h = (h ^ w) * MIX_MUL;
  return h ^ (h >> 29);
}

// @ts-ignore: decorator
@inline
export function finalMix(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

/** Hash of the compared fields of a compact address (family, port, address bytes), continuing from `seed`. */
// @ts-ignore: decorator
@inline
export function addrHash(a: usize, seed: u32): u32 {
  let h = mix64(<u64>seed, <u64>load<u32>(a, C_FAMILY));
  h = mix64(h, load<u64>(a, C_ADDR));
  h = mix64(h, load<u64>(a, C_ADDR + 8));
  return <u32>((h * FINAL_MUL) >> 32);
}
