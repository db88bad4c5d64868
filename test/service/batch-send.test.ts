import { describe, expect, it } from "vitest";
import { Errno } from "../../src/core/errno.js";
import type { SockAddr } from "../../src/core/sockaddr.js";
import { Status } from "../../src/core/status.js";
import {
  RX_DESC_SIZE,
  RX_FLAGS,
  RX_LEN,
  RX_PORT,
  RXF_CREDS,
  TX_DESC_SIZE,
  TX_ERRNO,
  TX_LEN,
  TX_PORT,
  TX_PTR,
} from "../../src/gen/batch.js";
import { OP_ADD_MAPPING } from "../../src/gen/protocol.js";
import { type BatchSocket, createShim, SocketMap } from "../../src/host/shim.js";
import type { AnyEvent } from "../../src/service/events.js";
import { type DaemonCore, instantiateDaemonCore } from "../../src/service/exports.js";
import { daemonTestCoreModule, FakeClock } from "../support/core.js";
import { parseDatagram } from "../support/nl.js";
import { FakePorts } from "./harness.js";
import { addMapping, CLIENT_PORT, regPid } from "./messages.js";

// The service's transmit area: what one poll pass answers leaves in one send_batch, and a datagram
// of that batch that the socket refuses fails its own request and no other.

const NL_FD = 4;

/**
 * A fake batch socket (the form the Node addon and Deno have): it serves queued datagrams into the
 * receive area, records every send_batch call with the datagrams it described, and fails the
 * datagrams whose position among all it was handed is listed in `failAt` with `failErrno`.
 */
class FakeBatchSocket implements BatchSocket {
  readonly inbox: { bytes: Uint8Array; port: number }[] = [];
  readonly calls: { bytes: Uint8Array; port: number }[][] = [];
  failAt = new Set<number>();
  failErrno: number = Errno.ECONNREFUSED;
  private handed = 0;

  recvBatch(memory: ArrayBuffer, descs: number, data: number, slot: number, max: number): number {
    const view = new DataView(memory);
    let n = 0;
    for (; n < max && this.inbox.length > 0; n++) {
      const d = this.inbox.shift() as { bytes: Uint8Array; port: number };
      new Uint8Array(memory, data + n * slot, d.bytes.length).set(d.bytes);
      const at = descs + n * RX_DESC_SIZE;
      new Uint8Array(memory, at, RX_DESC_SIZE).fill(0);
      view.setUint32(at + RX_LEN, d.bytes.length, true);
      view.setUint32(at + RX_PORT, d.port, true);
      view.setUint32(at + RX_FLAGS, RXF_CREDS, true);
    }
    return n;
  }

  /** Fails the datagrams at these positions, counted from the next one handed over. */
  failFrom(positions: number[]): void {
    this.failAt = new Set(positions.map((p) => this.handed + p));
  }

  sendBatch(memory: ArrayBuffer, descs: number, count: number): number {
    const view = new DataView(memory);
    const call: { bytes: Uint8Array; port: number }[] = [];
    for (let i = 0; i < count; i++) {
      const d = descs + i * TX_DESC_SIZE;
      const ptr = view.getUint32(d + TX_PTR, true);
      const len = view.getUint32(d + TX_LEN, true);
      call.push({ bytes: new Uint8Array(memory.slice(ptr, ptr + len)), port: view.getUint32(d + TX_PORT, true) });
      view.setInt32(d + TX_ERRNO, this.failAt.has(this.handed++) ? this.failErrno : 0, true);
    }
    this.calls.push(call);
    return 0;
  }
}

async function service(): Promise<{ core: DaemonCore; nl: FakeBatchSocket; ports: FakePorts; poll: () => void }> {
  const nl = new FakeBatchSocket();
  const ports = new FakePorts();
  const shim = createShim({
    sockets: new SocketMap([[NL_FD, nl]]),
    ports,
    clock: new FakeClock(),
    random: (b) => b.fill(0x5a),
    log: () => {},
  });
  const core = await instantiateDaemonCore(daemonTestCoreModule(), shim);
  const x = core.exports;
  x.serviceConfigure(NL_FD, 1234, 0);
  // Root credentials are not what this is about: every client is taken.
  x.serviceSetTrust(1, 0);
  return { core, nl, ports, poll: () => x.servicePoll() };
}

function drain(core: DaemonCore): AnyEvent[] {
  return core.drainEvents();
}

const local = (i: number): SockAddr => ({ family: "ipv4", address: `10.0.${i >> 8}.${i & 255}`, port: 5000 + i });
/** The request seq each datagram's reply answers (attribute 1 of every reply here). */
const answered = (call: { bytes: Uint8Array }[]) =>
  call.map((d) => {
    const seq = parseDatagram(d.bytes)[0]?.attrs.get(1);
    return seq === undefined ? undefined : new DataView(seq.buffer, seq.byteOffset, 4).getUint32(0, true);
  });

describe("service transmit area", () => {
  it("answers a pass of N requests with one send_batch of N datagrams", async () => {
    const { core, nl, poll } = await service();
    nl.inbox.push({ bytes: regPid(1, "siw0"), port: CLIENT_PORT });
    poll();
    nl.calls.length = 0;
    drain(core);
    const n = 40;
    for (let i = 0; i < n; i++) nl.inbox.push({ bytes: addMapping(100 + i, local(i)), port: CLIENT_PORT });
    poll();
    expect(nl.calls).toHaveLength(1);
    expect(answered(nl.calls[0] ?? [])).toEqual(Array.from({ length: n }, (_, i) => 100 + i));
    expect(core.exports.serviceMappingCount()).toBe(n);
  });

  it("fails exactly the request whose datagram the socket refused, and gives its mapping back", async () => {
    const { core, nl, ports, poll } = await service();
    nl.inbox.push({ bytes: regPid(1, "siw0"), port: CLIENT_PORT });
    poll();
    nl.calls.length = 0;
    drain(core);
    const n = 9;
    const failed = 4;
    for (let i = 0; i < n; i++) nl.inbox.push({ bytes: addMapping(100 + i, local(i)), port: CLIENT_PORT });
    nl.failFrom([failed]);
    poll();
    expect(nl.calls).toHaveLength(1);
    expect(nl.calls[0]).toHaveLength(n);
    const events = drain(core);
    const failures = events.filter((e) => e.kind === "requestFailed");
    expect(failures).toEqual([
      expect.objectContaining({
        seq: 100 + failed,
        op: OP_ADD_MAPPING,
        status: Status.SEND_FAILED,
        errno: Errno.ECONNREFUSED,
        port: CLIENT_PORT,
      }),
    ]);
    const removed = events.filter((e) => e.kind === "mappingRemoved");
    expect(removed).toEqual([expect.objectContaining({ seq: 100 + failed, refcount: 0 })]);
    const x = core.exports;
    expect(x.serviceMappingCount()).toBe(n - 1);
    // Its reserved port was closed; the others' stay open.
    expect(ports.open.size).toBe(n - 1);
    expect(x.serviceLastErrno()).toBe(Errno.ECONNREFUSED);
  });

  it("flushes a full area early: 100 answers leave in two send_batch calls, and a failure in the second fails its own request", async () => {
    const { core, nl, ports, poll } = await service();
    nl.inbox.push({ bytes: regPid(1, "siw0"), port: CLIENT_PORT });
    poll();
    nl.calls.length = 0;
    drain(core);
    const n = 100;
    const failed = 70;
    for (let i = 0; i < n; i++) nl.inbox.push({ bytes: addMapping(100 + i, local(i)), port: CLIENT_PORT });
    nl.failFrom([failed]);
    poll();
    expect(nl.calls.map((c) => c.length)).toEqual([64, n - 64]);
    expect(answered(nl.calls.flat())).toEqual(Array.from({ length: n }, (_, i) => 100 + i));
    const failures = drain(core).filter((e) => e.kind === "requestFailed");
    expect(failures).toEqual([expect.objectContaining({ seq: 100 + failed, status: Status.SEND_FAILED, errno: Errno.ECONNREFUSED })]);
    expect(core.exports.serviceMappingCount()).toBe(n - 1);
    expect(ports.open.size).toBe(n - 1);
  });

  it("sends at once outside a pass (start-up HELLO), so its errno comes back with the call", async () => {
    const { core, nl } = await service();
    nl.failFrom([0]);
    expect(core.exports.serviceStart()).toBeLessThan(0);
    expect(nl.calls).toHaveLength(1);
  });
});
