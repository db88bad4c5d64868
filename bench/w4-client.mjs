// W4 client: ADD_MAPPING + REMOVE_MAPPING round trips against the real iwpmd, run by bench/run.mjs
// inside a network namespace (`ip netns exec NS node bench/w4-client.mjs '<json>'`), the same
// exchange as bench/baselines/nlclient.c:
//
//   mode "core"  the core's raw exports over the project's Node netlink socket and import shim
//                (bench/.build/host.mjs): slot writes, addMapping / removeMapping, poll, events
//                read from core memory; no promises
//   mode "api"   the public API: openPortMapperClient from build/dist/index.js (a snapshot in
//                bench/.build/dist), client.addMapping(...).then(...), client.removeMapping(...)
//
// Waits for iwpmd's HELLO (the core answers it), registers (REG_PID), then per repetition
// `seqCount` round trips one at a time and `pipeCount` with `inflight` outstanding. Latency is ADD
// issued → completion seen by this code; rate is completed ADD+REMOVE pairs per second; CPU is
// this process's user + system time per pair.
//
// stdout (JSON lines): {"ready":true,"port":P}, {"registered":true,...},
//   {"rep":r,"sequential":{p50Us,p99Us,rate,errors},"pipelined":{...}}, {"done":true,"errors":E}

import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const cfg = JSON.parse(process.argv[2] ?? "{}");
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
const now = () => performance.now();
const IWCM = 2;
const EV_REQUEST_DONE = 1;
const EV_DAEMON_HELLO = 4;
const FD = 3;

const host = await import(pathToFileURL(cfg.host).href);
let counter = 0;

function percentile(sorted, p) {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1];
}

let cpu0 = process.cpuUsage();

function summary(lat, t0, t1, errors) {
  const cpu = process.cpuUsage(cpu0);
  const sorted = Float64Array.from(lat).sort();
  return {
    p50Us: percentile(sorted, 0.5) * 1000,
    p99Us: percentile(sorted, 0.99) * 1000,
    rate: lat.length / ((t1 - t0) / 1000),
    cpuUsPerPair: (cpu.user + cpu.system) / lat.length,
    errors,
  };
}

function timeout(ms, what) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms).unref());
}

// --- mode core: raw exports -----------------------------------------------------------------------

async function openCore() {
  let pump = () => {};
  const socket = host.openNetlinkSocket({
    port: cfg.port,
    recvBufferSize: 4 << 20,
    onReadable: () => pump(),
    onOverrun: (total) => out({ warning: `receive queue overrun (${total} so far)` }),
    onError: (name, errno) => out({ warning: `socket error: ${name} (${errno})` }),
  });
  const module = new WebAssembly.Module(readFileSync(cfg.wasm));
  const shim = host.withStubs(module, host.createShim({ sockets: new host.SocketMap([[FD, socket]]) }));
  const core = await host.instantiateCore(module, shim);
  const x = core.exports;
  x.setSocket(FD);
  x.setPort(cfg.port);
  x.seedSequence(0);
  x.init(IWCM);

  // Completion callbacks by sequence number; events are copied out before any is dispatched,
  // because a handler calls back into the core (which may grow its event array).
  const waiting = new Map();
  let onHello;
  const batch = [];
  pump = () => {
    for (;;) {
      const r = x.poll();
      const n = x.eventCount();
      if (n > 0) {
        const dv = new DataView(x.memory.buffer);
        const base = x.eventsPtr();
        const size = x.eventSize();
        for (let i = 0; i < n; i++) {
          const e = base + i * size;
          batch.push(dv.getUint16(e, true), dv.getInt32(e + 4, true), dv.getUint32(e + 8, true));
        }
        x.eventsClear();
        for (let i = 0; i < batch.length; i += 3) {
          const kind = batch[i];
          if (kind === EV_REQUEST_DONE) {
            const seq = batch[i + 2];
            const done = waiting.get(seq);
            if (done) {
              waiting.delete(seq);
              done(batch[i + 1]);
            }
          } else if (kind === EV_DAEMON_HELLO) onHello?.();
        }
        batch.length = 0;
      }
      if (r !== 1) break;
    }
  };

  const args = x.argsPtr();
  const writeLocal = (idx) => {
    const { ip, port } = host.w4Local(idx);
    const dv = new DataView(x.memory.buffer);
    dv.setUint16(args, 2, true);
    dv.setUint16(args + 2, port, false);
    dv.setUint32(args + 4, ip, false);
  };

  return {
    hello: () => Promise.race([new Promise((resolve) => (onHello = resolve)), timeout(10_000, "HELLO from iwpmd")]),
    register: async () => {
      core.writeNames("siw0", "lo");
      const seq = x.registerPid(IWCM);
      if (seq <= 0) throw new Error(`registerPid returned ${seq}`);
      const status = await Promise.race([new Promise((resolve) => waiting.set(seq, resolve)), timeout(10_000, "REG_PID reply")]);
      if (status !== 0) throw new Error(`registerPid failed with status ${status}`);
      return { version: x.negotiatedVersion() };
    },
    phase: (count, inflight) =>
      new Promise((resolve) => {
        const lat = new Float64Array(count);
        let done = 0;
        let issued = 0;
        let errors = 0;
        const first = counter;
        counter += count;
        let t0 = 0;
        const issue = () => {
          const idx = first + issued++;
          writeLocal(idx);
          const sent = now();
          const seq = x.addMapping(IWCM, 0);
          const finish = (status) => {
            lat[done++] = now() - sent;
            if (status === 0) {
              writeLocal(idx);
              if (x.removeMapping(IWCM) !== 0) errors++;
            } else errors++;
            if (issued < count) issue();
            else if (done === count) resolve(summary(lat, t0, now(), errors));
          };
          if (seq > 0) waiting.set(seq, finish);
          else queueMicrotask(() => finish(-seq || -1));
        };
        cpu0 = process.cpuUsage();
        t0 = now();
        while (issued < Math.min(count, inflight)) issue();
      }),
    close: () => socket.close(),
  };
}

// --- mode api: the public PortMapperClient --------------------------------------------------------

async function openApi() {
  const api = await import(pathToFileURL(cfg.dist).href);
  const client = await api.openPortMapperClient({ port: cfg.port, recvBufferSize: 4 << 20 });
  client.on("error", (err) => out({ warning: `client error: ${err.message}` }));
  const local = (idx) => {
    const { ip, port } = host.w4Local(idx);
    return { family: "ipv4", address: host.dotted(ip), port };
  };
  return {
    hello: () => Promise.race([new Promise((resolve) => client.once("daemonHello", resolve)), timeout(10_000, "HELLO from iwpmd")]),
    register: async () => {
      const r = await client.registerPid({ devName: "siw0", ifName: "lo" });
      if (!r.registered) throw new Error("registerPid: not registered");
      return { version: r.abiVersion };
    },
    phase: (count, inflight) =>
      new Promise((resolve) => {
        const lat = new Float64Array(count);
        let done = 0;
        let issued = 0;
        let errors = 0;
        const first = counter;
        counter += count;
        let t0 = 0;
        const issue = () => {
          const addr = local(first + issued++);
          const sent = now();
          const finish = (ok) => {
            lat[done++] = now() - sent;
            if (ok) client.removeMapping(addr);
            else errors++;
            if (issued < count) issue();
            else if (done === count) resolve(summary(lat, t0, now(), errors));
          };
          client.addMapping(addr).then(
            () => finish(true),
            () => finish(false),
          );
        };
        cpu0 = process.cpuUsage();
        t0 = now();
        while (issued < Math.min(count, inflight)) issue();
      }),
    close: () => client.close(),
  };
}

// --- run -------------------------------------------------------------------------------------------

try {
  const client = cfg.mode === "api" ? await openApi() : await openCore();
  const hello = client.hello();
  out({ ready: true, port: cfg.port, mode: cfg.mode });
  await hello;
  const reg = await client.register();
  out({ registered: true, ...reg });
  let errors = 0;
  for (let rep = -cfg.warmup; rep < cfg.reps; rep++) {
    const sequential = await client.phase(cfg.seqCount, 1);
    const pipelined = await client.phase(cfg.pipeCount, cfg.inflight);
    errors += sequential.errors + pipelined.errors;
    if (rep >= 0) out({ rep, sequential, pipelined });
  }
  out({ done: true, errors, ...(host.stubbedImports?.size ? { stubbedImports: [...host.stubbedImports] } : {}) });
  await client.close();
  process.exit(0);
} catch (err) {
  out({ error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
