import { beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core/core.js";
import * as G from "../../src/gen/protocol.js";
import { loadTestCore } from "../support/core.js";
import { allShapes, type NonCanonicalMessage, nonCanonicalMessage, Rng, shapeName } from "../support/corpus.js";
import { valuePtr } from "../support/decoded.js";
import { attrRaw, attrU16, attrU32, hex, nlmsg, rdma } from "../support/nl.js";

// decode → encode must give back the exact bytes of any message that decodes, whatever order its
// attributes come in: unknown and duplicate attributes anywhere, sizes above the minimum, bytes
// after a name's NUL, non-zero padding. The decoded record lists every attribute in arrival order
// with its offset and nla_len, and holds the last occurrence of each known id by value.

const SEED = 0x0dd_0bde5;
const PER_SHAPE = 150;

let core: Core;
beforeAll(async () => {
  ({ core } = await loadTestCore());
});

function decode(bytes: Uint8Array, dir: number, version: number): number {
  core.bytes().set(bytes, core.exports.codecPtr());
  return core.exports.decode(bytes.length, dir, version);
}

const describeMessage = (m: NonCanonicalMessage) => `${shapeName(m.shape)}: ${hex(m.bytes)}`;

/** What the record says against what the generator placed; returns the first disagreement. */
function disagreement(m: NonCanonicalMessage): string | undefined {
  const view = core.view();
  const d = core.exports.decodedPtr();
  const count = view.getUint32(d + G.D_ATTR_COUNT, true);
  if (count !== m.placed.length) return `${count} attributes listed, ${m.placed.length} sent`;
  for (let i = 0; i < count; i++) {
    const e = d + G.D_ATTRS + i * G.DA_SIZE;
    const got = [view.getUint16(e + G.DA_TYPE, true), view.getUint16(e + G.DA_LEN, true), view.getUint32(e + G.DA_OFFSET, true)];
    const p = m.placed[i] as NonCanonicalMessage["placed"][number];
    const want = [p.type, p.length, p.offset];
    if (got.join() !== want.join()) return `attribute ${i}: {type, len, offset} ${got} instead of ${want}`;
  }
  const unknown = m.placed.filter((p) => p.role === "unknown").length;
  if (view.getUint32(d + G.D_UNKNOWN_COUNT, true) !== unknown) return `unknown count ${view.getUint32(d + G.D_UNKNOWN_COUNT, true)}`;
  const present = [...m.values.keys()].reduce((mask, id) => mask | (1 << id), 0);
  if (view.getUint32(d + G.D_PRESENT, true) !== present) return `present mask ${view.getUint32(d + G.D_PRESENT, true)}`;
  for (const [id, { kind, payload }] of m.values) {
    const slot = valuePtr(core, id);
    const pv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    let ok: boolean;
    if (kind === "u32") ok = view.getUint32(slot, true) === pv.getUint32(0, true);
    else if (kind === "u16") ok = view.getUint16(slot, true) === pv.getUint16(0, true);
    else if (kind === "addr") ok = hex(core.bytes().slice(slot, slot + 128)) === hex(payload.subarray(0, 128));
    else {
      const text = payload.subarray(0, payload.indexOf(0));
      ok = hex(core.bytes().slice(slot, slot + text.length + 1)) === hex(new Uint8Array([...text, 0]));
    }
    if (!ok) return `attribute ${id} (${kind}) holds another value than its last occurrence`;
  }
  return undefined;
}

describe(`non-canonical messages (mulberry32 seed 0x${SEED.toString(16)})`, () => {
  const rng = new Rng(SEED);
  const messages = allShapes().flatMap((shape) => Array.from({ length: PER_SHAPE }, () => nonCanonicalMessage(rng, shape)));

  it("places unknown and duplicate attributes before, between and after the known ones", () => {
    const firstRole = new Set(messages.map((m) => m.placed[0]?.role));
    expect([...firstRole].sort()).toEqual(["known", "shadowed", "unknown"]);
    const between = messages.filter((m) => {
      const roles = m.placed.map((p) => p.role);
      const lastKnown = roles.lastIndexOf("known");
      return roles.some((r, i) => r !== "known" && i < lastKnown && i > roles.indexOf("known"));
    });
    expect(between.length).toBeGreaterThan(messages.length / 4);
    expect(messages.filter((m) => m.placed.some((p) => p.role === "shadowed")).length).toBeGreaterThan(messages.length / 4);
    expect(messages.filter((m) => m.bytes.length % 4 !== 0).length).toBeGreaterThan(0);
  });

  it(`${messages.length} messages decode with status 0, list every attribute in arrival order and encode back byte for byte`, () => {
    const failures: string[] = [];
    for (const m of messages) {
      const status = decode(m.bytes, m.shape.dir, m.shape.version);
      if (status !== 0) {
        failures.push(`decode status ${status}: ${describeMessage(m)}`);
        continue;
      }
      const wrong = disagreement(m);
      if (wrong !== undefined) {
        failures.push(`${wrong}: ${describeMessage(m)}`);
        continue;
      }
      const len = core.exports.encode(m.shape.dir, m.shape.version);
      const out = len > 0 ? hex(core.bytes().slice(core.exports.codecPtr(), core.exports.codecPtr() + len)) : `status ${-len}`;
      if (out !== hex(m.bytes)) failures.push(`re-encoded to ${out} from ${describeMessage(m)}`);
    }
    expect(failures.length, `${failures.length} of ${messages.length} failed; first: ${failures[0]}`).toBe(0);
  });

  it("refuses to encode an edit a receiver would drop", () => {
    const ulib = new TextEncoder().encode("iWarpPortMapperUser\0");
    const msg = nlmsg({ type: rdma(2, G.OP_MAPINFO), seq: 0, pid: 6 }, [attrRaw(1, ulib), attrU16(2, 4)]);
    expect(decode(msg, G.DIR_TO_CLIENT, 4)).toBe(0);
    core.bytes()[valuePtr(core, 1) + ulib.length - 1] = 0x78;
    expect(core.exports.encode(G.DIR_TO_CLIENT, 4)).toBe(-G.Status.STRING_UNTERMINATED);
  });

  it("encodes a changed value into the last occurrence and leaves the shadowed copy as it came", () => {
    const hello = G.OP_HELLO;
    const msg = nlmsg({ type: rdma(2, hello), seq: 5, pid: 6 }, [attrU16(1, 3), attrRaw(9, new Uint8Array([7])), attrU16(1, 4)]);
    expect(decode(msg, G.DIR_TO_CLIENT, 4)).toBe(0);
    const slot = valuePtr(core, 1);
    expect(core.view().getUint16(slot, true)).toBe(4);
    core.view().setUint16(slot, 3, true);
    const len = core.exports.encode(G.DIR_TO_CLIENT, 4);
    const want = nlmsg({ type: rdma(2, hello), seq: 5, pid: 6 }, [attrU16(1, 3), attrRaw(9, new Uint8Array([7])), attrU16(1, 3)]);
    expect(hex(core.bytes().slice(core.exports.codecPtr(), core.exports.codecPtr() + len))).toBe(hex(want));
  });
});

describe("the first error names its attribute and offset", () => {
  const addReply = (attrs: Uint8Array[]) => nlmsg({ type: rdma(2, G.OP_ADD_MAPPING), seq: 1, pid: 2 }, attrs);
  const sockaddr = new Uint8Array(128);
  sockaddr[0] = 2;
  const errorOf = () => {
    const view = core.view();
    const d = core.exports.decodedPtr();
    return { attr: view.getUint32(d + G.D_ERROR_ATTR, true), offset: view.getUint32(d + G.D_ERROR_OFFSET, true) };
  };

  it("an attribute too short for its kind, even when a later copy would be valid", () => {
    // The short MAPPED_LOC_ADDR is the third attribute: 16 + 8 + 132 bytes in.
    const msg = addReply([attrU32(1, 7), attrRaw(2, sockaddr), attrRaw(3, sockaddr.subarray(0, 16)), attrRaw(3, sockaddr), attrU16(4, 0)]);
    expect(decode(msg, G.DIR_TO_CLIENT, 4)).toBe(G.Status.ATTR_SIZE);
    expect(errorOf()).toEqual({ attr: G.IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR, offset: 16 + 8 + 132 });
  });

  it("a missing attribute, at the end of the message", () => {
    const msg = addReply([attrU32(1, 7), attrRaw(2, sockaddr), attrU16(4, 0)]);
    expect(decode(msg, G.DIR_TO_CLIENT, 4)).toBe(G.Status.MISSING_ATTR);
    expect(errorOf()).toEqual({ attr: G.IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR, offset: msg.length });
  });

  it("whichever comes first: a size error before a framing error, a framing error after valid attributes", () => {
    const bad = attrRaw(4, new Uint8Array(4), 200);
    const msg = addReply([attrRaw(1, new Uint8Array(2)), bad]);
    expect(decode(msg, G.DIR_TO_CLIENT, 4)).toBe(G.Status.ATTR_SIZE);
    expect(errorOf()).toEqual({ attr: G.IWPM_NLA_RMANAGE_MAPPING_SEQ, offset: 16 });
    const framing = addReply([attrU32(1, 7), bad]);
    expect(decode(framing, G.DIR_TO_CLIENT, 4)).toBe(G.Status.BAD_ATTR_LEN);
    expect(errorOf()).toEqual({ attr: 4, offset: 24 });
  });
});
