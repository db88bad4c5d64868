/**
 * The shim, called the way the core calls it: from wasm, with pointers into the module's own
 * memory. The module is assembled by hand below: each import is re-exported by a function that
 * passes its parameters straight through, plus `grow` for memory.grow.
 */
import { describe, expect, it } from "vitest";
import { Errno, errnoFromCode, errnoFromError, errnoName } from "../../src/core/errno.js";
import {
  type BatchSocket,
  type Clock,
  createShim,
  type Datagram,
  type DatagramSocket,
  portableClock,
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
  type ShimOptions,
  SocketMap,
  TX_DESC_SIZE,
  TX_ERRNO,
  TX_GROUPS,
  TX_LEN,
  TX_PORT,
  TX_PTR,
} from "../../src/host/shim.js";

// ---- a minimal wasm binary writer (only what the forwarding module needs) ----

const I32 = 0x7f;
const I64 = 0x7e;
const PAGE = 65536;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
const name = (s: string): number[] => {
  const utf8 = [...new TextEncoder().encode(s)];
  return [...uleb(utf8.length), ...utf8];
};
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

interface ImportSig {
  module: string;
  field: string;
  params: number[];
}

const CORE_IMPORTS: ImportSig[] = [
  {
    module: "wasi_snapshot_preview1",
    field: "clock_time_get",
    params: [I32, I64, I32],
  },
  { module: "wasi_snapshot_preview1", field: "random_get", params: [I32, I32] },
  {
    module: "wasi_snapshot_preview1",
    field: "fd_write",
    params: [I32, I32, I32, I32],
  },
  { module: "iwpm_sock", field: "send_batch", params: [I32, I32, I32] },
  { module: "iwpm_sock", field: "recv_batch", params: [I32, I32, I32, I32, I32, I32] },
  { module: "iwpm_sock", field: "trust_check", params: [I32, I32, I32] },
];

function forwardingModule(imports: ImportSig[]): Uint8Array<ArrayBuffer> {
  const n = imports.length;
  const funcType = (params: number[]) => [0x60, ...vec(params.map((p) => [p])), ...vec([[I32]])];
  const types = [...imports.map((i) => funcType(i.params)), funcType([I32])];
  const importEntries = imports.map((imp, i) => [...name(imp.module), ...name(imp.field), 0x00, ...uleb(i)]);
  const funcs = [...imports.map((_, i) => uleb(i)), uleb(n)];
  const memory = [[0x01, ...uleb(1), ...uleb(16)]]; // 1 page, max 16
  const exports = [
    ...imports.map((imp, i) => [...name(imp.field), 0x00, ...uleb(n + i)]),
    [...name("grow"), 0x00, ...uleb(2 * n)],
    [...name("memory"), 0x02, 0x00],
  ];
  const body = (code: number[]) => {
    const content = [0x00, ...code, 0x0b]; // no locals
    return [...uleb(content.length), ...content];
  };
  const codes = [
    ...imports.map((imp, i) => body([...imp.params.flatMap((_, k) => [0x20, ...uleb(k)]), 0x10, ...uleb(i)])),
    body([0x20, 0x00, 0x40, 0x00]), // local.get 0; memory.grow 0
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec(importEntries)),
    ...section(3, vec(funcs)),
    ...section(5, vec(memory)),
    ...section(7, vec(exports)),
    ...section(10, vec(codes)),
  ]);
}

const WASM = forwardingModule(CORE_IMPORTS);

interface Core {
  memory: WebAssembly.Memory;
  clock_time_get(clockId: number, precision: bigint, timeOut: number): number;
  random_get(buf: number, len: number): number;
  fd_write(fd: number, iovs: number, iovsLen: number, nwritten: number): number;
  send_batch(fd: number, descs: number, count: number): number;
  recv_batch(fd: number, descs: number, data: number, slot: number, max: number, count: number): number;
  trust_check(pid: number, uid: number, gid: number): number;
  grow(pages: number): number;
}

async function instantiate(opts: Partial<ShimOptions> = {}): Promise<Core> {
  const shim = createShim({ sockets: new SocketMap(), ...opts });
  const { instance } = await WebAssembly.instantiate(WASM, shim.imports);
  const core = instance.exports as unknown as Core;
  shim.bind(core.memory);
  return core;
}

const u8 = (core: Core) => new Uint8Array(core.memory.buffer);
const dv = (core: Core) => new DataView(core.memory.buffer);
const u32At = (core: Core, ptr: number) => dv(core).getUint32(ptr, true);

// ---- test doubles ----

class FakeSocket implements DatagramSocket {
  readonly sent: { bytes: Uint8Array; port: number; groups: number }[] = [];
  readonly inbox: Datagram[] = [];
  sendResult: number = Errno.SUCCESS;
  sendTo(bytes: Uint8Array, port: number, groups: number): number {
    this.sent.push({ bytes, port, groups });
    return this.sendResult;
  }
  recvFrom(): Datagram | null {
    return this.inbox.shift() ?? null;
  }
}

class ThrowingSocket implements DatagramSocket {
  constructor(private readonly err: unknown) {}
  sendTo(): number {
    throw this.err;
  }
  recvFrom(): Datagram | null {
    throw this.err;
  }
}

const fixedClock: Clock = {
  monotonicNs: () => 0x0123_4567_89ab_cdefn,
  realtimeNs: () => 1_700_000_000_123_456_789n,
};

function fakeSockets(fd: number, socket: DatagramSocket | BatchSocket): SocketMap {
  return new SocketMap([[fd, socket]]);
}

// ---- tests ----

describe("clock_time_get", () => {
  it("writes the monotonic and realtime clocks as little-endian u64", async () => {
    const core = await instantiate({ clock: fixedClock });
    expect(core.clock_time_get(1, 1000n, 64)).toBe(Errno.SUCCESS);
    expect(dv(core).getBigUint64(64, true)).toBe(0x0123_4567_89ab_cdefn);
    expect([...u8(core).subarray(64, 72)]).toEqual([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01]);
    expect(core.clock_time_get(0, 0n, 72)).toBe(Errno.SUCCESS);
    expect(dv(core).getBigUint64(72, true)).toBe(1_700_000_000_123_456_789n);
  });

  it("refuses clocks it does not keep and pointers outside memory", async () => {
    const core = await instantiate({ clock: fixedClock });
    expect(core.clock_time_get(2, 0n, 64)).toBe(Errno.EINVAL);
    expect(core.clock_time_get(1, 0n, PAGE - 4)).toBe(Errno.EFAULT);
    expect(core.clock_time_get(1, 0n, -8)).toBe(Errno.EFAULT);
  });

  it("defaults to a portable clock: monotonic never goes back, realtime is the wall clock", async () => {
    const core = await instantiate();
    core.clock_time_get(1, 0n, 0);
    const first = dv(core).getBigUint64(0, true);
    core.clock_time_get(1, 0n, 0);
    expect(dv(core).getBigUint64(0, true)).toBeGreaterThanOrEqual(first);
    const before = BigInt(Date.now()) * 1_000_000n;
    core.clock_time_get(0, 0n, 8);
    const after = BigInt(Date.now()) * 1_000_000n;
    const realtime = dv(core).getBigUint64(8, true);
    expect(realtime >= before && realtime <= after).toBe(true);
    expect(Number(portableClock.monotonicNs())).toBeGreaterThan(0);
  });

  it("writes a clock's number of nanoseconds as the same u64 a bigint gives, past 2^32 and near 2^53", async () => {
    for (const ns of [0, 1, 0xffff_ffff, 0x1_0000_0000, 5_000_000_123, 2 ** 53 - 1]) {
      const core = await instantiate({ clock: { monotonicNs: () => ns, realtimeNs: () => BigInt(ns) } });
      expect(core.clock_time_get(1, 0n, 0)).toBe(Errno.SUCCESS);
      expect(core.clock_time_get(0, 0n, 8)).toBe(Errno.SUCCESS);
      expect(dv(core).getBigUint64(0, true)).toBe(BigInt(ns));
      expect(dv(core).getBigUint64(8, true)).toBe(BigInt(ns));
    }
  });
});

describe("random_get", () => {
  it("copies the host's random bytes to the buffer and nothing around it", async () => {
    const core = await instantiate({
      random: (buf) => {
        for (let i = 0; i < buf.length; i++) buf[i] = i + 1;
      },
    });
    expect(core.random_get(100, 16)).toBe(Errno.SUCCESS);
    expect([...u8(core).subarray(99, 117)]).toEqual([0, ...Array.from({ length: 16 }, (_, i) => i + 1), 0]);
    expect(core.random_get(PAGE - 8, 16)).toBe(Errno.EFAULT);
  });

  it("defaults to Web Crypto, also beyond its 64 KiB per-call limit", async () => {
    const core = await instantiate();
    core.grow(1);
    expect(core.random_get(0, PAGE + 4096)).toBe(Errno.SUCCESS);
    const tail = u8(core).subarray(PAGE, PAGE + 4096);
    expect(tail.some((b) => b !== 0)).toBe(true);
  });
});

describe("fd_write", () => {
  function writeIovs(core: Core, at: number, parts: Uint8Array[]): void {
    let data = at + parts.length * 8;
    parts.forEach((part, i) => {
      u8(core).set(part, data);
      dv(core).setUint32(at + i * 8, data, true);
      dv(core).setUint32(at + i * 8 + 4, part.length, true);
      data += part.length;
    });
  }

  it("gathers the ciovecs and hands decoded UTF-8 text to log()", async () => {
    const lines: [number, string][] = [];
    const core = await instantiate({
      log: (fd, text) => lines.push([fd, text]),
    });
    const utf8 = new TextEncoder().encode("héllo wörld\n");
    // Split inside "é" (0xc3 0xa9): decoding must not depend on where the core cut its buffers.
    writeIovs(core, 256, [utf8.subarray(0, 2), utf8.subarray(2)]);
    expect(core.fd_write(2, 256, 2, 512)).toBe(Errno.SUCCESS);
    expect(u32At(core, 512)).toBe(utf8.length);
    expect(lines).toEqual([[2, "héllo wörld\n"]]);
  });

  it("keeps a UTF-8 sequence that spans two writes intact", async () => {
    const lines: string[] = [];
    const core = await instantiate({ log: (_, text) => lines.push(text) });
    const utf8 = new TextEncoder().encode("ö!");
    writeIovs(core, 256, [utf8.subarray(0, 1)]);
    expect(core.fd_write(1, 256, 1, 512)).toBe(Errno.SUCCESS);
    writeIovs(core, 256, [utf8.subarray(1)]);
    expect(core.fd_write(1, 256, 1, 512)).toBe(Errno.SUCCESS);
    expect(lines.join("")).toBe("ö!");
  });

  it("answers EBADF for any fd but 1 and 2, EFAULT for a ciovec outside memory", async () => {
    const lines: string[] = [];
    const core = await instantiate({ log: (_, text) => lines.push(text) });
    writeIovs(core, 256, [new TextEncoder().encode("x")]);
    expect(core.fd_write(3, 256, 1, 512)).toBe(Errno.EBADF);
    dv(core).setUint32(256, PAGE - 1, true);
    dv(core).setUint32(260, 2, true);
    expect(core.fd_write(1, 256, 1, 512)).toBe(Errno.EFAULT);
    expect(lines).toEqual([]);
  });
});

/** Writes a transmit descriptor at `at` for `len` bytes at `ptr`. */
function txDesc(core: Core, at: number, ptr: number, len: number, port: number, groups: number): void {
  const v = dv(core);
  v.setUint32(at + TX_PTR, ptr, true);
  v.setUint32(at + TX_LEN, len, true);
  v.setUint32(at + TX_PORT, port >>> 0, true);
  v.setUint32(at + TX_GROUPS, groups, true);
  v.setInt32(at + TX_ERRNO, -1, true);
}

describe("send_batch", () => {
  it("hands the socket a copy of each datagram with its port and groups as u32, and each errno back", async () => {
    const fake = new FakeSocket();
    const core = await instantiate({ sockets: fakeSockets(3, fake) });
    u8(core).set([1, 2, 3, 4, 5], 200);
    u8(core).set([6, 7], 220);
    // 0xfffff000 is an autobound netlink port id; as a wasm i32 it is negative.
    txDesc(core, 400, 200, 5, 0xfffff000, 2);
    txDesc(core, 400 + TX_DESC_SIZE, 220, 2, 77, 0);
    expect(core.send_batch(3, 400, 2)).toBe(Errno.SUCCESS);
    u8(core).fill(0, 200, 225); // the core reuses its send buffer at once
    expect(fake.sent.map((d) => ({ bytes: [...d.bytes], port: d.port, groups: d.groups }))).toEqual([
      { bytes: [1, 2, 3, 4, 5], port: 0xfffff000, groups: 2 },
      { bytes: [6, 7], port: 77, groups: 0 },
    ]);
    expect([dv(core).getInt32(400 + TX_ERRNO, true), dv(core).getInt32(400 + TX_DESC_SIZE + TX_ERRNO, true)]).toEqual([0, 0]);
  });

  it("writes the socket's errno into the datagram's descriptor", async () => {
    const fake = new FakeSocket();
    fake.sendResult = Errno.ECONNREFUSED;
    const core = await instantiate({ sockets: fakeSockets(3, fake) });
    txDesc(core, 400, 200, 5, 1, 0);
    expect(core.send_batch(3, 400, 1)).toBe(Errno.SUCCESS);
    expect(dv(core).getInt32(400 + TX_ERRNO, true)).toBe(Errno.ECONNREFUSED);
  });

  it("answers EBADF for an unknown fd, EFAULT for descriptors outside memory, and EFAULT per datagram outside it", async () => {
    const fake = new FakeSocket();
    const core = await instantiate({ sockets: fakeSockets(3, fake) });
    txDesc(core, 400, PAGE - 2, 5, 1, 0);
    expect(core.send_batch(4, 400, 1)).toBe(Errno.EBADF);
    expect(core.send_batch(3, PAGE - 8, 1)).toBe(Errno.EFAULT);
    expect(core.send_batch(3, 400, 1)).toBe(Errno.SUCCESS);
    expect(dv(core).getInt32(400 + TX_ERRNO, true)).toBe(Errno.EFAULT);
    expect(fake.sent).toHaveLength(0);
  });

  it("lets a batch socket read the core's memory itself", async () => {
    const seen: number[][] = [];
    const batch: BatchSocket = {
      sendBatch(memory, descs, count) {
        const v = new DataView(memory);
        for (let i = 0; i < count; i++) {
          const d = descs + i * TX_DESC_SIZE;
          seen.push([...new Uint8Array(memory, v.getUint32(d + TX_PTR, true), v.getUint32(d + TX_LEN, true))]);
          v.setInt32(d + TX_ERRNO, 0, true);
        }
        return 0;
      },
      recvBatch: () => 0,
    };
    const core = await instantiate({ sockets: fakeSockets(3, batch) });
    u8(core).set([9, 9, 9], 200);
    txDesc(core, 400, 200, 3, 5, 0);
    expect(core.send_batch(3, 400, 1)).toBe(Errno.SUCCESS);
    expect(seen).toEqual([[9, 9, 9]]);
  });
});

describe("recv_batch", () => {
  const AT = { descs: 1024, data: 4096, count: 16 };
  const desc = (core: Core, i: number, field: number) => u32At(core, AT.descs + i * RX_DESC_SIZE + field);

  function recv(core: Core, fd: number, slot: number, max: number): number {
    return core.recv_batch(fd, AT.descs, AT.data, slot, max, AT.count);
  }

  it("answers EAGAIN when nothing is queued", async () => {
    const core = await instantiate({ sockets: fakeSockets(3, new FakeSocket()) });
    expect(recv(core, 3, 64, 4)).toBe(Errno.EAGAIN);
  });

  it("copies up to `max` datagrams into their slots with source port, groups and credentials", async () => {
    const fake = new FakeSocket();
    fake.inbox.push(
      { bytes: new Uint8Array([9, 8, 7]), port: 0xfffff123, groups: 2, creds: { pid: 10, uid: 0, gid: 0 } },
      { bytes: new Uint8Array([6]), port: 5, groups: 0 },
      { bytes: new Uint8Array([4, 4]), port: 6, groups: 0 },
    );
    const core = await instantiate({ sockets: fakeSockets(3, fake) });
    expect(recv(core, 3, 64, 2)).toBe(Errno.SUCCESS);
    expect(u32At(core, AT.count)).toBe(2);
    expect([...u8(core).subarray(AT.data, AT.data + 3)]).toEqual([9, 8, 7]);
    expect([...u8(core).subarray(AT.data + 64, AT.data + 65)]).toEqual([6]);
    expect([desc(core, 0, RX_LEN), desc(core, 0, RX_PORT), desc(core, 0, RX_GROUPS)]).toEqual([3, 0xfffff123, 2]);
    expect([desc(core, 0, RX_PID), desc(core, 0, RX_UID), desc(core, 0, RX_GID), desc(core, 0, RX_FLAGS)]).toEqual([10, 0, 0, RXF_CREDS]);
    expect([desc(core, 1, RX_LEN), desc(core, 1, RX_PORT), desc(core, 1, RX_FLAGS)]).toEqual([1, 5, 0]);
    expect(recv(core, 3, 64, 2)).toBe(Errno.SUCCESS);
    expect(u32At(core, AT.count)).toBe(1);
    expect(recv(core, 3, 64, 2)).toBe(Errno.EAGAIN);
  });

  it("marks a datagram longer than its slot as truncated, with its real length", async () => {
    const fake = new FakeSocket();
    fake.inbox.push({ bytes: new Uint8Array([1, 2, 3, 4, 5, 6]), port: 7, groups: 0 });
    fake.inbox.push({ bytes: new Uint8Array([1, 2]), port: 7, groups: 0, truncatedLength: 70000 });
    const core = await instantiate({ sockets: fakeSockets(3, fake) });
    expect(recv(core, 3, 4, 2)).toBe(Errno.SUCCESS);
    expect([...u8(core).subarray(AT.data, AT.data + 6)]).toEqual([1, 2, 3, 4, 1, 2]);
    expect([desc(core, 0, RX_LEN), desc(core, 0, RX_FLAGS)]).toEqual([6, RXF_TRUNC]);
    expect([desc(core, 1, RX_LEN), desc(core, 1, RX_FLAGS)]).toEqual([70000, RXF_TRUNC]);
  });

  it("checks its pointers before taking a datagram, so a bad one loses nothing", async () => {
    const fake = new FakeSocket();
    fake.inbox.push({ bytes: new Uint8Array([1]), port: 7, groups: 0 });
    const core = await instantiate({ sockets: fakeSockets(3, fake) });
    expect(core.recv_batch(3, AT.descs, PAGE - 100, 64, 4, AT.count)).toBe(Errno.EFAULT);
    expect(core.recv_batch(3, AT.descs, AT.data, 64, 4, PAGE - 2)).toBe(Errno.EFAULT);
    expect(recv(core, 4, 64, 4)).toBe(Errno.EBADF);
    expect(fake.inbox).toHaveLength(1);
  });
});

describe("trust_check", () => {
  it("asks the host's policy, and a throwing policy trusts nobody", async () => {
    const asked: unknown[] = [];
    const core = await instantiate({
      trustSender: (c) => {
        asked.push(c);
        if (c.uid === 13) throw new Error("policy bug");
        return c.uid === 1000;
      },
    });
    expect(core.trust_check(5, 1000, 1000)).toBe(1);
    expect(core.trust_check(6, 0, 0)).toBe(0);
    expect(core.trust_check(7, 13, 13)).toBe(0);
    expect(asked).toEqual([
      { pid: 5, uid: 1000, gid: 1000 },
      { pid: 6, uid: 0, gid: 0 },
      { pid: 7, uid: 13, gid: 13 },
    ]);
    const none = await instantiate();
    expect(none.trust_check(1, 0, 0)).toBe(0);
  });
});

describe("host failures", () => {
  it("turns a throwing socket into an errno and reports the exception", async () => {
    const reported: unknown[] = [];
    const boom = new Error("socket exploded");
    const core = await instantiate({
      sockets: fakeSockets(3, new ThrowingSocket(boom)),
      onHostError: (err) => reported.push(err),
    });
    txDesc(core, 400, 0, 4, 1, 0);
    expect(core.send_batch(3, 400, 1)).toBe(Errno.EIO);
    expect(recvIntoLowMemory(core)).toBe(Errno.EIO);
    expect(reported).toEqual([boom, boom]);
  });

  it("maps a thrown error's code to its errno", async () => {
    const err = Object.assign(new Error("no buffer space"), {
      code: "ENOBUFS",
    });
    const core = await instantiate({
      sockets: fakeSockets(3, new ThrowingSocket(err)),
    });
    txDesc(core, 400, 0, 4, 1, 0);
    expect(core.send_batch(3, 400, 1)).toBe(Errno.ENOBUFS);
  });

  it("survives throwing clock, random, log and reporter", async () => {
    const fail = () => {
      throw new Error("host bug");
    };
    const core = await instantiate({
      clock: { monotonicNs: fail, realtimeNs: fail },
      random: fail,
      log: fail,
      onHostError: fail,
    });
    expect(core.clock_time_get(1, 0n, 0)).toBe(Errno.EIO);
    expect(core.random_get(0, 4)).toBe(Errno.EIO);
    dv(core).setUint32(64, 128, true);
    dv(core).setUint32(68, 1, true);
    u8(core)[128] = 0x41;
    expect(core.fd_write(1, 64, 1, 72)).toBe(Errno.EIO);
  });

  it("answers EIO, not an exception, before bind(memory)", async () => {
    const reported: unknown[] = [];
    const shim = createShim({
      sockets: new SocketMap(),
      onHostError: (err) => reported.push(err),
    });
    const { instance } = await WebAssembly.instantiate(WASM, shim.imports);
    const core = instance.exports as unknown as Core;
    expect(core.clock_time_get(1, 0n, 0)).toBe(Errno.EIO);
    expect(reported).toHaveLength(1);
  });

  function recvIntoLowMemory(core: Core): number {
    return core.recv_batch(3, 0, 256, 16, 1, 64);
  }
});

describe("memory.grow", () => {
  it("reaches the new pages after the core grows its memory", async () => {
    const fake = new FakeSocket();
    fake.inbox.push({ bytes: new Uint8Array([5, 6, 7]), port: 1, groups: 0 });
    const core = await instantiate({
      clock: fixedClock,
      sockets: fakeSockets(3, fake),
    });
    expect(core.clock_time_get(1, 0n, 0)).toBe(Errno.SUCCESS); // the shim has seen the old buffer
    expect(core.grow(1)).toBe(1);
    expect(core.clock_time_get(1, 0n, PAGE + 8)).toBe(Errno.SUCCESS);
    expect(dv(core).getBigUint64(PAGE + 8, true)).toBe(0x0123_4567_89ab_cdefn);
    expect(core.recv_batch(3, PAGE + 16, PAGE + 100, 16, 1, PAGE + 8)).toBe(Errno.SUCCESS);
    expect([...u8(core).subarray(PAGE + 100, PAGE + 103)]).toEqual([5, 6, 7]);
  });

  it("writes through fresh views when a host callback grows memory mid-call", async () => {
    let core: Core | undefined;
    const growing: DatagramSocket = {
      sendTo: () => Errno.SUCCESS,
      recvFrom() {
        core?.grow(1); // e.g. a host that calls back into the core
        return { bytes: new Uint8Array([1, 2]), port: 3, groups: 4 };
      },
    };
    const reported: unknown[] = [];
    core = await instantiate({
      sockets: fakeSockets(3, growing),
      onHostError: (e) => reported.push(e),
    });
    expect(core.recv_batch(3, 0, 64, 8, 1, 48)).toBe(Errno.SUCCESS);
    expect(reported).toEqual([]);
    expect(core.memory.buffer.byteLength).toBe(2 * PAGE);
    expect([...u8(core).subarray(64, 66)]).toEqual([1, 2]);
    expect([u32At(core, RX_LEN), u32At(core, RX_PORT), u32At(core, RX_GROUPS), u32At(core, 48)]).toEqual([2, 3, 4, 1]);
  });
});

describe("errno", () => {
  it("numbers the errors as WASI preview1 does", () => {
    // Spot checks against witx typenames.witx `$errno`, first to last.
    expect(Errno.SUCCESS).toBe(0);
    expect(Errno.E2BIG).toBe(1);
    expect(Errno.EAGAIN).toBe(6);
    expect(Errno.ECONNREFUSED).toBe(14);
    expect(Errno.EMSGSIZE).toBe(35);
    expect(Errno.ENOBUFS).toBe(42);
    expect(Errno.EPERM).toBe(63);
    expect(Errno.ESRCH).toBe(71);
    expect(Errno.ENOTCAPABLE).toBe(76);
    expect(Object.values(Errno)).toEqual(Array.from({ length: 77 }, (_, i) => i));
  });

  it("maps Node error codes, including Linux aliases, and nothing else", () => {
    expect(errnoFromCode("ECONNREFUSED")).toBe(14);
    expect(errnoFromCode("EACCES")).toBe(2);
    expect(errnoFromCode("EWOULDBLOCK")).toBe(Errno.EAGAIN);
    expect(errnoFromCode("EOPNOTSUPP")).toBe(Errno.ENOTSUP);
    expect(errnoFromCode("ERR_INVALID_ARG_TYPE")).toBe(Errno.EIO);
    expect(errnoFromCode("constructor")).toBe(Errno.EIO);
    expect(errnoFromCode("SUCCESS")).toBe(Errno.EIO);
    expect(errnoFromCode(undefined, Errno.EINVAL)).toBe(Errno.EINVAL);
    expect(errnoFromError({ code: "EPERM" })).toBe(63);
    expect(errnoFromError("EPERM")).toBe(Errno.EIO);
    expect(errnoFromError(null)).toBe(Errno.EIO);
    expect(errnoName(35)).toBe("EMSGSIZE");
    expect(errnoName(99)).toBeUndefined();
  });
});
