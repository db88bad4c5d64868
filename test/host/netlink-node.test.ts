// The Node host's netlink socket under the shim's batch interface: real NETLINK_USERSOCK sockets,
// datagrams in a WebAssembly memory as the core lays them out, errno numbers in WASI's numbering.

import { afterEach, describe, expect, it, vi } from "vitest";
import { Errno } from "../../src/core/errno.js";
import { type NodeNetlinkSocket, openNetlinkSocket } from "../../src/host/netlink-node.js";
import {
  RX_DESC_SIZE,
  RX_FLAGS,
  RX_LEN,
  RX_PORT,
  RX_UID,
  RXF_CREDS,
  TX_DESC_SIZE,
  TX_ERRNO,
  TX_GROUPS,
  TX_LEN,
  TX_PORT,
  TX_PTR,
} from "../../src/host/shim.js";

const opened: NodeNetlinkSocket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

function open(onReadable: () => void = () => {}): NodeNetlinkSocket {
  const s = openNetlinkSocket({ onReadable });
  opened.push(s);
  return s;
}

/** A port nobody binds: process ids stay far below it. */
const unboundPort = () => 0x7f000000 + Math.floor(Math.random() * 0xffffff);

const DATA = 4096;
const DESCS = 1024;

function txDesc(view: DataView, i: number, ptr: number, len: number, port: number): void {
  const d = DESCS + i * TX_DESC_SIZE;
  view.setUint32(d + TX_PTR, ptr, true);
  view.setUint32(d + TX_LEN, len, true);
  view.setUint32(d + TX_PORT, port >>> 0, true);
  view.setUint32(d + TX_GROUPS, 0, true);
}

describe("NodeNetlinkSocket", () => {
  it("sends from and receives into core memory, with the sender's credentials", async () => {
    let readable = 0;
    const b = open(() => readable++);
    const a = open();
    const memory = new WebAssembly.Memory({ initial: 2 });
    const view = new DataView(memory.buffer);
    new Uint8Array(memory.buffer).set([1, 2, 3, 4, 5], DATA);
    txDesc(view, 0, DATA, 5, b.port);
    txDesc(view, 1, DATA, 2, b.port);
    expect(a.sendBatch(memory.buffer, DESCS, 2)).toBe(0);
    expect(view.getInt32(DESCS + TX_ERRNO, true)).toBe(0);
    await vi.waitFor(() => expect(readable).toBeGreaterThan(0));

    const rx = 8192;
    const slot = 256;
    const n = b.recvBatch(memory.buffer, 2048, rx, slot, 8);
    expect(n).toBe(2);
    expect([...new Uint8Array(memory.buffer, rx, 5)]).toEqual([1, 2, 3, 4, 5]);
    expect([...new Uint8Array(memory.buffer, rx + slot, 2)]).toEqual([1, 2]);
    expect(view.getUint32(2048 + RX_LEN, true)).toBe(5);
    expect(view.getUint32(2048 + RX_PORT, true)).toBe(a.port);
    expect(view.getUint32(2048 + RX_FLAGS, true) & RXF_CREDS).toBe(RXF_CREDS);
    expect(view.getUint32(2048 + RX_UID, true)).toBe(process.getuid?.());
    expect(view.getUint32(2048 + RX_DESC_SIZE + RX_LEN, true)).toBe(2);
    expect(b.recvBatch(memory.buffer, 2048, rx, slot, 8)).toBe(0);
  });

  it("reports a refused datagram in WASI numbering, and delivers the others of the batch", async () => {
    let readable = 0;
    const b = open(() => readable++);
    const a = open();
    const memory = new WebAssembly.Memory({ initial: 1 });
    const view = new DataView(memory.buffer);
    txDesc(view, 0, DATA, 4, unboundPort());
    txDesc(view, 1, DATA, 4, b.port);
    expect(a.sendBatch(memory.buffer, DESCS, 2)).toBe(0);
    expect(view.getInt32(DESCS + TX_ERRNO, true)).toBe(Errno.ECONNREFUSED);
    expect(view.getInt32(DESCS + TX_DESC_SIZE + TX_ERRNO, true)).toBe(0);
    await vi.waitFor(() => expect(readable).toBeGreaterThan(0));
    expect(b.recvBatch(memory.buffer, 2048, 8192, 64, 8)).toBe(1);
  });

  it("refuses a port already taken with SOCKET_ERROR naming EADDRINUSE", () => {
    const a = open();
    expect(() => openNetlinkSocket({ port: a.port, onReadable: () => {} })).toThrow(/EADDRINUSE/);
  });
});
