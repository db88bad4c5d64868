// Run by Deno (test/interop/deno.test.ts): the Deno netlink socket on its own, several sockets in
// one process, each reading into and sending from a WebAssembly.Memory laid out as the core's
// (descriptors, then one slot per datagram). Prints one JSON line per check and {"done":true}
// last; then closes every socket and returns, so the process must exit by itself.
//
//   deno run --sloppy-imports --allow-ffi socket.ts          all checks (root: joins groups)
//   deno run --sloppy-imports --allow-ffi socket.ts creds    one batch between two sockets: its credentials
//   deno run --sloppy-imports --allow-ffi socket.ts unref    one unref'd open socket: must exit too

import { type DenoNetlinkSocket, NETLINK_USERSOCK, openNetlinkSocketDeno } from "../../src/host/netlink-deno.js";
import {
  RX_DESC_SIZE,
  RX_FLAGS,
  RX_GID,
  RX_GROUPS,
  RX_LEN,
  RX_PID,
  RX_PORT,
  RX_UID,
  RXF_CREDS,
  RXF_TRUNC,
  TX_DESC_SIZE,
  TX_ERRNO,
  TX_GROUPS,
  TX_LEN,
  TX_PORT,
  TX_PTR,
} from "../../src/host/shim.js";

const deno = (globalThis as unknown as { Deno: { args: string[]; pid: number } }).Deno;
const out = (line: Record<string, unknown>) => console.log(JSON.stringify(line));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const PAGE = 65536;
const MAX = 64;
const SLOT = 65536;
// The core's layout in small: receive descriptors, receive slots, then the transmit area.
const RX_DESCS = 0;
const RX_DATA = PAGE;
const TX_DESCS = RX_DATA + MAX * SLOT;
const TX_DATA = TX_DESCS + PAGE;
const PAGES = TX_DATA / PAGE + 8;

interface Received {
  text: string;
  len: number;
  port: number;
  groups: number;
  pid: number;
  uid: number;
  gid: number;
  creds: boolean;
  trunc: boolean;
  /** The first 4 bytes as a little-endian sequence number. */
  seq: number;
  /** Bytes of the datagram found in its slot. */
  inSlot: number;
}

interface Outgoing {
  bytes: Uint8Array;
  port: number;
  groups: number;
}

/** A socket over its own memory: every datagram lands in `got`; `calls` holds each recvBatch result. */
function open(opts: { groups?: number[]; recvBufferSize?: number; closeOnReadable?: boolean; slot?: number; pull?: boolean } = {}) {
  const memory = new WebAssembly.Memory({ initial: PAGES });
  const slot = opts.slot ?? SLOT;
  const got: Received[] = [];
  const calls: number[] = [];
  const overruns: number[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  const state = { pull: opts.pull ?? true };
  const pull = () => {
    for (;;) {
      const n = socket.recvBatch(memory.buffer, RX_DESCS, RX_DATA, slot, MAX);
      calls.push(n);
      if (n <= 0) break;
      // Read after the call: the buffer may be a new one since the last call (memory.grow).
      const view = new DataView(memory.buffer);
      for (let i = 0; i < n; i++) {
        const d = RX_DESCS + i * RX_DESC_SIZE;
        const len = view.getUint32(d + RX_LEN, true);
        const inSlot = Math.min(len, slot);
        const bytes = new Uint8Array(memory.buffer, RX_DATA + i * slot, inSlot);
        const flags = view.getUint32(d + RX_FLAGS, true);
        got.push({
          text: new TextDecoder().decode(bytes.subarray(0, Math.min(inSlot, 64))),
          len,
          port: view.getUint32(d + RX_PORT, true),
          groups: view.getUint32(d + RX_GROUPS, true),
          pid: view.getUint32(d + RX_PID, true),
          uid: view.getUint32(d + RX_UID, true),
          gid: view.getUint32(d + RX_GID, true),
          creds: (flags & RXF_CREDS) !== 0,
          trunc: (flags & RXF_TRUNC) !== 0,
          seq: inSlot >= 4 ? view.getUint32(RX_DATA + i * slot, true) : -1,
          inSlot: bytes.filter((b, k) => b === expectedByte(len, k)).length,
        });
      }
    }
  };
  const socket: DenoNetlinkSocket = openNetlinkSocketDeno({
    protocol: NETLINK_USERSOCK,
    ...(opts.groups !== undefined ? { groups: opts.groups } : {}),
    ...(opts.recvBufferSize !== undefined ? { recvBufferSize: opts.recvBufferSize } : {}),
    onReadable: () => {
      if (!state.pull) return;
      pull();
      if (opts.closeOnReadable) socket.close();
      if (waiter !== undefined && got.length >= waiter.n) waiter.resolve();
    },
    onOverrun: (total) => overruns.push(total),
  });
  // The timer is cleared on arrival: a pending one would keep the process alive.
  const arrived = (n: number, ms = 5000) =>
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
  /** One sendBatch of `batch` from this socket's transmit area: the call's result and each datagram's errno. */
  const send = (batch: Outgoing[]) => {
    let at = TX_DATA;
    const u8 = new Uint8Array(memory.buffer);
    const view = new DataView(memory.buffer);
    batch.forEach((o, i) => {
      u8.set(o.bytes, at);
      const d = TX_DESCS + i * TX_DESC_SIZE;
      view.setUint32(d + TX_PTR, at, true);
      view.setUint32(d + TX_LEN, o.bytes.length, true);
      view.setUint32(d + TX_PORT, o.port, true);
      view.setUint32(d + TX_GROUPS, o.groups, true);
      // Not 0: the socket must write every descriptor's errno.
      view.setInt32(d + TX_ERRNO, -1, true);
      at += o.bytes.length;
    });
    const result = socket.sendBatch(memory.buffer, TX_DESCS, batch.length);
    const errnos = batch.map((_, i) => new DataView(memory.buffer).getInt32(TX_DESCS + i * TX_DESC_SIZE + TX_ERRNO, true));
    return { result, errnos };
  };
  return { socket, memory, got, calls, overruns, arrived, send, pull, state };
}

/** The byte at offset k of a long test datagram of length len: a pattern no zero-filled slot matches. */
function expectedByte(len: number, k: number): number {
  return (k * 7 + len) & 0xff;
}

function patterned(len: number): Uint8Array {
  const bytes = new Uint8Array(len);
  for (let k = 0; k < len; k++) bytes[k] = expectedByte(len, k);
  return bytes;
}

const text = (s: string) => new TextEncoder().encode(s);
const numbered = (seq: number, len: number) => {
  const bytes = new Uint8Array(len);
  new DataView(bytes.buffer).setUint32(0, seq, true);
  return bytes;
};
const summary = (r: Received) => ({ text: r.text, port: r.port, groups: r.groups });

/** A port nobody holds (random, in a range the kernel does not hand out to autobind). */
function freePort(taken: number[]): number {
  let free = 0x7000_0000 + Math.floor(Math.random() * 0x0fff_ffff);
  while (taken.includes(free)) free++;
  return free;
}

if (deno.args[0] === "unref") {
  const { socket } = open();
  socket.unref();
  out({ check: "unref", canUnref: socket.canUnref, port: socket.port });
} else if (deno.args[0] === "creds") {
  // Run unprivileged by the test: the credentials are the kernel's word on who sent.
  const a = open();
  const b = open();
  const sent = a.send([
    { bytes: text("one"), port: b.socket.port, groups: 0 },
    { bytes: text("two"), port: b.socket.port, groups: 0 },
  ]);
  await b.arrived(2);
  out({
    check: "creds",
    sent,
    pid: deno.pid,
    got: b.got.map((r) => ({ text: r.text, port: r.port, pid: r.pid, uid: r.uid, gid: r.gid, creds: r.creds })),
    portA: a.socket.port,
    calls: b.calls,
  });
  a.socket.close();
  b.socket.close();
} else {
  const a = open();
  const b = open();
  const group = 5;
  const mask = 1 << (group - 1);
  const c = open({ groups: [group] });
  out({ check: "open", ports: [a.socket.port, b.socket.port, c.socket.port] });

  // One batch of three, read by one recvBatch: the source port is the sender's bound port.
  const unicast = a.send([0, 1, 2].map((i) => ({ bytes: text(`a to b ${i}`), port: b.socket.port, groups: 0 })));
  const unicastSeen = await b.arrived(3);
  const back = b.send([{ bytes: text("b to a"), port: a.socket.port, groups: 0 }]);
  await a.arrived(1);
  out({
    check: "unicast",
    sent: unicast,
    seen: unicastSeen,
    calls: b.calls.slice(),
    atB: b.got.map(summary),
    back,
    atA: a.got.map(summary),
    credsAtB: b.got.map((r) => ({ creds: r.creds, pid: r.pid })),
    pid: deno.pid,
    lens: b.got.map((r) => r.len),
    portA: a.socket.port,
    portB: b.socket.port,
  });

  // The core's memory grows between two batches: the socket must write into the new buffer.
  b.memory.grow(1);
  const grown = a.send([{ bytes: text("after grow"), port: b.socket.port, groups: 0 }]);
  await b.arrived(4);
  out({ check: "grown", sent: grown, got: b.got.slice(3).map(summary) });

  // A mixed batch: a refused unicast in the middle, a multicast to port 0 (its ECONNREFUSED from
  // the absent port 0 counts as sent): each datagram gets its own errno, the others all go out.
  const free = freePort([a.socket.port, b.socket.port, c.socket.port]);
  const before = { a: a.got.length, b: b.got.length, c: c.got.length, sent: a.socket.counters.sent, errors: a.socket.counters.sendErrors };
  const mixed = a.send([
    { bytes: text("m1"), port: b.socket.port, groups: 0 },
    { bytes: text("nobody"), port: free, groups: 0 },
    { bytes: text("m2"), port: b.socket.port, groups: 0 },
    { bytes: text("to the group"), port: 0, groups: mask },
    { bytes: text("m3"), port: b.socket.port, groups: 0 },
  ]);
  await b.arrived(before.b + 3);
  await c.arrived(before.c + 1);
  await sleep(200);
  out({
    check: "mixed",
    sent: mixed,
    atB: b.got.slice(before.b).map(summary),
    atC: c.got.slice(before.c).map(summary),
    atA: a.got.length - before.a,
    sentCounted: a.socket.counters.sent - before.sent,
    errorsCounted: a.socket.counters.sendErrors - before.errors,
    portA: a.socket.port,
    mask,
  });

  // A descriptor whose bytes run past the memory: the whole call is refused before anything leaves.
  const faultBefore = b.got.length;
  {
    const view = new DataView(a.memory.buffer);
    a.send([{ bytes: text("first"), port: b.socket.port, groups: 0 }]);
    view.setUint32(TX_DESCS + TX_DESC_SIZE + TX_PTR, a.memory.buffer.byteLength - 2, true);
    view.setUint32(TX_DESCS + TX_DESC_SIZE + TX_LEN, 4, true);
    view.setUint32(TX_DESCS + TX_DESC_SIZE + TX_PORT, b.socket.port, true);
    view.setUint32(TX_DESCS + TX_DESC_SIZE + TX_GROUPS, 0, true);
  }
  const sentBeforeFault = a.socket.counters.sent;
  const fault = a.socket.sendBatch(a.memory.buffer, TX_DESCS, 2);
  const faultRecv = b.socket.recvBatch(b.memory.buffer, b.memory.buffer.byteLength - RX_DESC_SIZE, RX_DATA, SLOT, 2);
  await sleep(200);
  out({
    check: "fault",
    send: fault,
    recv: faultRecv,
    arrived: b.got.length - faultBefore,
    sentCounted: a.socket.counters.sent - sentBeforeFault,
  });

  // Longer than the slot: the head fills the slot, the descriptor has the real length and TRUNC.
  const big = patterned(70_000);
  const small = patterned(100);
  const truncBefore = b.got.length;
  const longSend = a.send([
    { bytes: big, port: b.socket.port, groups: 0 },
    { bytes: small, port: b.socket.port, groups: 0 },
  ]);
  const longSeen = await b.arrived(truncBefore + 2);
  const [bigGot, smallGot] = b.got.slice(truncBefore);
  out({
    check: "truncated",
    sent: longSend,
    seen: longSeen,
    big: bigGot && { len: bigGot.len, trunc: bigGot.trunc, inSlot: bigGot.inSlot },
    small: smallGot && { len: smallGot.len, trunc: smallGot.trunc, inSlot: smallGot.inSlot },
    counted: b.socket.counters.truncated,
  });

  // A burst into a small receive queue in one batch: the kernel takes what fits, the rest
  // carries EAGAIN in its own descriptor (nothing waits in a backlog); what was taken arrives in order.
  const r = open({ recvBufferSize: 4096 });
  const burst = 200;
  const burstSent = a.send(Array.from({ length: burst }, (_, i) => ({ bytes: numbered(i, 1000), port: r.socket.port, groups: 0 })));
  const accepted = burstSent.errnos.filter((e) => e === 0).length;
  const burstSeen = await r.arrived(accepted);
  await sleep(200);
  out({
    check: "burst",
    result: burstSent.result,
    errnos: [...new Set(burstSent.errnos)].sort((x, y) => x - y),
    accepted,
    acceptedFirst: burstSent.errnos.slice(0, accepted).every((e) => e === 0),
    seen: burstSeen,
    received: r.got.length,
    inOrder: r.got.every((d, i) => d.seq === i),
  });

  // Overrun: multicasts flood a member that is not reading; the kernel drops some and flags
  // ENOBUFS. recvBatch counts it, onOverrun tells the total, and reading goes on.
  const o = open({ groups: [group + 1], recvBufferSize: 4096, pull: false });
  const flood = a.send(Array.from({ length: 200 }, (_, i) => ({ bytes: numbered(i, 1000), port: 0, groups: 1 << group })));
  o.state.pull = true;
  o.pull();
  const afterFlood = o.got.length;
  const later = a.send([{ bytes: text("after the overrun"), port: o.socket.port, groups: 0 }]);
  const laterSeen = await o.arrived(afterFlood + 1);
  for (let i = 0; i < 50 && o.overruns.length === 0; i++) await sleep(10);
  out({
    check: "overrun",
    floodErrnos: [...new Set(flood.errnos)],
    receivedOfFlood: afterFlood,
    overruns: o.socket.counters.overruns,
    reported: o.overruns,
    later,
    laterSeen,
    last: o.got.at(-1)?.text,
  });

  // close() from inside onReadable: the loop must stop cleanly (the final exit shows it).
  const selfClosing = open({ closeOnReadable: true });
  a.send([
    { bytes: text("one"), port: selfClosing.socket.port, groups: 0 },
    { bytes: text("two"), port: selfClosing.socket.port, groups: 0 },
  ]);
  await selfClosing.arrived(2);
  await sleep(50);
  out({
    check: "closeInReadable",
    received: selfClosing.got.map((d) => d.text),
    later: a.send([{ bytes: text("three"), port: selfClosing.socket.port, groups: 0 }]).errnos,
  });

  for (const s of [a, b, c, r, o]) s.socket.close();
  b.socket.close();
  out({
    check: "close",
    recvAfterClose: a.socket.recvBatch(a.memory.buffer, RX_DESCS, RX_DATA, SLOT, MAX),
    sendAfterClose: a.send([{ bytes: text("late"), port: b.socket.port, groups: 0 }]).result,
    counters: { a: a.socket.counters, b: b.socket.counters, c: c.socket.counters, r: r.socket.counters },
  });
}
out({ done: true });
