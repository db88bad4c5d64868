import { beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core/core.js";
import * as G from "../../src/gen/protocol.js";
import { loadTestCore } from "../support/core.js";
import {
  allShapes,
  DIR_TO_CLIENT,
  DIR_TO_DAEMON,
  type Dir,
  type GeneratedMessage,
  Rng,
  randomDone,
  randomError,
  randomMessage,
  shapeName,
} from "../support/corpus.js";
import { valuePtr } from "../support/decoded.js";
import { attrRaw, hex, nlmsg, rdma } from "../support/nl.js";

// decode → encode must give back the exact bytes for every valid message the
// protocol defines, including attributes the schema does not know: replay and
// capture tools rely on the codec being lossless.

const SEED = 0x1a2b3c4d;
const COUNT = 6000;

// Decoded-message record offsets, generated from the protocol description (docs/abi.md).
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
  unknown: G.D_UNKNOWN_COUNT,
};
const KIND = { iwpm: G.MSG_IWPM, done: G.MSG_DONE, error: G.MSG_ERROR } as const;

let core: Core;
beforeAll(async () => {
  ({ core } = await loadTestCore());
});

/** The corpus: every shape in turn (so each gets its share), then the two control messages in their variants. */
function corpus(seed: number, count: number): GeneratedMessage[] {
  const rng = new Rng(seed);
  const shapes = allShapes();
  const out: GeneratedMessage[] = [];
  for (let i = 0; i < count; i++) {
    const slot = i % (shapes.length + 4);
    const dir: Dir = rng.chance(0.5) ? DIR_TO_DAEMON : DIR_TO_CLIENT;
    if (slot < shapes.length) out.push(randomMessage(rng, shapes[slot] as (typeof shapes)[number]));
    else if (slot === shapes.length) out.push(randomDone(rng, dir, false));
    else if (slot === shapes.length + 1) out.push(randomDone(rng, dir, true));
    else if (slot === shapes.length + 2) out.push(randomError(rng, dir, true));
    else out.push(randomError(rng, dir, false));
  }
  return out;
}

const describeMessage = (m: GeneratedMessage) =>
  m.kind === "iwpm" ? `${shapeName(m)} client ${m.client} unknown ${m.unknown}: ${hex(m.bytes)}` : `${m.kind}: ${hex(m.bytes)}`;

function decode(m: GeneratedMessage): number {
  core.bytes().set(m.bytes, core.exports.codecPtr());
  return core.exports.decode(m.bytes.length, m.dir, m.version);
}

/** Checks the decoded record against what the generator put in, so a pass means the fields were understood. */
function expectDecodedFields(m: GeneratedMessage): void {
  const view = core.view();
  const d = core.exports.decodedPtr();
  const what = describeMessage(m);
  expect(view.getUint32(d + D.len, true), what).toBe(m.bytes.length);
  expect(view.getUint16(d + D.type, true), what).toBe(m.type);
  expect(view.getUint16(d + D.flags, true), what).toBe(m.flags);
  expect(view.getUint32(d + D.seq, true), what).toBe(m.seq);
  expect(view.getUint32(d + D.pid, true), what).toBe(m.pid);
  expect(view.getUint32(d + D.kind, true), what).toBe(KIND[m.kind]);
  if (m.kind === "done") {
    expect(view.getUint32(d + D.hasValue, true), what).toBe(m.value === undefined ? 0 : 1);
    if (m.value !== undefined) expect(view.getInt32(d + D.value, true), what).toBe(m.value);
    return;
  }
  if (m.kind === "error") {
    expect(view.getInt32(d + D.value, true), what).toBe(m.value);
    expect(hex(core.bytes().slice(d + D.orig, d + D.orig + 16)), what).toBe(hex(m.orig as Uint8Array));
    // The echo is the message's tail, which the record refers to where it lies.
    const echoed = m.echoed as Uint8Array;
    expect(view.getUint32(d + G.D_EXTRA_LEN, true), what).toBe(echoed.length);
    const end = view.getUint32(d + G.D_MSG, true) + m.bytes.length;
    expect(hex(core.bytes().slice(end - echoed.length, end)), what).toBe(hex(echoed));
    return;
  }
  expect(view.getUint32(d + D.client, true), what).toBe(m.client);
  expect(view.getUint32(d + D.op, true), what).toBe(m.op);
  const known = m.attrs.filter((a) => a.kind !== "unknown");
  expect(view.getUint32(d + D.present, true), what).toBe(known.reduce((mask, a) => mask | (1 << a.id), 0));
  expect(view.getUint32(d + D.unknown, true), what).toBe(m.unknown);
  for (const a of known) {
    const slot = valuePtr(core, a.id);
    const p = new DataView(a.payload.buffer, a.payload.byteOffset, a.payload.byteLength);
    const label = `${what} attr ${a.id}`;
    if (a.kind === "u32") expect(view.getUint32(slot, true), label).toBe(p.getUint32(0, true));
    else if (a.kind === "u16") expect(view.getUint16(slot, true), label).toBe(p.getUint16(0, true));
    else if (a.kind === "addr") expect(hex(core.bytes().slice(slot, slot + 128)), label).toBe(hex(a.payload));
    else {
      // Compare a string up to its first NUL: what follows it is padding.
      const text = a.payload.subarray(0, a.payload.indexOf(0));
      expect(hex(core.bytes().slice(slot, slot + text.length + 1)), label).toBe(hex(new Uint8Array([...text, 0])));
    }
  }
}

function reencoded(m: GeneratedMessage): { len: number; bytes: string } {
  const len = core.exports.encode(m.dir, m.version);
  const at = core.exports.codecPtr();
  return { len, bytes: len > 0 ? hex(core.bytes().slice(at, at + len)) : "" };
}

describe(`decode → encode round trip (mulberry32 seed 0x${SEED.toString(16)})`, () => {
  const messages = corpus(SEED, COUNT);

  it("covers every (direction, op, version), both control messages and unknown attributes", () => {
    const seen = new Set(messages.filter((m) => m.kind === "iwpm").map((m) => shapeName(m)));
    expect(seen.size).toBe(allShapes().length);
    expect(messages.filter((m) => m.kind === "done" && m.value === undefined).length).toBeGreaterThan(0);
    expect(messages.filter((m) => m.kind === "done" && m.value !== undefined).length).toBeGreaterThan(0);
    expect(messages.filter((m) => m.kind === "error" && (m.echoed?.length ?? 0) > 0).length).toBeGreaterThan(0);
    expect(messages.filter((m) => m.kind === "error" && m.echoed?.length === 0).length).toBeGreaterThan(0);
    expect(messages.filter((m) => m.unknown > 0).length).toBeGreaterThan(COUNT / 10);
    expect(messages.length).toBeGreaterThanOrEqual(5000);
  });

  // While the empty-unknown-attribute bug below stands, this fails on the
  // corpus messages that carry such an attribute (and on no others).
  it(`${COUNT} valid messages decode with status 0 to their fields and encode back byte for byte`, () => {
    // Collect every mismatch first so that a failure shows how widespread it is, then the first case in full.
    const failures: string[] = [];
    let withEmptyUnknown = 0;
    for (const m of messages) {
      const status = decode(m);
      if (status !== 0) {
        failures.push(`decode status ${status}: ${describeMessage(m)}`);
        continue;
      }
      expectDecodedFields(m);
      const out = reencoded(m);
      if (out.len !== m.bytes.length || out.bytes !== hex(m.bytes)) {
        failures.push(`re-encoded to ${out.len} bytes ${out.bytes} from ${describeMessage(m)}`);
        if (m.attrs.some((a) => a.kind === "unknown" && a.payload.length === 0)) withEmptyUnknown++;
      }
    }
    expect(
      failures.length,
      `${failures.length} of ${messages.length} failed (${withEmptyUnknown} of them carry an unknown attribute with an empty payload); first: ${failures[0]}`,
    ).toBe(0);
  });

  it("keeps unknown attributes where they arrived", () => {
    const msg = nlmsg({ type: rdma(2, 8), seq: 9, pid: 7 }, [
      attrRaw(1, new Uint8Array([4, 0])),
      attrRaw(30, new Uint8Array([1, 2, 3])),
      attrRaw(8, new Uint8Array([9, 9, 9, 9, 9])),
      attrRaw(17, new Uint8Array([5])),
    ]);
    core.bytes().set(msg, core.exports.codecPtr());
    expect(core.exports.decode(msg.length, DIR_TO_CLIENT, 4)).toBe(0);
    expect(core.view().getUint32(core.exports.decodedPtr() + D.unknown, true)).toBe(3);
    expect(core.exports.encode(DIR_TO_CLIENT, 4)).toBe(msg.length);
    expect(hex(core.bytes().slice(core.exports.codecPtr(), core.exports.codecPtr() + msg.length))).toBe(hex(msg));
  });

  // nla_len 4: the zero-filled padding word must not land on the header.
  it("re-encodes an unknown attribute with an empty payload", () => {
    const msg = nlmsg({ type: rdma(2, 8), seq: 1, pid: 1234 }, [attrRaw(1, new Uint8Array([4, 0])), attrRaw(9, new Uint8Array(0))]);
    expect(hex(msg)).toBe("1c0000000808010001000000d2040000060001000400000004000900");
    core.bytes().set(msg, core.exports.codecPtr());
    expect(core.exports.decode(msg.length, DIR_TO_CLIENT, 4)).toBe(0);
    expect(core.exports.encode(DIR_TO_CLIENT, 4)).toBe(msg.length);
    expect(hex(core.bytes().slice(core.exports.codecPtr(), core.exports.codecPtr() + msg.length))).toBe(hex(msg));
  });
});

describe("round trip of the golden v4/v3 differences", () => {
  // The same ADD request decodes under v4 with FLAGS and under v3 without:
  // each must re-encode to its own bytes, never borrowing the other layout.
  it.each([
    [4, true],
    [3, false],
  ] as const)("ADD_MAPPING v%i (FLAGS present: %s)", (version, withFlags) => {
    const rng = new Rng(SEED + version);
    const m = randomMessage(rng, { dir: DIR_TO_DAEMON, op: 1, version }, { client: 2, unknownChance: 0 });
    expect(m.attrs.length).toBe(withFlags ? 3 : 2);
    expect(decode(m)).toBe(0);
    expectDecodedFields(m);
    const out = reencoded(m);
    expect(out.len).toBe(withFlags ? 164 : 156);
    expect(out.bytes).toBe(hex(m.bytes));
  });
});
