import { beforeAll, describe, expect, it } from "vitest";
import type { SockAddr } from "../../src/core/sockaddr.js";
import { type GoldenAttr, type GoldenVector, loadGoldenVectors } from "../golden/golden.js";
import { attrU16, attrU32, hex, NLMSG_ERROR, nlmsg, rdma } from "../support/nl.js";
import { loadService, peer4, type ServiceHarness } from "./harness.js";
import { addMapping, CLIENT_PORT, mapinfo, queryMapping, regPid } from "./messages.js";
import { answer, MT, wire } from "./wire.js";

// Every daemon -> client golden vector (test/golden/golden.c, built from the
// system's rdma_netlink.h) must come out of the service byte for byte when
// the service is driven to the state the vector describes: the same header
// seq from the per-index counter, the same pid, the same attributes.

let vectors: GoldenVector[];
beforeAll(() => {
  vectors = loadGoldenVectors();
});

function attr(v: GoldenVector, id: number): GoldenAttr {
  const a = v.messages[0]?.attrs.find((x) => x.id === id);
  if (!a) throw new Error(`${v.name} has no attribute ${id}`);
  return a;
}
const addrOf = (a: GoldenAttr): SockAddr => ({
  family: a.family === 2 ? "ipv4" : "ipv6",
  address: a.address as string,
  port: a.port as number,
});
const num = (a: GoldenAttr) => a.value as number;

/** Sends REG_PIDs until the next message for index 2 will carry `seq`. */
function padTo(h: ServiceHarness, seq: number): void {
  const x = h.core.exports;
  expect(x.serviceNextSeq(2)).toBeLessThanOrEqual(seq);
  while (x.serviceNextSeq(2) < seq) h.feed(regPid(1, "pad0"));
  h.nl.take();
}

function lastSent(h: ServiceHarness): string {
  const sent = h.nl.take();
  return hex(sent[sent.length - 1]?.bytes as Uint8Array);
}

async function started(version: 3 | 4 = 4): Promise<ServiceHarness> {
  const h = await loadService({ port: 1234, clientPort: 0 });
  expect(h.core.exports.serviceStart()).toBe(0);
  if (version === 3) h.feed(nlmsg({ type: NLMSG_ERROR, flags: 0, seq: 0, pid: 0 }, [attrU32(0, 0)]));
  h.feed(regPid(1, "setup0"));
  h.nl.take();
  return h;
}

describe("the service's messages equal iwpmd's golden bytes", () => {
  it("covers every iwpm op the daemon sends", () => {
    const names = vectors.filter((v) => v.dir === "to_client" && v.messages[0]?.control === null).map((v) => v.name);
    expect(names.sort()).toEqual(Object.keys(scenarios).sort());
  });

  const scenarios: Record<string, (v: GoldenVector) => Promise<string>> = {
    async hello_from_daemon_example_d() {
      const h = await loadService({ port: 1234, clientPort: 0 });
      h.core.exports.serviceStart();
      const [sent] = h.nl.take();
      expect(sent?.port).toBe(0);
      return hex(sent?.bytes as Uint8Array);
    },
    async mapinfo_request_v4() {
      const h = await loadService({ port: 1234 });
      h.core.exports.serviceStart();
      h.nl.take();
      h.feed(nlmsg({ type: rdma(2, 8), seq: 9, pid: CLIENT_PORT }, [attrU16(1, 4)]));
      return lastSent(h);
    },
    async mapinfo_request_v3_client3() {
      const h = await loadService({ port: 1234 });
      h.core.exports.serviceStart();
      h.nl.take();
      h.feed(nlmsg({ type: NLMSG_ERROR, flags: 0, seq: 0, pid: 0 }, [attrU32(0, -95 >>> 0)]));
      const sent = h.nl.take();
      expect(sent.map((s) => s.port)).toEqual([0, 0]);
      return hex(sent[1]?.bytes as Uint8Array);
    },
    async reg_pid_reply_example_b(v) {
      const h = await started(v.version);
      padTo(h, v.messages[0]?.seq as number);
      h.feed(regPid(num(attr(v, 1)), attr(v, 2).value as string));
      return lastSent(h);
    },
    async reg_pid_reply_v3(v) {
      return scenarios.reg_pid_reply_example_b?.(v) as Promise<string>;
    },
    async add_mapping_reply_ipv4(v) {
      const h = await started(v.version);
      padTo(h, v.messages[0]?.seq as number);
      h.ports.next = attr(v, 3).port as number;
      h.feed(addMapping(num(attr(v, 1)), addrOf(attr(v, 2))));
      return lastSent(h);
    },
    async add_mapping_reply_ipv6(v) {
      return scenarios.add_mapping_reply_ipv4?.(v) as Promise<string>;
    },
    async handle_err_example_d(v) {
      const h = await started();
      h.feed(addMapping(50, { family: "ipv4", address: "127.0.0.1", port: 5555 }));
      padTo(h, v.messages[0]?.seq as number);
      h.feed(addMapping(num(attr(v, 1)), { family: "ipv4", address: "127.0.0.1", port: 5555 }));
      const sent = h.nl.take();
      expect(sent[0]?.port).toBe(0);
      expect(num(attr(v, 2))).toBe(12);
      return hex(sent[0]?.bytes as Uint8Array);
    },
    async mapinfo_num_ack(v) {
      const h = await started();
      for (let i = 0; i < num(attr(v, 3)); i++) {
        h.feed(mapinfo({ family: "ipv4", address: "10.1.1.1", port: 7000 + i }, { family: "ipv4", address: "10.1.1.1", port: 47000 + i }));
      }
      padTo(h, v.messages[0]?.seq as number);
      h.feed(nlmsg({ type: rdma(2, 7), seq: num(attr(v, 1)), pid: CLIENT_PORT }, [attrU32(1, 0), attrU32(2, num(attr(v, 2)))]));
      return lastSent(h);
    },
    async query_mapping_reply_ipv4(v) {
      const h = await started();
      const local = addrOf(attr(v, 2));
      const mappedLocal = addrOf(attr(v, 4));
      const mappedRemote = addrOf(attr(v, 5));
      const noPortMap = mappedLocal.port === local.port;
      h.ports.next = mappedLocal.port;
      padTo(h, v.messages[0]?.seq as number);
      h.feed(queryMapping(num(attr(v, 1)), local, addrOf(attr(v, 3)), noPortMap ? 1 : 0));
      const [request] = h.udpSent.splice(0);
      const from = request?.to as { family: number; address: Uint8Array; port: number; scopeId: number };
      const err = num(attr(v, 6));
      const reply =
        err === 16 ? answer(request?.bytes as Uint8Array, MT.reject) : answer(request?.bytes as Uint8Array, MT.accept, mappedRemote.port);
      h.peer(local.family === "ipv4" ? "v4client" : "v6client", reply, from);
      return lastSent(h);
    },
    async query_mapping_reply_ipv6(v) {
      return scenarios.query_mapping_reply_ipv4?.(v) as Promise<string>;
    },
    async query_mapping_reply_reject_ipv4(v) {
      return scenarios.query_mapping_reply_ipv4?.(v) as Promise<string>;
    },
    async remote_info_ipv4(v) {
      const h = await started();
      const listener = addrOf(attr(v, 2));
      const mappedListener = addrOf(attr(v, 4));
      const connector = addrOf(attr(v, 3));
      const mappedConnector = addrOf(attr(v, 5));
      h.ports.next = mappedListener.port;
      h.feed(addMapping(60, listener));
      padTo(h, v.messages[0]?.seq as number);
      const ipVer = listener.family === "ipv4" ? 4 : 6;
      const request = wire({
        type: MT.request,
        ipVer,
        apport: listener.port,
        cpport: connector.port,
        assoc: 0x1234n,
        cpip: connector.address,
        apip: listener.address,
        mappedCpport: mappedConnector.port,
        mappedCpip: mappedConnector.address,
      });
      h.peer(
        ipVer === 4 ? "v4" : "v6",
        request,
        ipVer === 4 ? peer4(connector.address, 40999) : { family: 10, address: new Uint8Array(16), port: 40999, scopeId: 0 },
      );
      const sent = h.nl.take();
      expect(sent[0]?.port).toBe(0);
      return hex(sent[0]?.bytes as Uint8Array);
    },
    async remote_info_ipv6(v) {
      return scenarios.remote_info_ipv4?.(v) as Promise<string>;
    },
  };

  it.each(Object.keys(scenarios))("%s", async (name) => {
    const v = vectors.find((x) => x.name === name) as GoldenVector;
    expect(v.dir).toBe("to_client");
    const scenario = scenarios[name] as (v: GoldenVector) => Promise<string>;
    expect(await scenario(v)).toBe(v.hex);
  });
});
