// The core in isolation (W1 mapinfo, W2 remote info, W3 codec, W5 footprint), three ways:
//
//   core-raw  the exports called directly, arguments written with DataView into the slots
//   core-ts   through the Core wrapper of src/core/core.ts (writeAddr / readAddr / feed / drainEvents)
//   api       through the public PortMapperClient of build/dist/index.js, when it is built
//
// One process runs one (workload, implementation, N) and prints one JSON line (lib/measure.ts).
// Run by bench/run.mjs after esbuild bundles this file to bench/.build/core-bench.mjs.

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { type Core, instantiateCore, TRUST_ANY } from "../src/core/core.js";
import type { SockAddr } from "../src/core/sockaddr.js";
import { type BatchSocket, type Clock, createShim, SocketMap, TX_DESC_SIZE, TX_ERRNO } from "../src/host/shim.js";
import { dotted, fingerprint, w1Data, w2Data } from "./lib/gen.js";
import { collect, config, now, Phases, emit as print } from "./lib/measure.js";
import { addMappingReply, addMappingRequest, DAEMON_PORT, nlmsg, REMOTE_INFO_LEN, regPidReply, writeRemoteInfo } from "./lib/msg.js";
import { stubbedImports as stubbed, withStubs } from "./lib/stubs.js";

interface Config {
  workload: "w1" | "w2" | "w3" | "w5" | "instantiate";
  impl: "core-raw" | "core-ts" | "api";
  n: number;
  reps: number;
  warmup: number;
  rounds: number;
  /** absolute path of the release iwpm.wasm */
  wasm: string;
  /** absolute path of build/dist/index.js, for impl "api" */
  dist?: string;
  /** W3: messages per phase and repetition */
  ops?: number;
}

const FD = 3;
const OWN_PORT = 0x50000001;
const CLIENT = 2;
const SLOT = 128;

/**
 * A socket that takes every datagram and drops it. A batch socket, as the Node host's is: it reads
 * the core's transmit descriptors in place, so the shim copies nothing on the way out.
 */
class NullSocket implements BatchSocket {
  sent = 0;
  sendBatch(memory: ArrayBuffer, descs: number, count: number): number {
    const view = new DataView(memory);
    for (let i = 0; i < count; i++) view.setInt32(descs + i * TX_DESC_SIZE + TX_ERRNO, 0, true);
    this.sent += count;
    return 0;
  }
  recvBatch(): number {
    return 0;
  }
}

/** The portable clock (performance.now) plus an offset the harness moves to expire requests. */
class OffsetClock implements Clock {
  offsetNs = 0;
  monotonicNs(): number {
    return Math.floor(performance.now() * 1e6) + this.offsetNs;
  }
  realtimeNs(): number {
    return Date.now() * 1e6 + this.offsetNs;
  }
}

async function newCore(module: WebAssembly.Module, clock?: Clock): Promise<Core> {
  const shim = createShim({
    sockets: new SocketMap([[FD, new NullSocket()]]),
    ...(clock ? { clock } : {}),
    random: (buf) => buf.fill(0x5a),
    log: () => {},
  });
  const core = await instantiateCore(module, withStubs(module, shim));
  core.exports.setSocket(FD);
  // The daemon's datagrams are fed with handleRx, which carries no credentials.
  core.exports.setTrust(TRUST_ANY, 0);
  return core;
}

function emit(result: Record<string, unknown>): void {
  print(stubbed.size > 0 ? { ...result, stubbedImports: [...stubbed] } : result);
}

const v4 = (ip: number, port: number): SockAddr => ({ family: "ipv4", address: dotted(ip), port });

// --- the public API, loaded at run time (it is optional: bench/run.mjs skips it when unbuilt) ----

interface ApiClient {
  core: Core;
  createMapinfo(local: SockAddr, mapped: SockAddr): void;
  removeMapinfo(local: SockAddr, mapped: SockAddr): boolean;
  getRemoteInfo(mappedLocal: SockAddr, mappedRemote: SockAddr): SockAddr | null;
  handleReadable(): void;
  close(): Promise<void>;
}
interface ApiModule {
  openPortMapperClient(options?: Record<string, unknown>): Promise<ApiClient>;
}

async function openApi(cfg: Config, options: Record<string, unknown>): Promise<ApiClient> {
  if (!cfg.dist) throw new Error("no build/dist/index.js given");
  const mod = (await import(pathToFileURL(cfg.dist).href)) as Partial<ApiModule>;
  if (typeof mod.openPortMapperClient !== "function") throw new Error("build/dist/index.js has no openPortMapperClient");
  // The daemon's datagrams are fed with handleRx, which carries no credentials.
  const client = await mod.openPortMapperClient({ ...options, daemonUid: "any" });
  for (const m of ["createMapinfo", "removeMapinfo", "getRemoteInfo", "handleReadable", "close"] as const) {
    if (typeof client[m] !== "function") throw new Error(`PortMapperClient has no ${m}()`);
  }
  return client;
}

// --- W1: mapinfo --------------------------------------------------------------------------------

/** Warm-up runs (JIT, Wasm tier-up) use at most this many entries: enough to warm, cheaper at 1M. */
const WARM_MAX = 100_000;

interface W1Input {
  n: number;
  d: ReturnType<typeof w1Data>;
  local: SockAddr[];
  mapped: SockAddr[];
  absent: SockAddr[];
}

function w1Input(n: number, objects: boolean): W1Input {
  const d = w1Data(n);
  const input: W1Input = { n, d, local: [], mapped: [], absent: [] };
  if (objects) {
    for (let i = 0; i < n; i++) {
      input.local.push(v4(d.ip[i] as number, d.localPort[i] as number));
      input.mapped.push(v4(d.ip[i] as number, d.mappedPort[i] as number));
      input.absent.push(v4(d.absentIp[i] as number, d.mappedPort[i] as number));
    }
  }
  return input;
}

// Every timed loop lives in a small synchronous function of its own: inside an async function
// with branches for several implementations, V8 compiled the same loops ~30 ns per operation
// slower (measured at N = 1k), which would have been charged to the core.

interface Cycle {
  /** now() before insert, after insert, after the present and absent lookups, after remove */
  t: number[];
  hits: number;
  misses: number;
  removed: number;
  errors: number;
}

/** W1 through the raw exports: arguments written into the slots with DataView. */
function w1RawCycle(x: Core["exports"], d: ReturnType<typeof w1Data>, n: number): Cycle {
  const { ip, localPort, mappedPort, absentIp, lookupOrder, removeOrder } = d;
  const args = x.argsPtr();
  const create = x.createMapinfo;
  const find = x.mapinfoFind;
  const remove = x.removeMapinfo;
  let errors = 0;
  let hits = 0;
  let misses = 0;
  let removed = 0;
  let buf = x.memory.buffer;
  let dv = new DataView(buf);
  const t0 = now();
  for (let i = 0; i < n; i++) {
    // memory.grow detaches the old buffer (its byteLength becomes 0): take a fresh view.
    if (buf.byteLength === 0) {
      buf = x.memory.buffer;
      dv = new DataView(buf);
    }
    const a = ip[i] as number;
    dv.setUint16(args, 2, true);
    dv.setUint16(args + 2, localPort[i] as number, false);
    dv.setUint32(args + 4, a, false);
    dv.setUint16(args + SLOT, 2, true);
    dv.setUint16(args + SLOT + 2, mappedPort[i] as number, false);
    dv.setUint32(args + SLOT + 4, a, false);
    if (create(CLIENT, 0) !== 0) errors++;
  }
  const t1 = now();
  buf = x.memory.buffer;
  dv = new DataView(buf);
  for (let j = 0; j < n; j++) {
    const k = lookupOrder[j] as number;
    dv.setUint16(args, 2, true);
    dv.setUint16(args + 2, mappedPort[k] as number, false);
    dv.setUint32(args + 4, ip[k] as number, false);
    if (find(1) !== 0) hits++;
  }
  const t2 = now();
  for (let j = 0; j < n; j++) {
    const k = lookupOrder[j] as number;
    dv.setUint16(args, 2, true);
    dv.setUint16(args + 2, mappedPort[k] as number, false);
    dv.setUint32(args + 4, absentIp[k] as number, false);
    if (find(1) === 0) misses++;
  }
  const t3 = now();
  for (let j = 0; j < n; j++) {
    const k = removeOrder[j] as number;
    const a = ip[k] as number;
    dv.setUint16(args, 2, true);
    dv.setUint16(args + 2, localPort[k] as number, false);
    dv.setUint32(args + 4, a, false);
    dv.setUint16(args + SLOT, 2, true);
    dv.setUint16(args + SLOT + 2, mappedPort[k] as number, false);
    dv.setUint32(args + SLOT + 4, a, false);
    if (remove() === 0) removed++;
  }
  const t4 = now();
  return { t: [t0, t1, t2, t3, t4], hits, misses, removed, errors };
}

/** W1 through the Core wrapper: Core.writeAddr from address objects. */
function w1WrapperCycle(core: Core, input: W1Input): Cycle {
  const { n, local, mapped, absent } = input;
  const { lookupOrder, removeOrder } = input.d;
  const x = core.exports;
  const create = x.createMapinfo;
  const find = x.mapinfoFind;
  const remove = x.removeMapinfo;
  let errors = 0;
  let hits = 0;
  let misses = 0;
  let removed = 0;
  const t0 = now();
  for (let i = 0; i < n; i++) {
    core.writeAddr(0, local[i] as SockAddr);
    core.writeAddr(1, mapped[i] as SockAddr);
    if (create(CLIENT, 0) !== 0) errors++;
  }
  const t1 = now();
  for (let j = 0; j < n; j++) {
    core.writeAddr(0, mapped[lookupOrder[j] as number] as SockAddr);
    if (find(1) !== 0) hits++;
  }
  const t2 = now();
  for (let j = 0; j < n; j++) {
    core.writeAddr(0, absent[lookupOrder[j] as number] as SockAddr);
    if (find(1) === 0) misses++;
  }
  const t3 = now();
  for (let j = 0; j < n; j++) {
    const k = removeOrder[j] as number;
    core.writeAddr(0, local[k] as SockAddr);
    core.writeAddr(1, mapped[k] as SockAddr);
    if (remove() === 0) removed++;
  }
  const t4 = now();
  return { t: [t0, t1, t2, t3, t4], hits, misses, removed, errors };
}

/** W1 through the public API (which has no mapinfo lookup): createMapinfo, removeMapinfo. */
function w1ApiCycle(client: ApiClient, input: W1Input): { t: number[]; removed: number } {
  const { n, local, mapped } = input;
  const { removeOrder } = input.d;
  let removed = 0;
  const t0 = now();
  for (let i = 0; i < n; i++) client.createMapinfo(local[i] as SockAddr, mapped[i] as SockAddr);
  const t1 = now();
  for (let j = 0; j < n; j++) {
    const k = removeOrder[j] as number;
    if (client.removeMapinfo(local[k] as SockAddr, mapped[k] as SockAddr)) removed++;
  }
  const t2 = now();
  return { t: [t0, t1, t2], removed };
}

/** One run: `rounds` cycles of insert N, look up N present + N absent, remove N. Milliseconds per phase. */
async function w1Run(
  cfg: Config,
  module: WebAssembly.Module,
  input: W1Input,
  rounds: number,
): Promise<{ ms: Record<string, number>; errors: number }> {
  const { n } = input;
  let errors = 0;
  if (cfg.impl === "api") {
    const ms: Record<string, number> = { insert: 0, remove: 0 };
    const client = await openApi(cfg, {});
    for (let round = 0; round < rounds; round++) {
      const { t, removed } = w1ApiCycle(client, input);
      const [t0, t1, t2] = t as [number, number, number];
      ms.insert = (ms.insert as number) + t1 - t0;
      ms.remove = (ms.remove as number) + t2 - t1;
      if (removed !== n) errors++;
    }
    await client.close();
    return { ms, errors };
  }
  const ms: Record<string, number> = { insert: 0, lookupPresent: 0, lookupAbsent: 0, remove: 0 };
  const core = await newCore(module);
  const x = core.exports;
  x.init(CLIENT);
  for (let round = 0; round < rounds; round++) {
    const c = cfg.impl === "core-raw" ? w1RawCycle(x, input.d, n) : w1WrapperCycle(core, input);
    const [t0, t1, t2, t3, t4] = c.t as [number, number, number, number, number];
    ms.insert = (ms.insert as number) + t1 - t0;
    ms.lookupPresent = (ms.lookupPresent as number) + t2 - t1;
    ms.lookupAbsent = (ms.lookupAbsent as number) + t3 - t2;
    ms.remove = (ms.remove as number) + t4 - t3;
    errors += c.errors;
    if (c.hits !== n || c.misses !== n || c.removed !== n || x.mapinfoSize() !== 0) errors++;
  }
  return { ms, errors };
}

async function w1(cfg: Config, module: WebAssembly.Module): Promise<void> {
  const objects = cfg.impl !== "core-raw";
  const full = w1Input(cfg.n, objects);
  const warm = cfg.n > WARM_MAX ? w1Input(WARM_MAX, objects) : full;
  const p = new Phases();
  let errors = 0;
  for (let rep = -cfg.warmup; rep < cfg.reps; rep++) {
    collect();
    const input = rep < 0 ? warm : full;
    const run = await w1Run(cfg, module, input, cfg.rounds);
    errors += run.errors;
    for (const [phase, ms] of Object.entries(run.ms)) p.add(rep, phase, (ms * 1e6) / (input.n * cfg.rounds));
  }
  emit({ impl: cfg.impl, workload: "w1", n: cfg.n, rounds: cfg.rounds, fingerprint: fingerprint(full.d.ip), phases: p.phases, errors });
}

// --- W2: remote info ------------------------------------------------------------------------------

const CHUNK = 4096;

interface W2Input {
  n: number;
  d: ReturnType<typeof w2Data>;
  mlObj: SockAddr[];
  mrObj: SockAddr[];
}

function w2Input(n: number, objects: boolean): W2Input {
  const d = w2Data(n);
  const input: W2Input = { n, d, mlObj: [], mrObj: [] };
  if (objects) {
    for (let i = 0; i < n; i++) {
      input.mlObj.push(v4(d.mappedLocalIp[i] as number, d.mappedLocalPort[i] as number));
      input.mrObj.push(v4(d.mappedRemoteIp[i] as number, d.mappedRemotePort[i] as number));
    }
  }
  return input;
}

/** REMOTE_INFO datagrams of entries base..end-1, written into `chunk` (outside the timed loops). */
function fillRemoteInfo(d: ReturnType<typeof w2Data>, chunk: Uint8Array, base: number, end: number): void {
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
}

/** Feeds `count` REMOTE_INFO datagrams from `chunk` through the raw exports; ms. */
function w2RawFeed(x: Core["exports"], chunk: Uint8Array, count: number): number {
  const rx = x.rxPtr();
  const handle = x.handleRx;
  const clear = x.eventsClear;
  let mem = new Uint8Array(x.memory.buffer);
  const t0 = now();
  for (let c = 0; c < count; c++) {
    if (mem.byteLength === 0) mem = new Uint8Array(x.memory.buffer);
    const at = c * REMOTE_INFO_LEN;
    mem.set(chunk.subarray(at, at + REMOTE_INFO_LEN), rx);
    handle(REMOTE_INFO_LEN, DAEMON_PORT);
    // A host drains the events after each poll; here after every 64 datagrams.
    if ((c & 63) === 63) clear();
  }
  clear();
  return now() - t0;
}

/** The same through the Core wrapper: feed + drainEvents per datagram. */
function w2WrapperFeed(core: Core, chunk: Uint8Array, count: number): number {
  const t0 = now();
  for (let c = 0; c < count; c++) {
    const at = c * REMOTE_INFO_LEN;
    core.feed(chunk.subarray(at, at + REMOTE_INFO_LEN), DAEMON_PORT);
    core.drainEvents();
  }
  return now() - t0;
}

/** The same for the public API: the datagram fed to client.core, dispatched by the client. */
function w2ApiFeed(client: ApiClient, chunk: Uint8Array, count: number): number {
  const core = client.core;
  const t0 = now();
  for (let c = 0; c < count; c++) {
    const at = c * REMOTE_INFO_LEN;
    core.feed(chunk.subarray(at, at + REMOTE_INFO_LEN), DAEMON_PORT);
    client.handleReadable();
  }
  return now() - t0;
}

interface Got {
  ms: number;
  got: number;
  sum: number;
}

function w2RawGet(x: Core["exports"], d: ReturnType<typeof w2Data>, n: number): Got {
  const { mappedLocalIp, mappedLocalPort, mappedRemoteIp, mappedRemotePort, getOrder } = d;
  const args = x.argsPtr();
  const get = x.getRemoteInfo;
  const dv = new DataView(x.memory.buffer);
  let got = 0;
  let sum = 0;
  const t0 = now();
  for (let j = 0; j < n; j++) {
    const k = getOrder[j] as number;
    dv.setUint16(args, 2, true);
    dv.setUint16(args + 2, mappedLocalPort[k] as number, false);
    dv.setUint32(args + 4, mappedLocalIp[k] as number, false);
    dv.setUint16(args + SLOT, 2, true);
    dv.setUint16(args + SLOT + 2, mappedRemotePort[k] as number, false);
    dv.setUint32(args + SLOT + 4, mappedRemoteIp[k] as number, false);
    if (get(CLIENT) === 0) {
      got++;
      sum += dv.getUint16(args + 2 * SLOT + 2, false) + dv.getUint32(args + 2 * SLOT + 4, false);
    }
  }
  return { ms: now() - t0, got, sum };
}

function w2WrapperGet(core: Core, input: W2Input): Got {
  const { n, mlObj, mrObj } = input;
  const { getOrder } = input.d;
  const get = core.exports.getRemoteInfo;
  let got = 0;
  let sum = 0;
  const t0 = now();
  for (let j = 0; j < n; j++) {
    const k = getOrder[j] as number;
    core.writeAddr(0, mlObj[k] as SockAddr);
    core.writeAddr(1, mrObj[k] as SockAddr);
    if (get(CLIENT) === 0) {
      const out = core.readAddr(2);
      if (out) {
        got++;
        sum += out.port;
      }
    }
  }
  return { ms: now() - t0, got, sum };
}

function w2ApiGet(client: ApiClient, input: W2Input): Got {
  const { n, mlObj, mrObj } = input;
  const { getOrder } = input.d;
  let got = 0;
  let sum = 0;
  const t0 = now();
  for (let j = 0; j < n; j++) {
    const k = getOrder[j] as number;
    const out = client.getRemoteInfo(mlObj[k] as SockAddr, mrObj[k] as SockAddr);
    if (out) {
      got++;
      sum += out.port;
    }
  }
  return { ms: now() - t0, got, sum };
}

async function w2Run(
  cfg: Config,
  module: WebAssembly.Module,
  input: W2Input,
  rounds: number,
  chunk: Uint8Array,
): Promise<{ ms: Record<string, number>; errors: number }> {
  const { n, d } = input;
  let insert = 0;
  let get = 0;
  let errors = 0;
  let client: ApiClient | undefined;
  let core: Core;
  if (cfg.impl === "api") {
    client = await openApi(cfg, { remoteInfoLimit: n });
    core = client.core;
  } else {
    core = await newCore(module);
    core.exports.setRemoteInfoLimit(n);
  }
  const x = core.exports;
  x.init(CLIENT);
  for (let round = 0; round < rounds; round++) {
    for (let base = 0; base < n; base += CHUNK) {
      const end = Math.min(n, base + CHUNK);
      fillRemoteInfo(d, chunk, base, end);
      const count = end - base;
      if (client) insert += w2ApiFeed(client, chunk, count);
      else if (cfg.impl === "core-raw") insert += w2RawFeed(x, chunk, count);
      else insert += w2WrapperFeed(core, chunk, count);
    }
    if (x.remoteInfoSize() !== n) errors++;
    const g = client ? w2ApiGet(client, input) : cfg.impl === "core-raw" ? w2RawGet(x, d, n) : w2WrapperGet(core, input);
    get += g.ms;
    if (g.got !== n || x.remoteInfoSize() !== 0 || g.sum === 0) errors++;
  }
  if (client) await client.close();
  return { ms: { insert, get }, errors };
}

async function w2(cfg: Config, module: WebAssembly.Module): Promise<void> {
  const objects = cfg.impl !== "core-raw";
  const full = w2Input(cfg.n, objects);
  const warm = cfg.n > WARM_MAX ? w2Input(WARM_MAX, objects) : full;
  const chunk = new Uint8Array(CHUNK * REMOTE_INFO_LEN);
  const p = new Phases();
  let errors = 0;
  for (let rep = -cfg.warmup; rep < cfg.reps; rep++) {
    collect();
    const input = rep < 0 ? warm : full;
    const run = await w2Run(cfg, module, input, cfg.rounds, chunk);
    errors += run.errors;
    for (const [phase, ms] of Object.entries(run.ms)) p.add(rep, phase, (ms * 1e6) / (input.n * cfg.rounds));
  }
  emit({
    impl: cfg.impl,
    workload: "w2",
    n: cfg.n,
    rounds: cfg.rounds,
    fingerprint: fingerprint(full.d.mappedRemoteIp),
    phases: p.phases,
    errors,
  });
}

// --- W3: codec ----------------------------------------------------------------------------------

/** Makes client index 2 VALID: REG_PID goes out (to the null socket), its reply is fed back. */
function register(core: Core): void {
  const x = core.exports;
  x.setPort(OWN_PORT);
  x.init(CLIENT);
  core.writeNames("siw0", "lo");
  const regSeq = x.registerPid(CLIENT);
  core.feed(regPidReply(0, regSeq, "siw0"), DAEMON_PORT);
  core.drainEvents();
  if (x.registration(CLIENT) !== 2 || x.negotiatedVersion() !== 4) throw new Error("W3: the client did not register");
}

/** The lean twin's clock reading, refreshed by the harness between batches (outside the timing). */
let leanNow = 0n;

/**
 * A core whose send_batch reports every datagram sent without touching a socket and whose clock_time_get
 * stores a BigInt read outside the timed loop: bench-only instrumentation that separates the
 * core's own cost of addMapping from what the project's shim spends per call.
 */
async function newLeanCore(module: WebAssembly.Module): Promise<Core> {
  const shim = withStubs(module, createShim({ sockets: new SocketMap([[FD, new NullSocket()]]), log: () => {} }));
  let memory: WebAssembly.Memory | undefined;
  let view: DataView | undefined;
  const dv = (): DataView => {
    const buf = (memory as WebAssembly.Memory).buffer;
    if (view === undefined || view.buffer !== buf) view = new DataView(buf);
    return view;
  };
  const imports = shim.imports as Record<string, Record<string, unknown>>;
  imports.iwpm_sock = {
    ...imports.iwpm_sock,
    send_batch: (_fd: number, descs: number, count: number) => {
      for (let i = 0; i < count >>> 0; i++) dv().setInt32((descs >>> 0) + i * TX_DESC_SIZE + TX_ERRNO, 0, true);
      return 0;
    },
  };
  imports.wasi_snapshot_preview1 = {
    ...imports.wasi_snapshot_preview1,
    clock_time_get: (_id: number, _precision: bigint, out: number) => {
      dv().setBigUint64(out >>> 0, leanNow, true);
      return 0;
    },
  };
  const core = await instantiateCore(module, shim);
  memory = core.exports.memory;
  core.exports.setSocket(FD);
  core.exports.setTrust(TRUST_ANY, 0);
  return core;
}

const BATCH = 256;

/** addMapping() in batches of 256, the batch's requests expired (untimed) after each. */
function timeAddMapping(
  x: Core["exports"],
  d: ReturnType<typeof w1Data>,
  ops: number,
  clock: OffsetClock,
): { ms: number; ops: number; errors: number } {
  const { ip, localPort } = d;
  const args = x.argsPtr();
  const add = x.addMapping;
  let buf = x.memory.buffer;
  let dv = new DataView(buf);
  let t = 0;
  let errors = 0;
  let done = 0;
  for (; done < ops; done += BATCH) {
    const t0 = now();
    for (let b = 0; b < BATCH; b++) {
      const i = (done + b) & 4095;
      if (buf.byteLength === 0) {
        buf = x.memory.buffer;
        dv = new DataView(buf);
      }
      dv.setUint16(args, 2, true);
      dv.setUint16(args + 2, localPort[i] as number, false);
      dv.setUint32(args + 4, ip[i] as number, false);
      if (add(CLIENT, 0) <= 0) errors++;
    }
    t += now() - t0;
    // Untimed: expire the batch's requests so the table stays small.
    clock.offsetNs += 3_600_000_000_000;
    leanNow = BigInt(clock.monotonicNs());
    if (x.tick() !== BATCH) errors++;
    x.eventsClear();
  }
  return { ms: t, ops: done, errors };
}

type CodecLoop = (core: Core, ops: number, reply: Uint8Array, done: Uint8Array) => { ms: number; errors: number };

/** encode() of the ADD_MAPPING request record decoded before the loop. */
const encodeLoop: CodecLoop = (core, ops) => {
  const encode = core.exports.encode;
  let bad = 0;
  const t0 = now();
  for (let i = 0; i < ops; i++) if (encode(0, 4) !== 164) bad++;
  return { ms: now() - t0, errors: bad ? 1 : 0 };
};

/** decode() + validation of the ADD_MAPPING reply, in place. */
const decodeLoop: CodecLoop = (core, ops, reply) => {
  core.bytes().set(reply, core.exports.codecPtr());
  const decode = core.exports.decode;
  let bad = 0;
  const t0 = now();
  for (let i = 0; i < ops; i++) if (decode(296, 1, 4) !== 0) bad++;
  return { ms: now() - t0, errors: bad ? 1 : 0 };
};

/** The same with the datagram copied into core memory first, as a host receives it. */
const decodeCopyLoop: CodecLoop = (core, ops, reply) => {
  const mem = core.bytes();
  const codec = core.exports.codecPtr();
  const decode = core.exports.decode;
  let bad = 0;
  const t0 = now();
  for (let i = 0; i < ops; i++) {
    mem.set(reply, codec);
    if (decode(296, 1, 4) !== 0) bad++;
  }
  return { ms: now() - t0, errors: bad ? 1 : 0 };
};

/** Diagnostic: the JS → Wasm call alone. */
const callLoop: CodecLoop = (core, ops) => {
  const call = core.exports.coreAbiVersion;
  const expected = call();
  let bad = 0;
  const t0 = now();
  for (let i = 0; i < ops; i++) if (call() !== expected) bad++;
  return { ms: now() - t0, errors: bad ? 1 : 0 };
};

/** Diagnostic: decode()'s fixed cost, on the smallest message it accepts. */
const decodeDoneLoop: CodecLoop = (core, ops, _reply, done) => {
  core.bytes().set(done, core.exports.codecPtr());
  const decode = core.exports.decode;
  let bad = 0;
  const t0 = now();
  for (let i = 0; i < ops; i++) if (decode(16, 1, 4) !== 0) bad++;
  return { ms: now() - t0, errors: bad ? 1 : 0 };
};

async function w3(cfg: Config, module: WebAssembly.Module): Promise<void> {
  const ops = cfg.ops ?? 1_000_000;
  const p = new Phases();
  let errors = 0;
  const d = w1Data(4096);
  const clock = new OffsetClock();
  const core = await newCore(module, clock);
  const x = core.exports;
  register(core);
  // Diagnostic twin: the same core behind a minimal host whose send_batch and clock_time_get
  // copy and allocate nothing, to separate the core's own cost of addMapping from the shim's.
  leanNow = BigInt(clock.monotonicNs());
  const lean = await newLeanCore(module);
  register(lean);

  const codec = x.codecPtr();
  const request = addMappingRequest(101, OWN_PORT, 2, 0x7f000001, 5555);
  const reply = addMappingReply(3, 101, 0x7f000001, 5555, 40000);
  // NLMSG_DONE: a bare header (type 3), the smallest message decode() accepts.
  const nlmsgDone = nlmsg(3, 2, 0, 0, []);

  for (let rep = -cfg.warmup; rep < cfg.reps; rep++) {
    // addMapping: build + request bookkeeping + clock + send_batch through the shim to a null batch socket;
    // then the same behind the lean host.
    for (const [target, phase] of [
      [core, "encodeAddMapping"],
      [lean, "encodeAddMappingLean"],
    ] as const) {
      const r = timeAddMapping(target.exports, d, ops, clock);
      errors += r.errors;
      p.add(rep, phase, (r.ms * 1e6) / r.ops);
    }
    core.bytes().set(request, codec);
    if (x.decode(request.length, 0, 4) !== 0) errors++;
    for (const [phase, loop] of [
      ["encodeRecord", encodeLoop],
      ["decodeReply", decodeLoop],
      ["decodeReplyCopy", decodeCopyLoop],
      ["callOverhead", callLoop],
      ["decodeDone", decodeDoneLoop],
    ] as const) {
      const r = loop(core, ops, reply, nlmsgDone);
      errors += r.errors;
      p.add(rep, phase, (r.ms * 1e6) / ops);
    }
  }
  emit({ impl: cfg.impl, workload: "w3", n: ops, phases: p.phases, errors });
}

// --- W5: footprint ------------------------------------------------------------------------------

async function w5(cfg: Config, module: WebAssembly.Module): Promise<void> {
  const { n } = cfg;
  let errors = 0;
  // mapinfo: bytes of linear memory grown per record
  const core = await newCore(module);
  const x = core.exports;
  x.init(CLIENT);
  const d = w1Data(n);
  const args = x.argsPtr();
  const before = x.memory.buffer.byteLength;
  for (let i = 0; i < n; i++) {
    const dv = new DataView(x.memory.buffer);
    dv.setUint16(args, 2, true);
    dv.setUint16(args + 2, d.localPort[i] as number, false);
    dv.setUint32(args + 4, d.ip[i] as number, false);
    dv.setUint16(args + SLOT, 2, true);
    dv.setUint16(args + SLOT + 2, d.mappedPort[i] as number, false);
    dv.setUint32(args + SLOT + 4, d.ip[i] as number, false);
    if (x.createMapinfo(CLIENT, 0) !== 0) errors++;
  }
  const mapinfoBytes = x.memory.buffer.byteLength - before;
  if (x.mapinfoSize() !== n) errors++;

  // remote info: the same for REMOTE_INFO entries fed as datagrams
  const core2 = await newCore(module);
  const y = core2.exports;
  y.init(CLIENT);
  y.setRemoteInfoLimit(n);
  const d2 = w2Data(n);
  const dgram = new Uint8Array(REMOTE_INFO_LEN);
  const before2 = y.memory.buffer.byteLength;
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
    core2.feed(dgram, DAEMON_PORT);
    if ((i & 63) === 63) y.eventsClear();
  }
  y.eventsClear();
  const remoteBytes = y.memory.buffer.byteLength - before2;
  if (y.remoteInfoSize() !== n) errors++;
  emit({
    impl: "core-raw",
    workload: "w5",
    n,
    phases: {},
    mapinfoBytesPerEntry: mapinfoBytes / n,
    remoteInfoBytesPerEntry: remoteBytes / n,
    memoryBytes: { mapinfo: x.memory.buffer.byteLength, remoteInfo: y.memory.buffer.byteLength },
    errors,
  });
}

/** Compile + instantiate in a fresh process (V8 caches modules per process), then a second instantiation. */
async function instantiate(cfg: Config): Promise<void> {
  const bytes = readFileSync(cfg.wasm);
  const shim = (module: WebAssembly.Module) =>
    withStubs(module, createShim({ sockets: new SocketMap([[FD, new NullSocket()]]), log: () => {} }));
  const t0 = now();
  const module = await WebAssembly.compile(bytes);
  await instantiateCore(module, shim(module));
  const t1 = now();
  await instantiateCore(module, shim(module));
  const t2 = now();
  emit({ impl: "core", workload: "instantiate", n: 1, phases: {}, compileInstantiateMs: t1 - t0, instantiateMs: t2 - t1, errors: 0 });
}

const cfg = config<Config>();
if (cfg.workload === "instantiate") {
  await instantiate(cfg);
} else {
  const module = new WebAssembly.Module(readFileSync(cfg.wasm));
  if (cfg.workload === "w1") await w1(cfg, module);
  else if (cfg.workload === "w2") await w2(cfg, module);
  else if (cfg.workload === "w3") await w3(cfg, module);
  else if (cfg.workload === "w5") await w5(cfg, module);
  else throw new Error(`unknown workload ${String(cfg.workload)}`);
}
