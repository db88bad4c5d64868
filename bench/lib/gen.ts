// The benchmark's inputs: IPv4 addresses and visiting orders from a fixed seed. Every
// implementation (the core, the TypeScript Map baseline, the C baselines in baselines/gen.h)
// derives exactly the same addresses and orders from the same seed, so they run the same
// workload. Addresses are distinct by construction: the host part is a bijection of the entry
// index on 24 bits, so "absent" keys (indices N..2N-1) can never collide with present ones.

export const SEED = 20261124;

/** lowbias32 (Chris Wellons): a bijective 32-bit mixer. */
export function hash32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

const M24 = 0xffffff;

/** A bijection of [0, 2^24): xor, odd multiplications and xor-shifts, all mod 2^24. */
export function ip24(i: number, key: number): number {
  let x = (i ^ key) & M24;
  x = Math.imul(x, 0xa3b195) & M24;
  x ^= x >>> 12;
  x = Math.imul(x, 0x68e31d) & M24;
  x ^= x >>> 11;
  x = Math.imul(x, 0xb5297b) & M24;
  x ^= x >>> 13;
  return x;
}

export const key = (seed: number, salt: number): number => hash32((seed ^ salt) >>> 0);

/** mulberry32, for the visiting orders. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Fisher-Yates over 0..n-1 with mulberry32(seed). */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const next = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = next() % (i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

// Salts, mirrored in baselines/gen.h.
export const SALT = {
  w1Ip: 0x1001,
  w1LocalPort: 0x1002,
  w1MappedPort: 0x1003,
  w1LookupOrder: 0x1004,
  w1RemoveOrder: 0x1005,
  w2MappedLocalIp: 0x2001,
  w2MappedRemoteIp: 0x2002,
  w2MappedLocalPort: 0x2003,
  w2MappedRemotePort: 0x2004,
  w2LocalPort: 0x2005,
  w2RemotePort: 0x2006,
  w2GetOrder: 0x2007,
  w4Ip: 0x4001,
  w4Port: 0x4002,
} as const;

const NET10 = 0x0a000000;
export const localPort = (h: number): number => 1024 + (h % 60000);
export const ephemeralPort = (h: number): number => 32768 + (h % 28232);

/** W1: local i = (ip(i), local port), mapped i = (same ip, ephemeral port); absent j uses ip(N + j). */
export interface W1Data {
  n: number;
  ip: Uint32Array;
  localPort: Uint16Array;
  mappedPort: Uint16Array;
  absentIp: Uint32Array;
  lookupOrder: Uint32Array;
  removeOrder: Uint32Array;
}

export function w1Data(n: number, seed = SEED): W1Data {
  const kIp = key(seed, SALT.w1Ip);
  const kLp = key(seed, SALT.w1LocalPort);
  const kMp = key(seed, SALT.w1MappedPort);
  const d: W1Data = {
    n,
    ip: new Uint32Array(n),
    localPort: new Uint16Array(n),
    mappedPort: new Uint16Array(n),
    absentIp: new Uint32Array(n),
    lookupOrder: permutation(n, key(seed, SALT.w1LookupOrder)),
    removeOrder: permutation(n, key(seed, SALT.w1RemoveOrder)),
  };
  for (let i = 0; i < n; i++) {
    d.ip[i] = (NET10 | ip24(i, kIp)) >>> 0;
    d.absentIp[i] = (NET10 | ip24(n + i, kIp)) >>> 0;
    d.localPort[i] = localPort(hash32((i ^ kLp) >>> 0));
    d.mappedPort[i] = ephemeralPort(hash32((i ^ kMp) >>> 0));
  }
  return d;
}

/** W2: mapped local (listener) and mapped remote (peer) per entry, plus their unmapped ports. */
export interface W2Data {
  n: number;
  mappedLocalIp: Uint32Array;
  mappedLocalPort: Uint16Array;
  localPort: Uint16Array;
  mappedRemoteIp: Uint32Array;
  mappedRemotePort: Uint16Array;
  remotePort: Uint16Array;
  getOrder: Uint32Array;
}

export function w2Data(n: number, seed = SEED): W2Data {
  const kMl = key(seed, SALT.w2MappedLocalIp);
  const kMr = key(seed, SALT.w2MappedRemoteIp);
  const kMlp = key(seed, SALT.w2MappedLocalPort);
  const kMrp = key(seed, SALT.w2MappedRemotePort);
  const kLp = key(seed, SALT.w2LocalPort);
  const kRp = key(seed, SALT.w2RemotePort);
  const d: W2Data = {
    n,
    mappedLocalIp: new Uint32Array(n),
    mappedLocalPort: new Uint16Array(n),
    localPort: new Uint16Array(n),
    mappedRemoteIp: new Uint32Array(n),
    mappedRemotePort: new Uint16Array(n),
    remotePort: new Uint16Array(n),
    getOrder: permutation(n, key(seed, SALT.w2GetOrder)),
  };
  for (let i = 0; i < n; i++) {
    d.mappedLocalIp[i] = (NET10 | ip24(i, kMl)) >>> 0;
    d.mappedRemoteIp[i] = (NET10 | ip24(i, kMr)) >>> 0;
    d.mappedLocalPort[i] = ephemeralPort(hash32((i ^ kMlp) >>> 0));
    d.mappedRemotePort[i] = ephemeralPort(hash32((i ^ kMrp) >>> 0));
    d.localPort[i] = localPort(hash32((i ^ kLp) >>> 0));
    d.remotePort[i] = localPort(hash32((i ^ kRp) >>> 0));
  }
  return d;
}

/** FNV-1a over a few values: a checksum both languages print to show they ran the same inputs. */
export function fingerprint(values: ArrayLike<number>, count = 64): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < Math.min(count, values.length); i++) {
    h = Math.imul(h ^ ((values[i] as number) >>> 0), 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Dotted text of a host-order IPv4 number. */
export const dotted = (ip: number): string => `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;

/** W4: the local address of round trip `idx` (distinct for every idx < 2^24), as nlclient.c derives it. */
export function w4Local(idx: number, seed = SEED): { ip: number; port: number } {
  return {
    ip: (NET10 | ip24(idx, key(seed, SALT.w4Ip))) >>> 0,
    port: localPort(hash32((idx ^ key(seed, SALT.w4Port)) >>> 0)),
  };
}
