// Run by Deno (test/interop/deno.test.ts): the Deno netlink socket on its own, two or three sockets
// in one process. Prints one JSON line per check and {"done":true} last; then closes every socket
// and returns, so the process must exit by itself.
//
//   deno run --sloppy-imports --allow-ffi socket.ts          all checks
//   deno run --sloppy-imports --allow-ffi socket.ts unref    one unref'd open socket: must exit too

import { Errno } from "../../src/host/errno.js";
import { type DenoNetlinkSocket, NETLINK_USERSOCK, openNetlinkSocketDeno } from "../../src/host/netlink-deno.js";
import type { Datagram } from "../../src/host/shim.js";

const args: readonly string[] = (globalThis as unknown as { Deno: { args: string[] } }).Deno.args;
const out = (line: Record<string, unknown>) => console.log(JSON.stringify(line));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A socket whose datagrams land in `got`; `arrived` resolves once `got` holds n of them. */
function open(opts: { groups?: number[]; recvBufferSize?: number; closeOnReadable?: boolean } = {}) {
  const got: Datagram[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  const wakeups = { n: 0 };
  const sendErrors: { errno: number; port: number; seq: number }[] = [];
  const socket: DenoNetlinkSocket = openNetlinkSocketDeno({
    protocol: NETLINK_USERSOCK,
    ...(opts.groups !== undefined ? { groups: opts.groups } : {}),
    ...(opts.recvBufferSize !== undefined ? { recvBufferSize: opts.recvBufferSize } : {}),
    onReadable: () => {
      wakeups.n++;
      for (let d = socket.recvFrom(); d !== null; d = socket.recvFrom()) got.push(d);
      if (opts.closeOnReadable) socket.close();
      if (waiter !== undefined && got.length >= waiter.n) waiter.resolve();
    },
    onSendError: (_err, errno, datagram) => {
      sendErrors.push({ errno, port: datagram.port, seq: new DataView(datagram.bytes.buffer).getUint32(0, true) });
    },
  });
  // The timer is cleared on arrival: a pending one would keep the process alive.
  const arrived = (n: number, ms = 3000) =>
    new Promise<boolean>((resolve) => {
      if (got.length >= n) return resolve(true);
      const timer = setTimeout(() => {
        waiter = undefined;
        resolve(false);
      }, ms);
      waiter = {
        n,
        resolve: () => {
          clearTimeout(timer);
          waiter = undefined;
          resolve(true);
        },
      };
    });
  return { socket, got, arrived, wakeups, sendErrors };
}

const text = (d: Datagram | undefined) => (d === undefined ? null : new TextDecoder().decode(d.bytes));
const bytes = (s: string) => new TextEncoder().encode(s);

if (args[0] === "unref") {
  const { socket } = open();
  socket.unref();
  out({ check: "unref", canUnref: socket.canUnref, port: socket.port });
} else {
  const a = open();
  const b = open();
  const group = 5;
  const c = open({ groups: [group] });
  out({ check: "open", ports: [a.socket.port, b.socket.port, c.socket.port] });

  // Unicast both ways: the source port is the sender's bound port.
  const ab = a.socket.sendTo(bytes("a to b"), b.socket.port, 0);
  await b.arrived(1);
  const ba = b.socket.sendTo(bytes("b to a"), a.socket.port, 0);
  await a.arrived(1);
  out({
    check: "unicast",
    errnos: [ab, ba],
    atB: { text: text(b.got[0]), port: b.got[0]?.port, groups: b.got[0]?.groups },
    atA: { text: text(a.got[0]), port: a.got[0]?.port, groups: a.got[0]?.groups },
    portA: a.socket.port,
    portB: b.socket.port,
  });

  // Multicast to port 0: ECONNREFUSED from the (absent) port 0 counts as success; the one group
  // member gets it once, nobody else gets anything.
  const mask = 1 << (group - 1);
  const before = { a: a.got.length, b: b.got.length, c: c.got.length, sent: a.socket.counters.sent };
  const mc = a.socket.sendTo(bytes("to the group"), 0, mask);
  await c.arrived(1);
  await sleep(200);
  out({
    check: "multicast",
    errno: mc,
    member: c.got.map((d) => ({ text: text(d), port: d.port, groups: d.groups })),
    others: a.got.length - before.a + (b.got.length - before.b),
    sentCounted: a.socket.counters.sent - before.sent,
    portA: a.socket.port,
    mask,
  });

  // Unicast to a port nobody holds: ECONNREFUSED, synchronously.
  let free = 0x7000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  if (free === a.socket.port || free === b.socket.port || free === c.socket.port) free++;
  out({ check: "refused", errno: a.socket.sendTo(bytes("nobody"), free, 0), expected: Errno.ECONNREFUSED });

  // Longer than the 64 KiB receive buffer: the head arrives, with the real length.
  const big = new Uint8Array(70_000).fill(7);
  const bigErrno = a.socket.sendTo(big, b.socket.port, 0);
  const bigSeen = await b.arrived(2);
  const bigGot = b.got[1];
  out({
    check: "truncated",
    errno: bigErrno,
    seen: bigSeen,
    length: bigGot?.bytes.length,
    truncatedLength: bigGot?.truncatedLength,
    counted: b.socket.counters.truncated,
  });

  // A burst into a small receive queue, sent without yielding (so the receiver cannot read in
  // between): the kernel says EAGAIN, the rest waits in the backlog and arrives later, in order.
  const r = open({ recvBufferSize: 4096 });
  const burst = 200;
  const errnos = new Set<number>();
  let maxBacklog = 0;
  for (let i = 0; i < burst; i++) {
    const payload = new Uint8Array(1000);
    new DataView(payload.buffer).setUint32(0, i, true);
    errnos.add(a.socket.sendTo(payload, r.socket.port, 0));
    maxBacklog = Math.max(maxBacklog, a.socket.backlogged);
  }
  const allArrived = await r.arrived(burst, 10_000);
  const order = r.got.map((d) => new DataView(d.bytes.buffer, d.bytes.byteOffset).getUint32(0, true));
  out({
    check: "backlog",
    errnos: [...errnos],
    maxBacklog,
    allArrived,
    received: r.got.length,
    inOrder: order.every((v, i) => v === i),
    backlogAfter: a.socket.backlogged,
    sendErrors: a.socket.counters.sendErrors,
  });

  // The receiver goes away while datagrams wait in the backlog: each retry then fails with
  // ECONNREFUSED and is reported to onSendError with the datagram it carried.
  const gone = open({ recvBufferSize: 4096 });
  const goneSendErrors = a.socket.counters.sendErrors;
  let deferred = 0;
  for (let i = 0; i < 50; i++) {
    const payload = new Uint8Array(1000);
    new DataView(payload.buffer).setUint32(0, i, true);
    a.socket.sendTo(payload, gone.socket.port, 0);
    deferred = a.socket.backlogged;
  }
  gone.socket.close();
  for (let i = 0; i < 100 && a.socket.backlogged > 0; i++) await sleep(10);
  out({
    check: "lateFailure",
    deferred,
    reported: a.sendErrors.length,
    counted: a.socket.counters.sendErrors - goneSendErrors,
    errnos: [...new Set(a.sendErrors.map((e) => e.errno))],
    ports: [...new Set(a.sendErrors.map((e) => e.port))],
    seqs: a.sendErrors.map((e) => e.seq),
    goneReceived: gone.got.length,
    goneWakeups: gone.wakeups.n,
    gonePort: gone.socket.port,
  });

  // close() from inside onReadable: the receive loop must stop cleanly (the final exit shows it).
  const selfClosing = open({ closeOnReadable: true });
  a.socket.sendTo(bytes("one"), selfClosing.socket.port, 0);
  a.socket.sendTo(bytes("two"), selfClosing.socket.port, 0);
  await selfClosing.arrived(1);
  await sleep(50);
  out({
    check: "closeInReadable",
    received: selfClosing.got.map(text),
    later: a.socket.sendTo(bytes("three"), selfClosing.socket.port, 0),
  });

  // recvFrom on an empty queue; counters; close twice; sendTo after close.
  for (const s of [a, b, c, r]) s.socket.close();
  b.socket.close();
  out({
    check: "close",
    emptyRecv: a.socket.recvFrom(),
    sendAfterClose: a.socket.sendTo(bytes("late"), b.socket.port, 0),
    counters: { a: a.socket.counters, b: b.socket.counters, c: c.socket.counters, r: r.socket.counters },
    wakeups: { a: a.wakeups.n, b: b.wakeups.n, c: c.wakeups.n, r: r.wakeups.n },
  });
}
out({ done: true });
