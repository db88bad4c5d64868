import { beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core/core.js";
import * as G from "../../src/gen/protocol.js";
import { loadTestCore } from "../support/core.js";
import { allShapes, DIR_TO_CLIENT, DIR_TO_DAEMON, type Dir, Rng, randomDone, randomError, randomMessage } from "../support/corpus.js";
import { attrRaw, attrU32, hex, nlmsg, rdma } from "../support/nl.js";

// decode() writes only the record fields each kind of message sets and zeroes the rest itself,
// instead of clearing the whole record first; and the record refers to the message in the codec
// buffer instead of holding a copy. These check that no field survives from the message decoded
// before, and that encode() never reads bytes it has already overwritten.

const SEED = 0x5eed_d0c0;

interface Case {
  what: string;
  bytes: Uint8Array;
  /** The length decode() is told: shorter than the message for a framing failure. */
  len: number;
  dir: Dir;
  version: number;
}

const whole = (what: string, bytes: Uint8Array, dir: Dir, version = 4): Case => ({ what, bytes, len: bytes.length, dir, version });

/** One message of every kind decode() tells apart, valid and not. */
function cases(): Case[] {
  const rng = new Rng(SEED);
  const out: Case[] = [];
  for (const shape of allShapes().slice(0, 6)) {
    out.push(
      whole(`iwpm dir ${shape.dir} op ${shape.op}`, randomMessage(rng, shape, { unknownChance: 1 }).bytes, shape.dir, shape.version),
    );
  }
  out.push(whole("NLMSG_DONE", randomDone(rng, DIR_TO_CLIENT, false).bytes, DIR_TO_CLIENT));
  out.push(whole("NLMSG_DONE with status", randomDone(rng, DIR_TO_CLIENT, true).bytes, DIR_TO_CLIENT));
  out.push(whole("NLMSG_ERROR with echo", randomError(rng, DIR_TO_DAEMON, true).bytes, DIR_TO_DAEMON));
  out.push(whole("NLMSG_ERROR without echo", randomError(rng, DIR_TO_DAEMON, false).bytes, DIR_TO_DAEMON));
  const shortError = nlmsg({ type: G.NLMSG_ERROR, flags: 0, seq: 3, pid: 4 }, [attrU32(1, 0xffffffea)]);
  out.push(whole("NLMSG_ERROR too short", shortError, DIR_TO_DAEMON));
  out.push(whole("other control", nlmsg({ type: 1, flags: 5, seq: 6, pid: 7 }, [attrU32(9, 9)]), DIR_TO_CLIENT));
  const addReply = rdma(5, G.OP_ADD_MAPPING);
  out.push(
    whole("missing attribute", nlmsg({ type: addReply, seq: 8, pid: 9 }, [attrU32(1, 1), attrRaw(12, new Uint8Array(3))]), DIR_TO_CLIENT),
  );
  out.push(whole("attribute too short", nlmsg({ type: addReply, seq: 1, pid: 2 }, [attrU32(2, 1)]), DIR_TO_CLIENT));
  out.push(whole("attribute overruns", nlmsg({ type: addReply, seq: 1, pid: 2 }, [attrRaw(1, new Uint8Array(4), 200)]), DIR_TO_CLIENT));
  out.push(whole("unknown op", nlmsg({ type: rdma(5, 60), seq: 1, pid: 2 }, [attrU32(1, 1)]), DIR_TO_CLIENT));
  const framed = nlmsg({ type: addReply, seq: 1, pid: 2 }, [attrU32(1, 1)]);
  out.push({ what: "length past the datagram", bytes: framed, len: framed.length - 4, dir: DIR_TO_CLIENT, version: 4 });
  out.push({ what: "truncated header", bytes: framed, len: 12, dir: DIR_TO_CLIENT, version: 4 });
  return out;
}

let core: Core;
let reference: Core;
beforeAll(async () => {
  ({ core } = await loadTestCore());
  ({ core: reference } = await loadTestCore());
});

function decode(c: Core, m: Case): number {
  c.bytes().set(m.bytes, c.exports.codecPtr());
  return c.exports.decode(m.len, m.dir, m.version);
}

/** The record's fixed fields, and the value entries the present mask names, as hex. */
function record(c: Core): string {
  const d = c.exports.decodedPtr();
  const view = c.view();
  const present = view.getUint32(d + G.D_PRESENT, true);
  const values: string[] = [];
  const entries = (G.D_ATTRS - G.D_VALUES) / G.DV_SIZE;
  for (let id = 1; id <= entries; id++) {
    if ((present & (1 << id)) === 0) continue;
    const e = d + G.D_VALUES + (id - 1) * G.DV_SIZE;
    values.push(`${id}:${view.getUint32(e + G.DV_OFFSET, true)}+${view.getUint32(e + G.DV_LEN, true)}`);
  }
  return `${hex(c.bytes().slice(d, d + G.D_VALUES))} ${values.join(" ")}`;
}

describe("the decoded record after another message", () => {
  const all = cases();

  it("covers success and every failure decode() reports", () => {
    const statuses = new Set(all.map((m) => decode(reference, m)));
    for (const s of [
      "OK",
      "MISSING_ATTR",
      "ATTR_SIZE",
      "BAD_ATTR_LEN",
      "UNKNOWN_OP",
      "BAD_MSG_LEN",
      "TRUNCATED_HEADER",
      "BAD_CONTROL",
    ] as const) {
      expect(statuses, s).toContain(s === "OK" ? 0 : G.Status[s]);
    }
  });

  it("holds what decoding the message from a zeroed record gives, whatever was decoded before", () => {
    const failures: string[] = [];
    for (const before of all) {
      for (const m of all) {
        const zeroed = reference.exports.decodedPtr();
        reference.bytes().fill(0, zeroed, zeroed + G.D_VALUES);
        const want = { status: decode(reference, m), record: record(reference) };
        decode(core, before);
        const got = { status: decode(core, m), record: record(core) };
        if (got.status !== want.status || got.record !== want.record) {
          failures.push(`${m.what} after ${before.what}: ${JSON.stringify(got)} instead of ${JSON.stringify(want)}`);
        }
      }
    }
    expect(failures.length, `${failures.length} of ${all.length ** 2} pairs; first: ${failures[0]}`).toBe(0);
  });

  it("refers to the message in the codec buffer", () => {
    for (const m of all.filter((c) => c.len === c.bytes.length)) {
      decode(core, m);
      expect(core.view().getUint32(core.exports.decodedPtr() + G.D_MSG, true), m.what).toBe(core.exports.codecPtr());
    }
  });
});

describe("encode() over the message its record refers to", () => {
  const rng = new Rng(SEED + 1);

  it("writes an iwpm message with a changed header the same way twice", () => {
    const m = randomMessage(rng, { dir: DIR_TO_DAEMON, op: G.OP_ADD_MAPPING, version: 4 }, { unknownChance: 1 });
    decode(core, whole("ADD_MAPPING", m.bytes, m.dir));
    core.view().setUint32(core.exports.decodedPtr() + G.D_SEQ, m.seq ^ 0xffff, true);
    const want = nlmsg(
      { type: m.type, flags: m.flags, seq: m.seq ^ 0xffff, pid: m.pid },
      m.attrs.map((a) => attrRaw(a.id, a.payload)),
    );
    for (const pass of [1, 2]) {
      const len = core.exports.encode(m.dir, m.version);
      expect(hex(core.bytes().slice(core.exports.codecPtr(), core.exports.codecPtr() + len)), `pass ${pass}`).toBe(hex(want));
    }
  });

  it("writes changed flags and pid from the record into the header", () => {
    const m = randomMessage(rng, { dir: DIR_TO_CLIENT, op: G.OP_ADD_MAPPING, version: 4 }, { unknownChance: 1 });
    decode(core, whole("ADD_MAPPING reply", m.bytes, m.dir));
    const d = core.exports.decodedPtr();
    core.view().setUint16(d + G.D_FLAGS, m.flags ^ 0x0300, true);
    core.view().setUint32(d + G.D_PID, m.pid ^ 0x5a5a5a, true);
    const want = nlmsg(
      { type: m.type, flags: m.flags ^ 0x0300, seq: m.seq, pid: m.pid ^ 0x5a5a5a },
      m.attrs.map((a) => attrRaw(a.id, a.payload)),
    );
    const len = core.exports.encode(m.dir, m.version);
    expect(hex(core.bytes().slice(core.exports.codecPtr(), core.exports.codecPtr() + len))).toBe(hex(want));
  });

  it("keeps type, flags, seq and pid in the record as struct nlmsghdr lays them out after nlmsg_len", () => {
    // encode() copies them as two wide words: the record's layout must stay the header's.
    const m = randomMessage(rng, { dir: DIR_TO_DAEMON, op: G.OP_QUERY_MAPPING, version: 4 }, {});
    decode(core, whole("QUERY_MAPPING", m.bytes, m.dir));
    const d = core.exports.decodedPtr();
    const nlmsgLenSize = Uint32Array.BYTES_PER_ELEMENT;
    const record = core.bytes().slice(d + G.D_TYPE, d + G.D_TYPE + G.NLMSG_HDRLEN - nlmsgLenSize);
    expect(hex(record)).toBe(hex(m.bytes.slice(nlmsgLenSize, G.NLMSG_HDRLEN)));
  });

  it("writes an NLMSG_ERROR with a changed error and offending header the same way twice", () => {
    const m = randomError(rng, DIR_TO_DAEMON, true);
    decode(core, whole("NLMSG_ERROR", m.bytes, m.dir));
    const d = core.exports.decodedPtr();
    core.view().setInt32(d + G.D_CONTROL_VALUE, -111, true);
    core.view().setUint32(d + G.D_ORIG_HEADER + 8, 0xabcdef, true);
    const want = m.bytes.slice();
    const w = new DataView(want.buffer);
    // struct nlmsgerr after the header: int error, then the offending header (its seq 8 bytes in).
    const errorAt = G.NLMSG_HDRLEN;
    const origAt = errorAt + Int32Array.BYTES_PER_ELEMENT;
    w.setInt32(errorAt, -111, true);
    w.setUint32(origAt + 8, 0xabcdef, true);
    for (const pass of [1, 2]) {
      const len = core.exports.encode(m.dir, m.version);
      expect(hex(core.bytes().slice(core.exports.codecPtr(), core.exports.codecPtr() + len)), `pass ${pass}`).toBe(hex(want));
    }
  });
});
