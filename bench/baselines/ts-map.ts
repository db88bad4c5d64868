// Baseline (b): the same tables written as idiomatic TypeScript, with `Map` and string keys, and
// the same operations and inputs as the core's workloads (bench/core-bench.ts):
//
//   W1 mapinfo      create (local, mapped) → newest first per mapped address; find by mapped
//                   address; remove the newest record with a mapped address
//   W2 remote info  parse a REMOTE_INFO datagram (DataView, the kernel's checks) into an object,
//                   store it under "mappedLocal|mappedRemote"; get = look up, consume, return remote
//   W5              heap bytes retained per mapping (node --expose-gc)
//
// Addresses are { family, address, port } objects as the public API takes them. Duplicates keep
// the kernel's semantics (newest first, remove first match) through an `older` link per entry.

import type { SockAddr } from "../../src/core/sockaddr.js";
import { dotted, fingerprint, w1Data, w2Data } from "../lib/gen.js";
import { collect, config, emit, now, Phases } from "../lib/measure.js";
import { REMOTE_INFO_LEN, writeRemoteInfo } from "../lib/msg.js";

interface Config {
  workload: "w1" | "w2" | "w5";
  n: number;
  reps: number;
  warmup: number;
  rounds: number;
}

const keyOf = (a: SockAddr): string => `${a.address}:${a.port}`;
const v4 = (ip: number, port: number): SockAddr => ({ family: "ipv4", address: dotted(ip), port });

interface MapinfoEntry {
  local: SockAddr;
  mapped: SockAddr;
  nlClient: number;
  flags: number;
  older: MapinfoEntry | undefined;
}

export class MapinfoTable {
  private readonly byMapped = new Map<string, MapinfoEntry>();

  create(local: SockAddr, mapped: SockAddr, nlClient: number, flags: number): void {
    const key = keyOf(mapped);
    this.byMapped.set(key, { local, mapped, nlClient, flags, older: this.byMapped.get(key) });
  }

  findByMapped(mapped: SockAddr): MapinfoEntry | undefined {
    return this.byMapped.get(keyOf(mapped));
  }

  remove(_local: SockAddr, mapped: SockAddr): boolean {
    const key = keyOf(mapped);
    const entry = this.byMapped.get(key);
    if (entry === undefined) return false;
    if (entry.older !== undefined) this.byMapped.set(key, entry.older);
    else this.byMapped.delete(key);
    return true;
  }

  get size(): number {
    return this.byMapped.size;
  }
}

interface RemoteInfo {
  nlClient: number;
  local: SockAddr;
  remote: SockAddr;
  mappedLocal: SockAddr;
  mappedRemote: SockAddr;
  older: RemoteInfo | undefined;
}

const readSockaddr = (v: DataView, at: number): SockAddr | null => {
  if (v.getUint16(at, true) !== 2) return null;
  return {
    family: "ipv4",
    address: `${v.getUint8(at + 4)}.${v.getUint8(at + 5)}.${v.getUint8(at + 6)}.${v.getUint8(at + 7)}`,
    port: v.getUint16(at + 2, false),
  };
};

/** iwpm_remote_info_cb in TypeScript: the framing and policy checks of the kernel, then a parsed object. */
export function parseRemoteInfo(bytes: Uint8Array): RemoteInfo | null {
  if (bytes.length < 16) return null;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = v.getUint32(0, true);
  const type = v.getUint16(4, true);
  if (len < 16 || len > bytes.length || (type & 0x3ff) !== 4 || type >> 10 >= 64) return null;
  const at: number[] = [];
  const size: number[] = [];
  let p = 16;
  while (len - p >= 4) {
    const alen = v.getUint16(p, true);
    if (alen < 4 || alen > len - p) return null;
    const id = v.getUint16(p + 2, true) & 0x3fff;
    if (id >= 1 && id <= 6) {
      at[id] = p + 4;
      size[id] = alen - 4;
    }
    p += (alen + 3) & ~3;
  }
  for (let id = 1; id <= 6; id++) if (at[id] === undefined) return null;
  if ((size[1] as number) < 4 || (size[6] as number) < 2) return null;
  for (let id = 2; id <= 5; id++) if ((size[id] as number) < 128) return null;
  const local = readSockaddr(v, at[2] as number);
  const remote = readSockaddr(v, at[3] as number);
  const mappedLocal = readSockaddr(v, at[4] as number);
  const mappedRemote = readSockaddr(v, at[5] as number);
  if (!local || !remote || !mappedLocal || !mappedRemote) return null;
  return { nlClient: type >> 10, local, remote, mappedLocal, mappedRemote, older: undefined };
}

export class RemoteInfoTable {
  private readonly entries = new Map<string, RemoteInfo>();

  add(info: RemoteInfo): void {
    const key = `${keyOf(info.mappedLocal)}|${keyOf(info.mappedRemote)}`;
    info.older = this.entries.get(key);
    this.entries.set(key, info);
  }

  /** One-shot: the unmapped remote address, consumed; null when none is stored. */
  take(mappedLocal: SockAddr, mappedRemote: SockAddr): SockAddr | null {
    const key = `${keyOf(mappedLocal)}|${keyOf(mappedRemote)}`;
    const info = this.entries.get(key);
    if (info === undefined) return null;
    if (info.older !== undefined) this.entries.set(key, info.older);
    else this.entries.delete(key);
    return info.remote;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Warm-up runs (JIT) use at most this many entries: enough to warm, cheaper at 1M. */
const WARM_MAX = 100_000;

interface W1Input {
  n: number;
  d: ReturnType<typeof w1Data>;
  local: SockAddr[];
  mapped: SockAddr[];
  absent: SockAddr[];
}

function w1Input(n: number): W1Input {
  const d = w1Data(n);
  const input: W1Input = { n, d, local: [], mapped: [], absent: [] };
  for (let i = 0; i < n; i++) {
    input.local.push(v4(d.ip[i] as number, d.localPort[i] as number));
    input.mapped.push(v4(d.ip[i] as number, d.mappedPort[i] as number));
    input.absent.push(v4(d.absentIp[i] as number, d.mappedPort[i] as number));
  }
  return input;
}

// Each timed loop in a small function of its own, as in core-bench.ts, so that no implementation
// is charged for the harness's structure.

function insertAll(table: MapinfoTable, input: W1Input): number {
  const { n, local, mapped } = input;
  const t0 = now();
  for (let i = 0; i < n; i++) table.create(local[i] as SockAddr, mapped[i] as SockAddr, 2, 0);
  return now() - t0;
}

function lookupAll(table: MapinfoTable, keys: SockAddr[], order: Uint32Array, n: number): { ms: number; hits: number } {
  let hits = 0;
  const t0 = now();
  for (let j = 0; j < n; j++) if (table.findByMapped(keys[order[j] as number] as SockAddr) !== undefined) hits++;
  return { ms: now() - t0, hits };
}

function removeAll(table: MapinfoTable, input: W1Input): { ms: number; removed: number } {
  const { n, local, mapped } = input;
  const { removeOrder } = input.d;
  let removed = 0;
  const t0 = now();
  for (let j = 0; j < n; j++) {
    const k = removeOrder[j] as number;
    if (table.remove(local[k] as SockAddr, mapped[k] as SockAddr)) removed++;
  }
  return { ms: now() - t0, removed };
}

function w1Run(input: W1Input, rounds: number): { ms: Record<string, number>; errors: number } {
  const { n, mapped, absent } = input;
  const { lookupOrder } = input.d;
  let insert = 0;
  let present = 0;
  let missing = 0;
  let remove = 0;
  let errors = 0;
  const table = new MapinfoTable();
  for (let round = 0; round < rounds; round++) {
    insert += insertAll(table, input);
    const a = lookupAll(table, mapped, lookupOrder, n);
    const b = lookupAll(table, absent, lookupOrder, n);
    const c = removeAll(table, input);
    present += a.ms;
    missing += b.ms;
    remove += c.ms;
    if (a.hits !== n || b.hits !== 0 || c.removed !== n || table.size !== 0) errors++;
  }
  return { ms: { insert, lookupPresent: present, lookupAbsent: missing, remove }, errors };
}

function w1(cfg: Config): void {
  const full = w1Input(cfg.n);
  const warm = cfg.n > WARM_MAX ? w1Input(WARM_MAX) : full;
  const p = new Phases();
  let errors = 0;
  for (let rep = -cfg.warmup; rep < cfg.reps; rep++) {
    collect();
    const input = rep < 0 ? warm : full;
    const run = w1Run(input, cfg.rounds);
    errors += run.errors;
    for (const [phase, ms] of Object.entries(run.ms)) p.add(rep, phase, (ms * 1e6) / (input.n * cfg.rounds));
  }
  emit({ impl: "ts-map", workload: "w1", n: cfg.n, rounds: cfg.rounds, fingerprint: fingerprint(full.d.ip), phases: p.phases, errors });
}

const CHUNK = 4096;

interface W2Input {
  n: number;
  d: ReturnType<typeof w2Data>;
  mlObj: SockAddr[];
  mrObj: SockAddr[];
}

function w2Input(n: number): W2Input {
  const d = w2Data(n);
  const input: W2Input = { n, d, mlObj: [], mrObj: [] };
  for (let i = 0; i < n; i++) {
    input.mlObj.push(v4(d.mappedLocalIp[i] as number, d.mappedLocalPort[i] as number));
    input.mrObj.push(v4(d.mappedRemoteIp[i] as number, d.mappedRemotePort[i] as number));
  }
  return input;
}

function feedAll(table: RemoteInfoTable, chunk: Uint8Array, count: number): { ms: number; bad: number } {
  let bad = 0;
  const t0 = now();
  for (let c = 0; c < count; c++) {
    const info = parseRemoteInfo(chunk.subarray(c * REMOTE_INFO_LEN, (c + 1) * REMOTE_INFO_LEN));
    if (info === null) bad++;
    else table.add(info);
  }
  return { ms: now() - t0, bad };
}

function takeAll(table: RemoteInfoTable, input: W2Input): { ms: number; got: number; sum: number } {
  const { n, mlObj, mrObj } = input;
  const { getOrder } = input.d;
  let got = 0;
  let sum = 0;
  const t0 = now();
  for (let j = 0; j < n; j++) {
    const k = getOrder[j] as number;
    const remote = table.take(mlObj[k] as SockAddr, mrObj[k] as SockAddr);
    if (remote !== null) {
      got++;
      sum += remote.port;
    }
  }
  return { ms: now() - t0, got, sum };
}

function w2Run(input: W2Input, rounds: number, chunk: Uint8Array): { ms: Record<string, number>; errors: number } {
  const { n, d } = input;
  let insert = 0;
  let get = 0;
  let errors = 0;
  const table = new RemoteInfoTable();
  for (let round = 0; round < rounds; round++) {
    for (let base = 0; base < n; base += CHUNK) {
      const end = Math.min(n, base + CHUNK);
      for (let i = base; i < end; i++) {
        const ml = d.mappedLocalIp[i] as number;
        const mr = d.mappedRemoteIp[i] as number;
        writeRemoteInfo(
          chunk,
          (i - base) * REMOTE_INFO_LEN,
          i,
          [ml, d.localPort[i] as number],
          [mr, d.remotePort[i] as number],
          [ml, d.mappedLocalPort[i] as number],
          [mr, d.mappedRemotePort[i] as number],
        );
      }
      const f = feedAll(table, chunk, end - base);
      insert += f.ms;
      errors += f.bad;
    }
    if (table.size !== n) errors++;
    const g = takeAll(table, input);
    get += g.ms;
    if (g.got !== n || table.size !== 0 || g.sum === 0) errors++;
  }
  return { ms: { insert, get }, errors };
}

function w2(cfg: Config): void {
  const full = w2Input(cfg.n);
  const warm = cfg.n > WARM_MAX ? w2Input(WARM_MAX) : full;
  const chunk = new Uint8Array(CHUNK * REMOTE_INFO_LEN);
  const p = new Phases();
  let errors = 0;
  for (let rep = -cfg.warmup; rep < cfg.reps; rep++) {
    collect();
    const input = rep < 0 ? warm : full;
    const run = w2Run(input, cfg.rounds, chunk);
    errors += run.errors;
    for (const [phase, ms] of Object.entries(run.ms)) p.add(rep, phase, (ms * 1e6) / (input.n * cfg.rounds));
  }
  emit({
    impl: "ts-map",
    workload: "w2",
    n: cfg.n,
    rounds: cfg.rounds,
    fingerprint: fingerprint(full.d.mappedRemoteIp),
    phases: p.phases,
    errors,
  });
}

/** Heap retained per entry: the entry, its key string and the address objects it holds. */
function w5(cfg: Config): void {
  const { n } = cfg;
  const d = w1Data(n);
  collect();
  collect();
  const before = process.memoryUsage().heapUsed;
  const table = new MapinfoTable();
  for (let i = 0; i < n; i++) {
    const ip = d.ip[i] as number;
    table.create(v4(ip, d.localPort[i] as number), v4(ip, d.mappedPort[i] as number), 2, 0);
  }
  collect();
  collect();
  const mapinfo = (process.memoryUsage().heapUsed - before) / n;
  const d2 = w2Data(n);
  const dgram = new Uint8Array(REMOTE_INFO_LEN);
  const remote = new RemoteInfoTable();
  const before2 = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) {
    const ml = d2.mappedLocalIp[i] as number;
    const mr = d2.mappedRemoteIp[i] as number;
    writeRemoteInfo(
      dgram,
      0,
      i,
      [ml, d2.localPort[i] as number],
      [mr, d2.remotePort[i] as number],
      [ml, d2.mappedLocalPort[i] as number],
      [mr, d2.mappedRemotePort[i] as number],
    );
    const info = parseRemoteInfo(dgram);
    if (info) remote.add(info);
  }
  collect();
  collect();
  const remoteInfo = (process.memoryUsage().heapUsed - before2) / n;
  emit({
    impl: "ts-map",
    workload: "w5",
    n,
    phases: {},
    mapinfoBytesPerEntry: mapinfo,
    remoteInfoBytesPerEntry: remoteInfo,
    errors: table.size === n && remote.size === n ? 0 : 1,
  });
}

const cfg = config<Config>();
if (cfg.workload === "w1") w1(cfg);
else if (cfg.workload === "w2") w2(cfg);
else if (cfg.workload === "w5") w5(cfg);
else throw new Error(`unknown workload ${String(cfg.workload)}`);
