import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Core, instantiateCore } from "../../src/core/core.js";
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

/** A fake datagram socket: records what the core sends, serves what a test queues. */
export class FakeSocket implements DatagramSocket {
  readonly sent: SentDatagram[] = [];
  readonly inbox: Datagram[] = [];
  /** When set, sendTo fails with this WASI errno. */
  failWith = 0;

  sendTo(bytes: Uint8Array, port: number, groups: number): number {
    if (this.failWith !== 0) return this.failWith;
    this.sent.push({ bytes, port, groups });
    return 0;
  }
  recvFrom(): Datagram | null {
    return this.inbox.shift() ?? null;
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
  return { core, socket, clock, logs };
}
