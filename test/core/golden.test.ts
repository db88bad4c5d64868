import { beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core/core.js";
import { readSockaddr } from "../../src/core/sockaddr.js";
import * as G from "../../src/gen/protocol.js";
import { type GoldenAttr, type GoldenVector, loadGoldenVectors } from "../golden/golden.js";
import { loadTestCore } from "../support/core.js";
import { valuePtr } from "../support/decoded.js";
import { FakeDaemon } from "../support/fake-daemon.js";
import { fromHex, hex, parseDatagram } from "../support/nl.js";

// Golden bytes come from test/golden/golden.c, built against the system's
// rdma_netlink.h: the core must decode each to the same fields and encode
// the fields back to the same bytes, and its own request builders must
// produce the same bytes when driven to the same state.

const DIR = { to_daemon: 0, to_client: 1 } as const;
const D = {
  len: G.D_LEN,
  type: G.D_TYPE,
  flags: G.D_FLAGS,
  seq: G.D_SEQ,
  pid: G.D_PID,
  kind: G.D_KIND,
  client: G.D_CLIENT,
  op: G.D_OP,
  present: G.D_PRESENT,
  value: G.D_CONTROL_VALUE,
  hasValue: G.D_CONTROL_HAS_VALUE,
  orig: G.D_ORIG_HEADER,
};
const KIND = { iwpm: G.MSG_IWPM, done: G.MSG_DONE, error: G.MSG_ERROR };

let vectors: GoldenVector[];
beforeAll(() => {
  vectors = loadGoldenVectors();
});

function decodeInto(core: Core, bytes: Uint8Array, dir: number, version: number): number {
  core.bytes().set(bytes, core.exports.codecPtr());
  return core.exports.decode(bytes.length, dir, version);
}

function expectAttr(core: Core, a: GoldenAttr): void {
  const view = core.view();
  const slot = valuePtr(core, a.id);
  switch (a.kind) {
    case "u32":
      expect(view.getUint32(slot, true), `attr ${a.id}`).toBe(a.value);
      break;
    case "u16":
      expect(view.getUint16(slot, true), `attr ${a.id}`).toBe(a.value);
      break;
    case "fstr":
    case "cstr": {
      const raw = core.bytes().subarray(slot, slot + 128);
      expect(new TextDecoder().decode(raw.subarray(0, raw.indexOf(0))), `attr ${a.id}`).toBe(a.value);
      break;
    }
    case "addr": {
      const sa = readSockaddr(view, slot);
      expect(sa, `attr ${a.id}`).toMatchObject({ address: a.address, port: a.port, family: a.family === 2 ? "ipv4" : "ipv6" });
      if (a.family === 10) {
        expect(sa?.flowinfo ?? 0).toBe(a.flowinfo);
        expect(sa?.scopeId ?? 0).toBe(a.scopeId);
      }
      break;
    }
  }
}

describe("codec against golden vectors", () => {
  it("has vectors for every op in both directions", () => {
    const ops = (dir: string) => new Set(vectors.filter((v) => v.dir === dir).flatMap((v) => v.messages.map((m) => m.op ?? -1)));
    expect([...ops("to_daemon")].sort()).toEqual([-1, 0, 1, 2, 3, 6, 7, 8]);
    expect([...ops("to_client")].sort()).toEqual([-1, 0, 1, 2, 4, 5, 6, 7, 8]);
  });

  it("decodes every message to the generator's fields and encodes them back byte for byte", async () => {
    const { core } = await loadTestCore();
    for (const v of vectors) {
      const messages = parseDatagram(fromHex(v.hex));
      expect(messages.length, v.name).toBe(v.messages.length);
      v.messages.forEach((m, i) => {
        const bytes = (messages[i] as { bytes: Uint8Array }).bytes;
        const status = decodeInto(core, bytes, DIR[v.dir], v.version);
        expect(status, `${v.name}[${i}] decode status`).toBe(0);
        const view = core.view();
        const d = core.exports.decodedPtr();
        expect(view.getUint16(d + D.type, true)).toBe(m.type);
        expect(view.getUint16(d + D.flags, true)).toBe(m.flags);
        expect(view.getUint32(d + D.seq, true)).toBe(m.seq);
        expect(view.getUint32(d + D.pid, true)).toBe(m.pid);
        if (m.control === "done") expect(view.getUint32(d + D.kind, true)).toBe(KIND.done);
        if (m.control === "error") {
          expect(view.getUint32(d + D.kind, true)).toBe(KIND.error);
          expect(view.getInt32(d + D.value, true)).toBe(m.error);
          expect(view.getUint32(d + D.orig + 8, true)).toBe(m.orig?.seq);
        }
        if (m.doneStatus !== undefined) expect(view.getInt32(d + D.value, true)).toBe(m.doneStatus);
        if (m.control === null) {
          expect(view.getUint32(d + D.client, true)).toBe(m.client);
          expect(view.getUint32(d + D.op, true)).toBe(m.op);
          const present = view.getUint32(d + D.present, true);
          expect(present, `${v.name} present ids`).toBe(m.attrs.reduce((mask, a) => mask | (1 << a.id), 0));
          for (const a of m.attrs) expectAttr(core, a);
        }
        const len = core.exports.encode(DIR[v.dir], v.version);
        expect(hex(core.bytes().slice(core.exports.codecPtr(), core.exports.codecPtr() + len)), `${v.name}[${i}] re-encoded`).toBe(
          hex(bytes),
        );
      });
    }
  });
});

/** Brings a fresh client to: daemon `pid` known, ABI `version`, echo seq `echo`, registered or not. */
async function primed(o: { ownPort: number; version: 3 | 4; echo: number; registered: boolean }) {
  const t = await loadTestCore();
  const { core, socket } = t;
  const daemon = new FakeDaemon(999);
  core.exports.init(2);
  core.exports.setPort(o.ownPort);
  if (o.version === 3) core.exports.setMaxVersion(3);
  if (o.registered) {
    core.writeNames("dev0", "eth0");
    core.exports.seedSequence(50);
    const seq = core.exports.registerPid(2);
    expect(seq).toBe(50);
    core.feed(daemon.regPidReply(seq, "dev0", { version: o.version, seq: o.echo }), daemon.port);
    expect(core.exports.registration(2)).toBe(2);
  } else {
    core.feed(daemon.mapinfoRequest(o.version, o.echo), daemon.port);
  }
  expect(core.exports.echoSeq()).toBe(o.echo);
  expect(core.exports.negotiatedVersion()).toBe(o.registered ? o.version : 3);
  core.drainEvents();
  socket.take();
  return { ...t, daemon };
}

function vector(name: string): GoldenVector {
  const v = vectors.find((x) => x.name === name);
  if (!v) throw new Error(`no golden vector ${name}`);
  return v;
}

function attrOf(v: GoldenVector, id: number, msg = 0): GoldenAttr {
  const a = v.messages[msg]?.attrs.find((x) => x.id === id);
  if (!a) throw new Error(`${v.name} has no attribute ${id}`);
  return a;
}

const addrOf = (a: GoldenAttr) => ({
  family: a.family === 2 ? ("ipv4" as const) : ("ipv6" as const),
  address: a.address as string,
  port: a.port as number,
  flowinfo: a.flowinfo,
  scopeId: a.scopeId,
});

describe("the client's own messages equal the golden bytes", () => {
  it.each(["reg_pid_request_example_a", "reg_pid_request_user_pid"])("%s", async (name) => {
    const v = vector(name);
    const m = v.messages[0] as GoldenVector["messages"][number];
    const { core, socket } = await primed({ ownPort: m.pid, version: v.version, echo: attrOf(v, 1).value as number, registered: false });
    core.writeNames(attrOf(v, 3).value as string, attrOf(v, 2).value as string);
    core.exports.seedSequence(m.seq);
    expect(core.exports.registerPid(2)).toBe(m.seq);
    const [sent] = socket.take();
    expect(sent?.groups).toBe(2);
    expect(hex(sent?.bytes as Uint8Array)).toBe(v.hex);
  });

  const mappingVectors = vectors_ofPrefix(["add_mapping_request_", "query_mapping_request_", "remove_mapping_request_"]);
  it.each(mappingVectors)("%s", async (name) => {
    const v = vector(name);
    const m = v.messages[0] as GoldenVector["messages"][number];
    const { core, socket, daemon } = await primed({
      ownPort: m.pid,
      version: v.version,
      echo: attrOf(v, 1).value as number,
      registered: true,
    });
    core.exports.seedSequence(m.seq);
    core.writeAddr(0, addrOf(attrOf(v, 2)));
    let result: number;
    if (m.op === 1) result = core.exports.addMapping(2, v.version === 4 ? (attrOf(v, 3).value as number) : 0);
    else if (m.op === 2) {
      core.writeAddr(1, addrOf(attrOf(v, 3)));
      result = core.exports.addAndQueryMapping(2, v.version === 4 ? (attrOf(v, 4).value as number) : 0);
    } else result = core.exports.removeMapping(2);
    expect(result).toBe(m.op === 3 ? 0 : m.seq);
    const [sent] = socket.take();
    expect(sent?.port).toBe(daemon.port);
    expect(hex(sent?.bytes as Uint8Array)).toBe(v.hex);
  });

  it.each([
    ["mapinfo_batch_v4", null],
    ["mapinfo_batch_v3", null],
    ["mapinfo_batch_v4", "mapinfo_num_request"],
  ] as const)("%s then %s", async (batchName, numName) => {
    const batch = vector(batchName);
    const pid = batch.messages[0]?.pid as number;
    const { core, socket } = await primed({ ownPort: pid, version: batch.version, echo: 1, registered: true });
    for (const m of batch.messages.filter((x) => x.control === null)) {
      const local = m.attrs.find((a) => a.id === 1) as GoldenAttr;
      const mapped = m.attrs.find((a) => a.id === 2) as GoldenAttr;
      const flags = (m.attrs.find((a) => a.id === 3)?.value as number | undefined) ?? 0;
      core.writeAddr(0, addrOf(local));
      core.writeAddr(1, addrOf(mapped));
      expect(core.exports.createMapinfo(2, flags)).toBe(0);
    }
    const records = batch.messages.filter((x) => x.control === null).length;
    const num = numName ? vector(numName) : null;
    // Each record takes a sequence number before MAPINFO_NUM does.
    if (num) core.exports.seedSequence((num.messages[0]?.seq as number) - records);
    core.feed(new FakeDaemon(999).mapinfoRequest(batch.version), 999);
    const sent = socket.take();
    expect(sent.length).toBe(2);
    // The kernel sends records with seq 0; ours carry their own (so a HANDLE_ERR names one), which
    // is the only difference from the golden bytes.
    const { bytes, seqs } = withRecordSeqsZeroed(sent[0]?.bytes as Uint8Array);
    expect(new Set(seqs).size).toBe(records);
    for (const seq of seqs) expect(seq).toBeGreaterThan(0);
    expect(hex(bytes)).toBe(batch.hex);
    if (num) expect(hex(sent[1]?.bytes as Uint8Array)).toBe(num.hex);
  });

  it.each(["hello_reply_v4", "hello_reply_v3"])("%s", async (name) => {
    const v = vector(name);
    const m = v.messages[0] as GoldenVector["messages"][number];
    const { core, socket } = await loadTestCore();
    core.exports.init(2);
    core.exports.setPort(m.pid);
    core.exports.seedSequence(m.seq);
    core.feed(new FakeDaemon(777).hello(attrOf(v, 1).value as number), 777);
    const [sent] = socket.take();
    expect(sent?.port).toBe(777);
    expect(hex(sent?.bytes as Uint8Array)).toBe(v.hex);
  });
});

function vectors_ofPrefix(prefixes: string[]): string[] {
  return loadGoldenVectors()
    .map((v) => v.name)
    .filter((n) => prefixes.some((p) => n.startsWith(p)));
}

const OP_MAPINFO_TYPE = 0x806;
const NLMSG_SEQ_AT = 8;

/** A copy of a MAPINFO datagram with each record's header seq set to 0, and the seqs it had. */
function withRecordSeqsZeroed(datagram: Uint8Array): { bytes: Uint8Array; seqs: number[] } {
  const bytes = datagram.slice();
  const view = new DataView(bytes.buffer);
  const seqs: number[] = [];
  for (const m of parseDatagram(datagram)) {
    if (m.type !== OP_MAPINFO_TYPE) continue;
    const at = m.bytes.byteOffset - datagram.byteOffset + NLMSG_SEQ_AT;
    seqs.push(view.getUint32(at, true));
    view.setUint32(at, 0, true);
  }
  return { bytes, seqs };
}
