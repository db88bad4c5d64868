/**
 * The addon's netlink sockets on their own, over real NETLINK_USERSOCK sockets in this process.
 * Other processes may use USERSOCK multicast at the same time, so multicast payloads carry a
 * nonce and only matching datagrams count; unicast is per port and needs no filter.
 */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { IwpmError } from "../../src/core/errors.js";
import type { NativeHandle } from "../../src/host/native-node.js";
import { NativeNetlinkSocket } from "../../src/host/native-node.js";
import {
  ADDON,
  bytes,
  EBADF,
  ECONNREFUSED,
  EFAULT,
  groupMask,
  helper,
  NETLINK_USERSOCK,
  NOBODY,
  native,
  nonce,
  RXF_CREDS,
  RXF_TRUNC,
  readRx,
  TX,
  text,
  txErrno,
  txTag,
  writeTx,
} from "./support.js";

// Areas in one WebAssembly.Memory, as the core lays out its transmit and receive areas.
const TX_DESC = 0;
const TX_DATA = 8192;
const RX_DESC = 65536;
const RX_DATA = 81920;
const SLOT = 512;
// A group other tests of this project do not use, so their traffic rarely lands here.
const TEST_GROUP = 23;

interface Sock {
  handle: NativeHandle;
  port: number;
  fd: number;
}

const opened: Sock[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) native().netlinkClose(s.handle);
});

function open(groupsMask = 0, rcvbuf = 0): Sock {
  const r = native().netlinkOpen(NETLINK_USERSOCK, 0, groupsMask, rcvbuf, false);
  if ("errno" in r) throw new Error(`netlinkOpen: ${r.syscall} errno ${r.errno}`);
  opened.push(r);
  return r;
}

const memory = () => new WebAssembly.Memory({ initial: 4 }).buffer;

function send(from: Sock, mem: ArrayBuffer, datagrams: Parameters<typeof writeTx>[3]): number {
  writeTx(mem, TX_DESC, TX_DATA, datagrams);
  return native().netlinkSend(from.handle, mem, TX_DESC, datagrams.length);
}

function recvAll(to: Sock, mem: ArrayBuffer, max = 64) {
  const n = native().netlinkRecv(to.handle, mem, RX_DESC, RX_DATA, SLOT, max);
  expect(n).toBeGreaterThanOrEqual(0);
  return readRx(mem, RX_DESC, RX_DATA, SLOT, n);
}

/** Resolves with the events a started socket reports until `until` says enough. */
function events(s: Sock, until: (kind: number, value: number) => boolean): Promise<[number, number][]> {
  const seen: [number, number][] = [];
  return new Promise((resolve) => {
    native().netlinkStart(s.handle, (kind, value) => {
      seen.push([kind, value]);
      if (until(kind, value)) resolve(seen);
    });
  });
}

const fdCount = () => readdirSync("/proc/self/fd").length;

describe("netlinkRecv", () => {
  it("puts datagrams, their lengths, source and credentials at the given offsets of a WebAssembly.Memory", () => {
    const a = open();
    const b = open();
    const mem = memory();
    const payloads = ["first", "a somewhat longer second datagram", "3"];
    expect(
      send(
        a,
        mem,
        payloads.map((p) => ({ bytes: bytes(p), port: b.port })),
      ),
    ).toBe(0);
    const got = recvAll(b, mem, 16);
    expect(got.map((d) => text(d.bytes))).toEqual(payloads);
    for (const d of got) {
      expect(d.len).toBe(d.bytes.length);
      expect(d.port).toBe(a.port);
      expect(d.groups).toBe(0);
      expect(d.flags).toBe(RXF_CREDS);
      expect([d.pid, d.uid, d.gid]).toEqual([process.pid, process.getuid?.(), process.getgid?.()]);
    }
    expect(native().netlinkRecv(b.handle, mem, RX_DESC, RX_DATA, SLOT, 16)).toBe(0);
    expect(native().netlinkCounters(b.handle)).toMatchObject({ received: 3, truncated: 0, overruns: 0 });
    expect(native().netlinkCounters(a.handle)).toMatchObject({ sent: 3, sendErrors: 0 });
  });

  it("carries uid 65534 and the sender's pid for a datagram from a process run as nobody", () => {
    const b = open();
    const sender = helper("nl-send");
    const payload = `from nobody ${nonce()}`;
    const out = execFileSync("setpriv", [...NOBODY, sender, String(NETLINK_USERSOCK), String(b.port), "0", "1", payload], {
      encoding: "utf8",
    });
    const [senderPort, accepted] = out.trim().split(" ").map(Number);
    expect(accepted).toBe(1);
    const [d] = recvAll(b, memory());
    expect(text(d.bytes)).toBe(payload);
    expect(d.port).toBe(senderPort);
    expect(d.flags & RXF_CREDS).toBe(RXF_CREDS);
    expect([d.uid, d.gid]).toEqual([65534, 65534]);
    // setpriv execs the sender, so the pid that sent is the child's, not this process's.
    expect(d.pid).not.toBe(process.pid);
    expect(d.pid).toBeGreaterThan(0);
  });

  it("returns a whole queue of 100 in one call, or 64 and then the rest", () => {
    const a = open();
    const b = open();
    const mem = memory();
    const batch = (tag: string) => Array.from({ length: 100 }, (_, i) => ({ bytes: bytes(`${tag}${i}`), port: b.port }));
    expect(send(a, mem, batch("x"))).toBe(0);
    const all = recvAll(b, mem, 128);
    expect(all.map((d) => text(d.bytes))).toEqual(batch("x").map((d) => text(d.bytes)));

    expect(send(a, mem, batch("y"))).toBe(0);
    const first = recvAll(b, mem, 64);
    const rest = recvAll(b, mem, 64);
    expect(first).toHaveLength(64);
    expect(rest).toHaveLength(36);
    expect([...first, ...rest].map((d) => text(d.bytes))).toEqual(batch("y").map((d) => text(d.bytes)));
    expect(recvAll(b, mem)).toHaveLength(0);
  });

  it("marks a datagram longer than its slot truncated, with its real length, and keeps the next slot intact", () => {
    const a = open();
    const b = open();
    const mem = memory();
    const long = "0123456789abcdef-and-much-more-than-sixteen-bytes";
    send(a, mem, [
      { bytes: bytes(long), port: b.port },
      { bytes: bytes("short"), port: b.port },
    ]);
    const slot = 16;
    const n = native().netlinkRecv(b.handle, mem, RX_DESC, RX_DATA, slot, 2);
    expect(n).toBe(2);
    const [d, e] = readRx(mem, RX_DESC, RX_DATA, slot, 2);
    expect(d.flags).toBe(RXF_CREDS | RXF_TRUNC);
    expect(d.len).toBe(long.length);
    expect(text(d.bytes)).toBe(long.slice(0, slot));
    expect(e.flags).toBe(RXF_CREDS);
    expect(text(e.bytes)).toBe("short");
    expect(native().netlinkCounters(b.handle).truncated).toBe(1);
  });

  it("refuses areas outside the buffer with -EFAULT before reading anything", () => {
    const a = open();
    const b = open();
    const mem = memory();
    send(a, mem, [{ bytes: bytes("stays queued"), port: b.port }]);
    const size = mem.byteLength;
    expect(native().netlinkRecv(b.handle, mem, size - 8, RX_DATA, SLOT, 1)).toBe(-EFAULT);
    expect(native().netlinkRecv(b.handle, mem, RX_DESC, size - SLOT + 1, SLOT, 1)).toBe(-EFAULT);
    expect(native().netlinkRecv(b.handle, mem, RX_DESC, RX_DATA, SLOT, 2 ** 31)).toBe(-EFAULT);
    expect(native().netlinkRecv(b.handle, mem, -1, RX_DATA, SLOT, 1)).toBe(-EFAULT);
    expect(text(recvAll(b, mem)[0].bytes)).toBe("stays queued");
  });

  it("throws a TypeError only for wrong argument types", () => {
    const b = open();
    const n = native();
    expect(() => n.netlinkRecv(b.handle, new Uint8Array(64) as unknown as ArrayBuffer, 0, 0, 1, 1)).toThrow(TypeError);
    expect(() => n.netlinkRecv({}, memory(), 0, 0, 1, 1)).toThrow(TypeError);
    expect(() => n.netlinkRecv(b.handle, memory(), "0" as unknown as number, 0, 1, 1)).toThrow(TypeError);
    expect(() => n.netlinkCounters(null as unknown as object)).toThrow(TypeError);
  });
});

describe("netlinkSend", () => {
  it("sends a batch of 10 at once and marks each sent, leaving the tags alone", () => {
    const a = open();
    const b = open();
    const mem = memory();
    const batch = Array.from({ length: 10 }, (_, i) => ({ bytes: bytes(`n${i}`), port: b.port, tag: 0xfeed0000 + i }));
    expect(send(a, mem, batch)).toBe(0);
    for (let i = 0; i < 10; i++) {
      expect(txErrno(mem, TX_DESC, i)).toBe(0);
      expect(txTag(mem, TX_DESC, i)).toBe(0xfeed0000 + i);
    }
    expect(recvAll(b, mem).map((d) => text(d.bytes))).toEqual(batch.map((d) => text(d.bytes)));
  });

  it("reports ECONNREFUSED for the datagram to a dead port only, and delivers the others once, in order", () => {
    const a = open();
    const b = open();
    const dead = open();
    native().netlinkClose(dead.handle);
    const mem = memory();
    const batch = [
      { bytes: bytes("one"), port: b.port },
      { bytes: bytes("lost"), port: dead.port },
      { bytes: bytes("two"), port: b.port },
      { bytes: bytes("three"), port: b.port },
    ];
    expect(send(a, mem, batch)).toBe(1);
    expect([0, 1, 2, 3].map((i) => txErrno(mem, TX_DESC, i))).toEqual([0, ECONNREFUSED, 0, 0]);
    expect(recvAll(b, mem).map((d) => text(d.bytes))).toEqual(["one", "two", "three"]);
    expect(native().netlinkCounters(a.handle)).toMatchObject({ sent: 3, sendErrors: 1 });
  });

  it("refuses a datagram outside the buffer with -EFAULT and sends none of the batch", () => {
    const a = open();
    const b = open();
    const mem = memory();
    writeTx(mem, TX_DESC, TX_DATA, [
      { bytes: bytes("fine"), port: b.port },
      { bytes: bytes("moved out"), port: b.port },
    ]);
    new DataView(mem).setUint32(TX_DESC + TX.SIZE + TX.PTR, mem.byteLength - 2, true);
    expect(native().netlinkSend(a.handle, mem, TX_DESC, 2)).toBe(-EFAULT);
    expect(native().netlinkSend(a.handle, mem, mem.byteLength - TX.SIZE, 2)).toBe(-EFAULT);
    expect(recvAll(b, mem)).toHaveLength(0);
    expect(native().netlinkCounters(a.handle).sent).toBe(0);
  });

  it("delivers a group send to members, and reports the port-0 multicast as sent", () => {
    const a = open();
    const member = open(groupMask(TEST_GROUP));
    const mem = memory();
    const payload = `group ${nonce()}`;
    expect(send(a, mem, [{ bytes: bytes(payload), port: 0, groups: groupMask(TEST_GROUP) }])).toBe(0);
    expect(txErrno(mem, TX_DESC, 0)).toBe(0);
    const got = recvAll(member, mem).filter((d) => text(d.bytes) === payload);
    expect(got).toHaveLength(1);
    expect(got[0].groups).toBe(groupMask(TEST_GROUP));
    expect(got[0].port).toBe(a.port);
  });
});

describe("polling", () => {
  it("reports readability on two started sockets of one process", async () => {
    const a = open();
    const b = open();
    const mem = memory();
    const readable = (s: Sock) => events(s, (kind) => kind === 1);
    const both = Promise.all([readable(a), readable(b)]);
    send(a, mem, [{ bytes: bytes("to b"), port: b.port }]);
    send(b, mem, [{ bytes: bytes("to a"), port: a.port }]);
    const [ea, eb] = await both;
    expect(ea[0]).toEqual([1, 0]);
    expect(eb[0]).toEqual([1, 0]);
    expect(text(recvAll(a, mem)[0].bytes)).toBe("to a");
    expect(text(recvAll(b, mem)[0].bytes)).toBe("to b");
  });

  it("closes from inside its own callback; later calls answer -EBADF", async () => {
    const a = open();
    const b = open();
    const mem = memory();
    const closedInside = new Promise<number>((resolve) => {
      native().netlinkStart(b.handle, () => resolve(native().netlinkClose(b.handle)));
    });
    send(a, mem, [{ bytes: bytes("wake up"), port: b.port }]);
    expect(await closedInside).toBe(0);
    expect(native().netlinkClose(b.handle)).toBe(0);
    expect(native().netlinkRecv(b.handle, mem, RX_DESC, RX_DATA, SLOT, 1)).toBe(-EBADF);
    expect(native().netlinkSend(b.handle, mem, TX_DESC, 0)).toBe(-EBADF);
    expect(native().netlinkStart(b.handle, () => {})).toBe(-EBADF);
    expect(native().netlinkStop(b.handle)).toBe(-EBADF);
    // The port is gone with the socket.
    expect(send(a, mem, [{ bytes: bytes("too late"), port: b.port }])).toBe(1);
    expect(txErrno(mem, TX_DESC, 0)).toBe(ECONNREFUSED);
    // One turn of the loop: the closed handle's poll must be gone without a trace.
    await new Promise((resolve) => setImmediate(resolve));
  });

  it("opens and closes 1000 sockets, started or not, without leaking a descriptor", async () => {
    const before = fdCount();
    for (let i = 0; i < 1000; i++) {
      const r = native().netlinkOpen(NETLINK_USERSOCK, 0, 0, 0, false);
      if ("errno" in r) throw new Error(`netlinkOpen errno ${r.errno}`);
      if (i % 2 === 0) expect(native().netlinkStart(r.handle, () => {})).toBe(0);
      expect(native().netlinkClose(r.handle)).toBe(0);
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(fdCount()).toBe(before);
  });

  it("works in a worker thread that opens, receives, closes and exits", async () => {
    const a = open();
    const mem = memory();
    const worker = new Worker(
      `
      const { parentPort, workerData } = require("node:worker_threads");
      const m = { exports: {} };
      process.dlopen(m, workerData.addon);
      const n = m.exports;
      const s = n.netlinkOpen(2, 0, 0, 0, false);
      const mem = new ArrayBuffer(8192);
      n.netlinkStart(s.handle, (kind) => {
        if (kind !== 1) return;
        const count = n.netlinkRecv(s.handle, mem, 0, 1024, 1024, 4);
        const len = new DataView(mem).getUint32(0, true);
        parentPort.postMessage({ count, text: Buffer.from(mem, 1024, len).toString() });
        n.netlinkClose(s.handle);
      });
      // A second socket left open, started and unreferenced: the worker exits on its own once
      // the first is closed, and its teardown must close this one rather than abort.
      const left = n.netlinkOpen(2, 0, 0, 0, false);
      n.netlinkStart(left.handle, () => {});
      n.netlinkRef(left.handle, false);
      parentPort.postMessage({ port: s.port });
      `,
      { eval: true, workerData: { addon: ADDON } },
    );
    const messages: { port?: number; count?: number; text?: string }[] = [];
    const exit = new Promise<number>((resolve, reject) => {
      worker.on("error", reject);
      worker.on("exit", resolve);
    });
    worker.on("message", (msg) => {
      messages.push(msg);
      if (msg.port !== undefined) send(a, mem, [{ bytes: bytes("hello worker"), port: msg.port }]);
    });
    expect(await exit).toBe(0);
    expect(messages[1]).toEqual({ count: 1, text: "hello worker" });
  });
  it("closes the sockets of a worker that is terminated while they are started", async () => {
    const a = open();
    const mem = memory();
    const worker = new Worker(
      `
      const { parentPort, workerData } = require("node:worker_threads");
      const m = { exports: {} };
      process.dlopen(m, workerData.addon);
      const s = m.exports.netlinkOpen(2, 0, 0, 0, false);
      m.exports.netlinkStart(s.handle, () => {});
      parentPort.postMessage(s.port);
      `,
      { eval: true, workerData: { addon: ADDON } },
    );
    const port = await new Promise<number>((resolve, reject) => {
      worker.on("error", reject);
      worker.on("message", resolve);
    });
    expect(send(a, mem, [{ bytes: bytes("alive"), port }])).toBe(0);
    await worker.terminate();
    // Its socket went with it: the port no longer exists.
    expect(send(a, mem, [{ bytes: bytes("gone"), port }])).toBe(1);
    expect(txErrno(mem, TX_DESC, 0)).toBe(ECONNREFUSED);
  });
});

describe("NativeNetlinkSocket", () => {
  it("names the errno and what to do when a socket cannot be opened", () => {
    const a = NativeNetlinkSocket.open();
    try {
      NativeNetlinkSocket.open({ port: a.port });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IwpmError);
      expect((err as IwpmError).code).toBe("SOCKET_ERROR");
      expect((err as IwpmError).message).toMatch(/bind failed: EADDRINUSE \(errno 98\).*port 0/);
    } finally {
      a.close();
    }
    expect(() => NativeNetlinkSocket.open({ protocol: 31 })).toThrow(/EPROTONOSUPPORT/);
    expect(() => NativeNetlinkSocket.open({ groups: [33] })).toThrow(/1\.\.32/);
  });

  it("receives through start() and counts what it did", async () => {
    const a = NativeNetlinkSocket.open();
    const b = NativeNetlinkSocket.open({ recvBufferSize: 65536, forceRecvBufferSize: true });
    try {
      // Root may force the size; the kernel doubles what it grants.
      expect(b.recvBufferSize).toBe(131072);
      const mem = memory();
      const got = new Promise<number>((resolve) =>
        b.start(
          () => resolve(b.recvBatch(mem, RX_DESC, RX_DATA, SLOT, 8)),
          () => {},
        ),
      );
      writeTx(mem, TX_DESC, TX_DATA, [{ bytes: bytes("via wrapper"), port: b.port }]);
      expect(a.sendBatch(mem, TX_DESC, 1)).toBe(0);
      expect(await got).toBe(1);
      expect(text(readRx(mem, RX_DESC, RX_DATA, SLOT, 1)[0].bytes)).toBe("via wrapper");
      expect(b.counters.received).toBe(1);
      expect(a.counters.sent).toBe(1);
    } finally {
      a.close();
      b.close();
      b.close();
    }
  });
});
