// Smoke test of the iwpmd LD_PRELOAD library against the real rdma-core
// iwpmd, in fresh network namespaces. Root only; skipped (with the reason
// printed) where namespaces, ip, gcc or iwpmd are unavailable.
//
// Messages are built and parsed by a small local helper following the
// protocol reference (§1 framing, §2.2 layouts, §6 worked examples), so the
// test checks the daemon and the preload library, not the project's codec.

import { randomInt } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type Iwpmd, startIwpmd } from "../support/iwpmd.js";
import { Lab } from "../support/lab.js";
import {
  canUseNamespaces,
  createNamespace,
  type JsonLine,
  type Netns,
  type NsProcess,
  runInNamespace,
  settlesWithin,
} from "../support/netns.js";

const lab = new Lab();

const RAW_CLIENT = fileURLToPath(new URL("./fixtures/raw-client.mjs", import.meta.url));

// --- local wire helper ------------------------------------------------------

const NLM_F_REQUEST = 0x0001;
const IWCM = 2; // RDMA_NL_IWCM client index
const type = (op: number) => (IWCM << 10) | op;
const REG_PID = type(0);
const ADD_MAPPING = type(1);
const MAPINFO = type(6);
const HELLO = type(8);
const GROUP_IWPM_MASK = 1 << (2 - 1); // RDMA_NL_GROUP_IWPM = 2, as a bitmask
const ULIB_NAME = "iWarpPortMapperUser";

function attr(id: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(4 + payload.length, 0);
  head.writeUInt16LE(id, 2);
  const pad = Buffer.alloc((4 - (payload.length % 4)) % 4);
  return Buffer.concat([head, payload, pad]);
}
const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const fixedString = (s: string, size: number) => {
  const b = Buffer.alloc(size);
  b.write(s, "latin1");
  return b;
};
function sockaddrIn(ip: string, port: number): Buffer {
  const b = Buffer.alloc(128);
  b.writeUInt16LE(2, 0); // AF_INET, host order
  b.writeUInt16BE(port, 2);
  ip.split(".").forEach((octet, i) => {
    b[4 + i] = Number(octet);
  });
  return b;
}

function nlmsg(msgType: number, flags: number, seq: number, pid: number, attrs: Buffer[]): Buffer {
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(msgType, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  head.writeUInt32LE(pid, 12);
  return Buffer.concat([head, body]);
}

interface Parsed {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  attrs: Map<number, Buffer>;
}

function parse(bytes: Buffer): Parsed {
  const len = bytes.readUInt32LE(0);
  const attrs = new Map<number, Buffer>();
  for (let off = 16; off + 4 <= len; ) {
    const alen = bytes.readUInt16LE(off);
    if (alen < 4) break;
    attrs.set(bytes.readUInt16LE(off + 2) & 0x3fff, bytes.subarray(off + 4, off + alen));
    off += (alen + 3) & ~3;
  }
  return {
    len,
    type: bytes.readUInt16LE(4),
    flags: bytes.readUInt16LE(6),
    seq: bytes.readUInt32LE(8),
    pid: bytes.readUInt32LE(12),
    attrs,
  };
}

// --- test plumbing ----------------------------------------------------------

/** A datagram line of raw-client.mjs. */
type Datagram = { port: number; groups: number; hex: string };
const isDatagram = (line: JsonLine): line is Datagram =>
  typeof line.hex === "string" && typeof line.port === "number" && typeof line.groups === "number";
const bytesOf = (d: Datagram) => Buffer.from(d.hex, "hex");
/** Datagrams of one netlink type, optionally only from one sender port. */
const ofType =
  (t: number, from?: number) =>
  (line: JsonLine): line is Datagram =>
    isDatagram(line) && (from === undefined || line.port === from) && bytesOf(line).length >= 16 && parse(bytesOf(line)).type === t;

/** A client port no process id can collide with (pid_max is at most 2^22). */
const randomClientPort = () => 0x50000000 + randomInt(0, 0x0fffffff);

async function freshNamespace(): Promise<Netns> {
  const ns = await createNamespace("iwpm-preload");
  lab.namespace(ns);
  return ns;
}
async function daemonIn(ns: Netns, clientPort: number): Promise<Iwpmd> {
  const d = await startIwpmd(ns, { clientPort });
  lab.daemon(d);
  return d;
}
async function clientIn(ns: Netns, port: number): Promise<NsProcess> {
  const c = runInNamespace(ns, RAW_CLIENT, [String(port)]);
  lab.process(
    "raw client",
    () => c.close(),
    () => c.stderr(),
  );
  const ready = await c.next((l) => l.ready === true);
  expect(ready.port).toBe(port);
  return c;
}

let sendId = 0;
async function sendVia(client: NsProcess, bytes: Buffer, to: { port: number; groups?: number }): Promise<void> {
  const id = ++sendId;
  client.send({
    hex: bytes.toString("hex"),
    port: to.port,
    groups: to.groups ?? 0,
    id,
  });
  const ack = await client.next((l) => l.id === id && "sent" in l);
  expect(ack, `send ${id} to port ${to.port} groups ${to.groups ?? 0}`).toMatchObject({
    sent: true,
  });
}

function regPid(seq: number, clientPort: number): Buffer {
  return nlmsg(REG_PID, NLM_F_REQUEST, seq, clientPort, [
    attr(1, u32(0)), // echo seq, never read by iwpmd
    attr(2, fixedString("lo", 16)),
    attr(3, fixedString("siw0", 32)),
    attr(4, fixedString(ULIB_NAME, 32)),
  ]);
}

function expectRegPidReply(d: Datagram, requestSeq: number, daemon: Iwpmd): void {
  const m = parse(bytesOf(d));
  expect(d.port).toBe(daemon.port);
  expect(m.pid).toBe(daemon.pid);
  expect(m.attrs.get(1)?.readUInt32LE(0)).toBe(requestSeq);
  expect(m.attrs.get(2)?.toString("latin1")).toBe("siw0\0");
  expect(m.attrs.get(3)?.toString("latin1")).toBe(`${ULIB_NAME}\0`);
  expect(m.attrs.get(4)?.readUInt16LE(0)).toBe(4); // ABI version
  expect(m.attrs.get(5)?.readUInt16LE(0)).toBe(0);
}

async function addMappingV4(client: NsProcess, daemon: Iwpmd, clientPort: number, seq: number): Promise<void> {
  const local = sockaddrIn("127.0.0.1", 5555);
  const request = nlmsg(ADD_MAPPING, NLM_F_REQUEST, seq, clientPort, [
    attr(1, u32(0)),
    attr(2, local),
    attr(3, u32(0)), // flags: port mapping wanted
  ]);
  expect(request.length).toBe(164);
  await sendVia(client, request, { port: daemon.port });

  const reply = await client.next(ofType(ADD_MAPPING));
  const m = parse(bytesOf(reply));
  expect(m.len).toBe(296);
  expect(m.pid).toBe(daemon.pid);
  expect(m.attrs.get(1)?.readUInt32LE(0)).toBe(seq);
  expect(m.attrs.get(2)?.equals(local)).toBe(true);
  const mapped = m.attrs.get(3) as Buffer;
  expect(mapped.length).toBe(128);
  expect(mapped.readUInt16LE(0)).toBe(2); // AF_INET
  expect([...mapped.subarray(4, 8)]).toEqual([127, 0, 0, 1]);
  const mappedPort = mapped.readUInt16BE(2);
  expect(mappedPort).not.toBe(5555);
  expect(mappedPort).toBeGreaterThan(0);
  expect(m.attrs.get(4)?.readUInt16LE(0)).toBe(0);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// --- tests ------------------------------------------------------------------

const support = canUseNamespaces();
if (!support.ok) {
  console.warn(`[interop/preload] skipped: ${support.reason}`);
}

describe.skipIf(!support.ok)("iwpmd under the LD_PRELOAD library", () => {
  afterAll(() => lab.end());

  it("client bound first: HELLO, MAPINFO, REG_PID by multicast, ADD_MAPPING", {
    timeout: 30_000,
  }, async () => {
    const ns = await freshNamespace();
    const P = randomClientPort();
    const client = await clientIn(ns, P);
    const daemon = await daemonIn(ns, P);

    // HELLO{ABI 4}, seq 0, from iwpmd's port, byte for byte (§6 (d)).
    const hello = await client.next(ofType(HELLO));
    expect(hello.port).toBe(daemon.port);
    expect(hello.groups).toBe(0);
    const expected = nlmsg(HELLO, NLM_F_REQUEST, 0, daemon.pid, [attr(1, u16(4))]);
    expect(hello.hex).toBe(expected.toString("hex"));

    // Answer as the kernel would (§4.8); iwpmd then asks for mapinfo.
    await sendVia(client, nlmsg(HELLO, NLM_F_REQUEST, 1, P, [attr(1, u16(4))]), {
      port: daemon.port,
    });
    const mapinfo = parse(bytesOf(await client.next(ofType(MAPINFO))));
    expect(mapinfo.pid).toBe(daemon.pid);
    expect(mapinfo.seq).toBe(1);
    expect(mapinfo.attrs.get(1)?.toString("latin1")).toBe(`${ULIB_NAME}\0`);
    expect(mapinfo.attrs.get(2)?.readUInt16LE(0)).toBe(4);

    // REG_PID multicast to group 2. A multicast to port 0 would also be
    // delivered but the sender gets ECONNREFUSED (nobody at port 0 on
    // USERSOCK), so the destination port is explicit:
    // (a) the client's own port: iwpmd gets the multicast copy, and the
    //     client a unicast copy of its own message;
    await sendVia(client, regPid(2, P), { port: P, groups: GROUP_IWPM_MASK });
    const fromSelf = ofType(REG_PID, P);
    const fromDaemon = ofType(REG_PID, daemon.port);
    const echo = await client.next(fromSelf);
    expect(echo.hex).toBe(regPid(2, P).toString("hex"));
    expect(echo.groups).toBe(GROUP_IWPM_MASK); // the group shows on the unicast copy too
    expectRegPidReply(await client.next(fromDaemon), 2, daemon);

    // (b) iwpmd's port: the kernel leaves the named port out of the
    //     multicast and unicasts to it, so iwpmd still gets one copy.
    await sendVia(client, regPid(3, P), {
      port: daemon.port,
      groups: GROUP_IWPM_MASK,
    });
    expectRegPidReply(await client.next(fromDaemon), 3, daemon);

    // (c) port 0: the kernel refuses the unicast part (nobody at port 0
    //     on USERSOCK) after the multicast copy reached iwpmd, which
    //     answers once; the project's socket reports that send as sent.
    client.send({
      hex: regPid(4, P).toString("hex"),
      port: 0,
      groups: GROUP_IWPM_MASK,
      id: "port0",
    });
    expect(await client.next((l) => l.id === "port0")).toMatchObject({ sent: true });
    expectRegPidReply(await client.next(fromDaemon), 4, daemon);

    await addMappingV4(client, daemon, P, 5);

    // Exactly one reply per REG_PID request, no echo in (b) or (c).
    await sleep(300);
    expect(client.drain(ofType(REG_PID))).toEqual([]);
    expect(await settlesWithin(daemon.exited, 0)).toBe(false);
    expect(daemon.log()).toContain(`port 0 -> ${P}`);
    expect(daemon.log()).not.toContain("ECONNREFUSED");
  });

  it("iwpmd started before the client binds: it keeps running and answers", {
    timeout: 30_000,
  }, async () => {
    const ns = await freshNamespace();
    const P = randomClientPort();
    const daemon = await daemonIn(ns, P);

    // Its HELLO found nobody at P; the library reported it as sent, so
    // iwpmd must still be running.
    const deadline = Date.now() + 5000;
    while (!daemon.log().includes("ECONNREFUSED reported as sent") && Date.now() < deadline) {
      await sleep(20);
    }
    expect(daemon.log()).toContain("ECONNREFUSED reported as sent");
    expect(await settlesWithin(daemon.exited, 500)).toBe(false);

    // A late client finds the daemon through REG_PID alone: the reply's
    // nlmsg_pid is the daemon's port.
    const client = await clientIn(ns, P);
    await sendVia(client, regPid(1, P), { port: P, groups: GROUP_IWPM_MASK });
    const isReply = (l: JsonLine): l is Datagram => ofType(REG_PID)(l) && l.port !== P; // not the echo of our own request
    const reply = await client.next(isReply);
    expectRegPidReply(reply, 1, daemon);
    expect(parse(bytesOf(reply)).pid).toBe(daemon.port);

    await addMappingV4(client, daemon, P, 2);
    expect(await settlesWithin(daemon.exited, 0)).toBe(false);

    await daemon.stop();
    expect(await daemon.exited).toBe(0); // SIGTERM: iwpmd exits cleanly
  });
});
