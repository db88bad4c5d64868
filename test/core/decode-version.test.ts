import { beforeAll, describe, expect, it } from "vitest";
import type { CoreExports } from "../../src/core/core.js";
import { DECODE_VERSION_SHIFT, DIR_TO_CLIENT, DIR_TO_DAEMON, Status } from "../../src/gen/protocol.js";
import { loadDecoderCore } from "../../src/replay/decode.js";
import { coreModule } from "../support/core.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";
import { attrAddr, attrU32, NLMSG_DONE, NLMSG_ERROR, nlmsg, rdma } from "../support/nl.js";

// The client core's ABI version rule for decoding captures (decodeTracked, trackVersion): which
// layout a message is decoded with, and what the tracked version becomes after it.

interface Tracked {
  decodeTracked(len: number, dir: number, tracked: number): number;
  trackVersion(tracked: number, result: number, dir: number, echo: number): number;
}

let x: CoreExports & Tracked;
beforeAll(async () => {
  x = (await loadDecoderCore(coreModule())) as CoreExports & Tracked;
});

const PORT = 4321;
const add = (seq: number, flags?: number) =>
  nlmsg({ type: rdma(2, 1), seq, pid: PORT }, [
    attrU32(1, 0),
    attrAddr(2, v4("127.0.0.1", 5555)),
    ...(flags === undefined ? [] : [attrU32(3, flags)]),
  ]);
/** An ADD_MAPPING request whose address is 4 bytes: no version's layout takes it. */
const badAdd = (seq: number) => nlmsg({ type: rdma(2, 1), seq, pid: PORT }, [attrU32(1, 0), attrU32(2, 0)]);
const helloError = (seq: number) =>
  nlmsg({ type: NLMSG_ERROR, seq, pid: 0 }, [new Uint8Array([0xa1, 0xff, 0xff, 0xff]), new Uint8Array(16)]);

/** Decodes `bytes` in `dir` with `tracked`: the status, the version used, and what the tracked version becomes. */
function step(bytes: Uint8Array, dir: number, tracked: number, echo = false) {
  new Uint8Array(x.memory.buffer).set(bytes, x.codecPtr());
  const result = x.decodeTracked(bytes.length, dir, tracked);
  const status = result & ((1 << DECODE_VERSION_SHIFT) - 1);
  const version = result >>> DECODE_VERSION_SHIFT;
  return { status, version, next: x.trackVersion(tracked, result, dir, echo ? 1 : 0) };
}

describe("decodeTracked: the layout a message is decoded with", () => {
  it("starts with the newest version when nothing is tracked", () => {
    expect(step(add(1, 1), DIR_TO_DAEMON, 0)).toEqual({ status: 0, version: 4, next: 4 });
  });

  it("tries the tracked version first: a v3 ADD (no FLAGS) stays v3 once v3 is tracked", () => {
    expect(step(add(1), DIR_TO_DAEMON, 3)).toEqual({ status: 0, version: 3, next: 3 });
  });

  it("takes the v4 layout for a message v3 leaves an attribute of (FLAGS)", () => {
    expect(step(add(1, 7), DIR_TO_DAEMON, 3)).toEqual({ status: 0, version: 4, next: 4 });
  });

  it("falls back to the other version when the tracked one's layout refuses the message", () => {
    // v4's ADD_MAPPING requires FLAGS: a v3 one decodes only with the v3 layout.
    new Uint8Array(x.memory.buffer).set(add(1), x.codecPtr());
    expect(x.decode(add(1).length, DIR_TO_DAEMON, 4)).toBe(Status.MISSING_ATTR);
    expect(step(add(1), DIR_TO_DAEMON, 4)).toEqual({ status: 0, version: 3, next: 3 });
  });

  it("a message no layout takes keeps the tracked version and reports the tracked layout's status", () => {
    const r = step(badAdd(1), DIR_TO_DAEMON, 4);
    expect(r.status).toBe(Status.ATTR_SIZE);
    expect(r.version).toBe(4);
    expect(r.next).toBe(4);
    expect(step(badAdd(1), DIR_TO_DAEMON, 3)).toMatchObject({ version: 3, next: 3 });
  });
});

describe("trackVersion: what the two sides speak after a message", () => {
  const d = new FakeDaemon(PORT);

  it("follows a HELLO's ABI version, v4 at most, ignoring one below v3", () => {
    expect(step(d.hello(3), DIR_TO_CLIENT, 4).next).toBe(3);
    expect(step(d.hello(4), DIR_TO_CLIENT, 3).next).toBe(4);
    expect(step(d.hello(9), DIR_TO_CLIENT, 3).next).toBe(4);
    expect(step(d.hello(2), DIR_TO_CLIENT, 3).next).toBe(3);
    // the kernel's answer to HELLO counts too
    expect(step(d.hello(3), DIR_TO_DAEMON, 4).next).toBe(3);
  });

  it("follows a REG_PID reply's and a MAPINFO request's library version", () => {
    expect(step(d.regPidReply(1, "siw0", { version: 3 }), DIR_TO_CLIENT, 4).next).toBe(3);
    expect(step(d.mapinfoRequest(3), DIR_TO_CLIENT, 4).next).toBe(3);
    expect(step(d.mapinfoRequest(4), DIR_TO_CLIENT, 3).next).toBe(4);
  });

  it("falls back to v3 on an NLMSG_ERROR with seq 0 to the daemon (its HELLO refused), and only then", () => {
    expect(step(helloError(0), DIR_TO_DAEMON, 4).next).toBe(3);
    expect(step(helloError(7), DIR_TO_DAEMON, 4).next).toBe(4);
    expect(step(helloError(0), DIR_TO_CLIENT, 4).next).toBe(4);
    expect(step(nlmsg({ type: NLMSG_DONE, seq: 0, pid: 0 }, [new Uint8Array(4)]), DIR_TO_DAEMON, 4).next).toBe(4);
  });

  it("ignores a request that came back to its sender", () => {
    expect(step(d.mapinfoRequest(3), DIR_TO_CLIENT, 4, true).next).toBe(4);
    expect(step(add(1, 1), DIR_TO_DAEMON, 3, true).next).toBe(3);
  });

  it("otherwise takes the version whose layout decoded the message", () => {
    expect(step(add(1, 1), DIR_TO_DAEMON, 3).next).toBe(4);
    expect(step(add(1), DIR_TO_DAEMON, 4).next).toBe(3);
  });

  it("leaves the version as it was after a message that did not decode", () => {
    expect(step(nlmsg({ type: rdma(2, 8), seq: 0, pid: PORT }, []), DIR_TO_CLIENT, 3)).toMatchObject({
      status: Status.MISSING_ATTR,
      next: 3,
    });
  });
});
