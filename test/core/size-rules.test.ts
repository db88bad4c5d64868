import { beforeAll, describe, expect, it } from "vitest";
import type { Core } from "../../src/core/core.js";
import * as G from "../../src/gen/protocol.js";
import { loadTestCore } from "../support/core.js";
import { attrRaw, nlmsg, rdma } from "../support/nl.js";

// The walk checks each attribute against one packed rule word per (direction, op, id). These hold
// it to the receiver's size rules at their edges, in decode and in encode's re-validation: the
// kernel's user-library name field is char[IWPM_ULIBNAME_SIZE] (32, NUL included), a u16 attribute
// needs at least its 2 bytes and may be longer (the kernel's lenient parse takes the first two).

const IWPM_ULIBNAME_SIZE = 32;

let core: Core;
beforeAll(async () => {
  ({ core } = await loadTestCore());
});

const text = (n: number) => new TextEncoder().encode(`${"u".repeat(n)}\0`);

function mapinfo(ulib: Uint8Array, port: Uint8Array): Uint8Array {
  return nlmsg({ type: rdma(2, G.OP_MAPINFO), seq: 1, pid: 6 }, [attrRaw(1, ulib), attrRaw(2, port)]);
}

function decode(bytes: Uint8Array): number {
  core.bytes().set(bytes, core.exports.codecPtr());
  return core.exports.decode(bytes.length, G.DIR_TO_CLIENT, 4);
}

describe("attribute size rules at their edges", () => {
  const port = new Uint8Array([4, 0]);
  const cases: { what: string; bytes: Uint8Array; status: number }[] = [
    { what: "the longest name (31 characters and NUL)", bytes: mapinfo(text(IWPM_ULIBNAME_SIZE - 1), port), status: 0 },
    { what: "a name one byte too long", bytes: mapinfo(text(IWPM_ULIBNAME_SIZE), port), status: G.Status.ATTR_SIZE },
    { what: "the shortest name (only NUL)", bytes: mapinfo(text(0), port), status: 0 },
    { what: "an empty name", bytes: mapinfo(new Uint8Array(0), port), status: G.Status.ATTR_SIZE },
    { what: "a u16 one byte short", bytes: mapinfo(text(5), new Uint8Array([4])), status: G.Status.ATTR_SIZE },
    { what: "a u16 with two extra bytes", bytes: mapinfo(text(5), new Uint8Array([4, 0, 0, 0])), status: 0 },
  ];
  for (const c of cases) {
    it(`decode: ${c.what}`, () => {
      expect(decode(c.bytes)).toBe(c.status);
    });
  }

  it("encode refuses an edit that lengthens the name past its field", () => {
    const bytes = mapinfo(text(IWPM_ULIBNAME_SIZE - 1), port);
    expect(decode(bytes)).toBe(0);
    expect(core.exports.encode(G.DIR_TO_CLIENT, 4)).toBe(bytes.length);
    // The NUL at the field's end becomes a character: the name no longer ends within its 32 bytes.
    const nulAt = core.exports.codecPtr() + G.NLMSG_HDRLEN + G.NLA_HDRLEN + IWPM_ULIBNAME_SIZE - 1;
    core.bytes()[nulAt] = 0x75;
    expect(core.exports.encode(G.DIR_TO_CLIENT, 4)).toBe(-G.Status.STRING_UNTERMINATED);
  });
});
