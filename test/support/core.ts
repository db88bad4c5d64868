import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Core, type CoreExports, instantiateCore, TRUST_ANY } from "../../src/core/core.js";
import { Errno } from "../../src/core/errno.js";
import { type Clock, createShim, type Datagram, type DatagramSocket, SocketMap } from "../../src/host/shim.js";
import { FakeDaemon } from "./fake-daemon.js";

// The real cores under a fake socket and a fake clock: the unit-test harness for the core. The
// fakes stand in for the host only. The test builds (*.debug.wasm) are the release code with
// assertions kept, plus the exports only tests use (assembly/client.debug.ts, assembly/daemon.debug.ts).

const compiled = new Map<string, WebAssembly.Module>();

function compile(file: string): WebAssembly.Module {
  let module = compiled.get(file);
  if (module === undefined) {
    module = new WebAssembly.Module(readFileSync(fileURLToPath(new URL(`../../build/core/${file}`, import.meta.url))));
    compiled.set(file, module);
  }
  return module;
}

/** The release client core, as shipped (build/core/iwpm.wasm). */
export function coreModule(): WebAssembly.Module {
  return compile("iwpm.wasm");
}
/** The release daemon core, as shipped (build/core/iwpmd.wasm). */
export function daemonCoreModule(): WebAssembly.Module {
  return compile("iwpmd.wasm");
}
/** The client core's test build (build/core/iwpm.debug.wasm). */
export function testCoreModule(): WebAssembly.Module {
  return compile("iwpm.debug.wasm");
}
/** The daemon core's test build (build/core/iwpmd.debug.wasm). */
export function daemonTestCoreModule(): WebAssembly.Module {
  return compile("iwpmd.debug.wasm");
}

/** The client core's test-only exports (assembly/client.debug.ts). */
export interface ClientTestExports extends CoreExports {
  mapinfoVerify(): number;
  remoteInfoVerify(): number;
  nextSeq(): number;
  requestCount(): number;
  resetStats(): void;
  setTableBound(n: number): void;
}
export type TestCore = Core<ClientTestExports>;

export interface SentDatagram {
  bytes: Uint8Array;
  port: number;
  groups: number;
}

/** What the kernel attests for a root process: what real sockets attach to every datagram from iwpmd. */
export const ROOT_CREDS = { pid: 4242, uid: 0, gid: 0 };

/**
 * A fake datagram socket: records what the core sends, serves what a test queues. Like a real
 * netlink socket it attaches the sender's credentials (a root daemon's, unless a test says whose).
 */
export class FakeSocket implements DatagramSocket {
  readonly sent: SentDatagram[] = [];
  readonly inbox: Datagram[] = [];
  /** When set, sendTo fails with this WASI errno. */
  failWith = 0;
  /** Ports nobody holds any more: a unicast there is refused, as the kernel refuses it. */
  readonly gone = new Set<number>();

  sendTo(bytes: Uint8Array, port: number, groups: number): number {
    if (this.failWith !== 0) return this.failWith;
    if (groups === 0 && this.gone.has(port)) return Errno.ECONNREFUSED;
    this.sent.push({ bytes, port, groups });
    return 0;
  }
  recvFrom(): Datagram | null {
    const d = this.inbox.shift();
    if (d === undefined) return null;
    if (!("creds" in d)) d.creds = ROOT_CREDS;
    return d;
  }
  take(): SentDatagram[] {
    return this.sent.splice(0);
  }
}

/** A fake monotonic clock that moves only when a test says so. */
export class FakeClock implements Clock {
  ns = 5_000_000_000n;
  monotonicNs(): bigint {
    return this.ns;
  }
  realtimeNs(): bigint {
    return this.ns;
  }
  advance(ms: number): void {
    this.ns += BigInt(ms) * 1_000_000n;
  }
}

export const SOCKET_FD = 3;

export async function loadTestCore(): Promise<{ core: TestCore; socket: FakeSocket; clock: FakeClock; logs: string[] }> {
  const socket = new FakeSocket();
  const clock = new FakeClock();
  const logs: string[] = [];
  const shim = createShim({
    sockets: new SocketMap([[SOCKET_FD, socket]]),
    clock,
    random: (buf) => buf.fill(0x5a),
    log: (_fd, text) => logs.push(text),
  });
  const core = await instantiateCore<ClientTestExports>(testCoreModule(), shim);
  core.exports.setSocket(SOCKET_FD);
  // Tests here feed datagrams by hand (core.feed), which carry no credentials; the trust policy
  // has tests of its own (test/core/trust.test.ts).
  core.exports.setTrust(TRUST_ANY, 0);
  return { core, socket, clock, logs };
}

/** A test core whose client 2 is registered with a fake daemon at port 1234 (ABI `version`); its socket emptied. */
export async function loadRegisteredCore(version = 4) {
  const t = await loadTestCore();
  const daemon = new FakeDaemon(1234);
  t.core.exports.init(2);
  t.core.exports.setPort(4321);
  t.core.writeNames("siw0", "lo");
  const seq = t.core.exports.registerPid(2);
  t.core.feed(daemon.regPidReply(seq, "siw0", { version }), daemon.port);
  t.core.drainEvents();
  t.socket.take();
  return { ...t, daemon };
}
