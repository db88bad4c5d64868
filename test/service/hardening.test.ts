import { describe, expect, it } from "vitest";
import type { SockAddr } from "../../src/core/sockaddr.js";
import { readStats } from "../../src/service/stats.js";
import { nlmsg, parseDatagram, rdma, u16, u32 } from "../support/nl.js";
import { loadService, peer4, type ServiceHarness } from "./harness.js";
import { addMapping, hello, regPid, removeMapping } from "./messages.js";

// Bad input a local process or a peer can send the service: versions it must not adopt, more
// mappings than its bounds, datagrams that are not port mapper messages. Each is refused, counted
// under its reason, and leaves the service answering the next good request.

const NOTIFY = 777;
const v4 = (address: string, port: number): SockAddr => ({ family: "ipv4", address, port });

async function registered(): Promise<ServiceHarness> {
  const h = await loadService({ port: 1234, clientPort: NOTIFY });
  h.core.exports.serviceStart();
  h.feed(regPid(1, "siw0"));
  h.nl.take();
  h.core.exports.eventsClear();
  return h;
}

const sent = (h: ServiceHarness) => h.nl.take().flatMap((d) => parseDatagram(d.bytes).map((m) => ({ ...m, to: d.port })));
const drops = (h: ServiceHarness) => readStats(h.core.exports).drops;

describe("versions the service never adopts", () => {
  for (const version of [0, 1, 2]) {
    it(`drops a HELLO offering ${version} and answers the next REG_PID with version 4`, async () => {
      const h = await registered();
      h.feed(hello(version, 6666));
      expect(sent(h)).toEqual([]);
      expect(h.core.exports.serviceVersion()).toBe(4);
      expect(drops(h).badVersion).toBe(1);
      h.feed(regPid(2, "siw0"));
      const [reply] = sent(h);
      expect(reply).toMatchObject({ op: 0, to: 4321 });
      expect(u16(reply?.attrs.get(4))).toBe(4);
    });
  }

  it("still adopts 3 from a HELLO (a v3 kernel) and counts nothing", async () => {
    const h = await registered();
    h.feed(hello(3));
    expect(h.core.exports.serviceVersion()).toBe(3);
    expect(drops(h).badVersion).toBe(0);
  });

  it("refuses and counts a HELLO above 4 without changing its version", async () => {
    const h = await registered();
    h.feed(hello(9));
    const [err] = sent(h);
    expect(err).toMatchObject({ op: 5, to: NOTIFY });
    expect(u16(err?.attrs.get(2))).toBe(17);
    expect(h.core.exports.serviceVersion()).toBe(4);
    expect(drops(h).badVersion).toBe(1);
  });
});

describe("mapping bounds", () => {
  const local = (port: number) => v4("10.0.0.1", port);

  function add(h: ServiceHarness, seq: number, port: number, pid: number) {
    h.feed(addMapping(seq, local(port), 0, pid));
    const [m] = sent(h);
    return m?.op === 5 ? { refused: u16(m.attrs.get(2)), seq: u32(m.attrs.get(1)) } : { mapped: m?.to === pid };
  }

  it("refuses a requester's mapping beyond its bound with IWPM_CREATE_MAPPING_ERR, holding no port for it", async () => {
    const h = await registered();
    const x = h.core.exports;
    x.serviceSetMappingLimits(100, 3);
    for (let i = 0; i < 3; i++) expect(add(h, 10 + i, 5000 + i, 4321)).toEqual({ mapped: true });
    expect(add(h, 13, 5003, 4321)).toEqual({ refused: 11, seq: 13 });
    expect(h.ports.open.size).toBe(3);
    expect(x.serviceMappingCount()).toBe(3);
    expect(x.serviceMappingCountOf(4321)).toBe(3);
    expect(drops(h).portLimit).toBe(1);
    // Another requester still has room, and a removal makes room again.
    expect(add(h, 14, 6000, 5555)).toEqual({ mapped: true });
    h.feed(removeMapping(15, local(5000)));
    expect(add(h, 16, 5003, 4321)).toEqual({ mapped: true });
    expect(x.serviceMappingCountOf(4321)).toBe(3);
    expect(x.serviceMappingVerify()).toBe(0);
  });

  it("refuses any mapping beyond the total, the kernel's (port 0) included", async () => {
    const h = await registered();
    const x = h.core.exports;
    x.serviceSetMappingLimits(4, 2);
    // The kernel is bounded by the total only.
    for (let i = 0; i < 3; i++) expect(add(h, 20 + i, 7000 + i, 0)).toEqual({ mapped: true });
    expect(add(h, 23, 7100, 4321)).toEqual({ mapped: true });
    expect(add(h, 24, 7101, 5555)).toEqual({ refused: 11, seq: 24 });
    expect(add(h, 25, 7003, 0)).toEqual({ refused: 11, seq: 25 });
    expect(drops(h).totalLimit).toBe(2);
    expect(h.ports.open.size).toBe(4);
    expect(x.serviceMappingVerify()).toBe(0);
  });

  it("keeps its bounds and its books under a flood of ADDs from many ports", async () => {
    const h = await registered();
    const x = h.core.exports;
    x.serviceSetMappingLimits(2000, 40);
    for (let i = 0; i < 5000; i++) {
      h.nl.inbox.push({ bytes: addMapping(1000 + i, local(1 + i), 0, 10_000 + (i % 25)), port: 10_000 + (i % 25), groups: 0 });
      if (h.nl.inbox.length >= 64) x.servicePoll();
      h.nl.take();
      h.core.exports.eventsClear();
    }
    x.servicePoll();
    expect(x.serviceMappingCount()).toBe(25 * 40);
    expect(drops(h).portLimit).toBe(5000 - 25 * 40);
    expect(h.ports.open.size).toBe(x.serviceMappingCount());
    expect(x.serviceMappingVerify()).toBe(0);
  });
});

describe("malformed input", () => {
  it("counts netlink datagrams that do not frame and peer datagrams that are not port mapper messages", async () => {
    const h = await registered();
    const x = h.core.exports;
    const short = new Uint8Array(20);
    new DataView(short.buffer).setUint32(0, 400, true);
    h.feed(short);
    h.feed(new Uint8Array(8));
    h.feed(nlmsg({ type: rdma(2, 12), seq: 1, pid: 4321 }));
    h.peer("v4", new Uint8Array(47), peer4("10.0.0.9"));
    h.peer("v4", new Uint8Array(48).fill(0x0f), peer4("10.0.0.9"));
    // An ACK for nothing of ours.
    const ack = new Uint8Array(48);
    ack[0] = 0x04 | (2 << 4);
    h.peer("v4", ack, peer4("10.0.0.9"));
    const d = drops(h);
    expect(d.badFrame).toBe(2);
    expect(d.unknownOp).toBe(1);
    expect(d.peerMalformed).toBe(2);
    expect(d.peerUnmatched).toBe(1);
    expect(sent(h)).toEqual([]);
    expect(add(h)).toBe(true);
    function add(s: ServiceHarness) {
      s.feed(addMapping(50, v4("10.0.0.1", 5555)));
      return sent(s)[0]?.op === 1 && x.serviceMappingCount() === 1;
    }
  });
});
