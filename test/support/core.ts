import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Core, instantiateCore, TRUST_ANY } from "../../src/core/core.js";
import { Errno } from "../../src/core/errno.js";
import { type Clock, createShim, type Datagram, type DatagramSocket, SocketMap } from "../../src/host/shim.js";

// The real release core under a fake socket and a fake clock: the unit-test
// harness for the core. The fakes stand in for the host only.

const wasmPath = fileURLToPath(new URL("../../build/core/iwpm.wasm", import.meta.url));
let compiled: WebAssembly.Module | undefined;

export function coreModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(wasmPath));
  return compiled;
}

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

export async function loadTestCore(): Promise<{ core: Core; socket: FakeSocket; clock: FakeClock; logs: string[] }> {
  const socket = new FakeSocket();
  const clock = new FakeClock();
  const logs: string[] = [];
  const shim = createShim({
    sockets: new SocketMap([[SOCKET_FD, socket]]),
    clock,
    random: (buf) => buf.fill(0x5a),
    log: (_fd, text) => logs.push(text),
  });
  const core = await instantiateCore(coreModule(), shim);
  core.exports.setSocket(SOCKET_FD);
  // Tests here feed datagrams by hand (core.feed), which carry no credentials; the trust policy
  // has tests of its own (test/core/trust.test.ts).
  core.exports.setTrust(TRUST_ANY, 0);
  return { core, socket, clock, logs };
}
