// The daemon-side replay instance: the messages a daemon received go through the service's own
// handlers; its table and drops are the service's, its reservations never touch the network.

import { beforeAll, describe, expect, it } from "vitest";
import type { SockAddr } from "../../src/core/sockaddr.js";
import { DaemonReplayEngine } from "../../src/replay/daemon-engine.js";
import { loadDaemonCore } from "../../src/replay/peer-engine.js";
import { addMapping, CLIENT_PORT, regPid, removeMapping } from "../service/messages.js";
import { daemonCoreModule } from "../support/core.js";
import { attrAddr, attrU32, nlmsg, rdma } from "../support/nl.js";

beforeAll(async () => {
  await loadDaemonCore(daemonCoreModule());
});

const v4 = (address: string, port: number): SockAddr => ({ family: "ipv4", address, port });

describe("a daemon-side replay instance", () => {
  it("maps without the network, and removes", () => {
    const e = new DaemonReplayEngine();
    expect(e.received(0, regPid(1, "siw0"), CLIENT_PORT)).toMatchObject({ drops: [], events: [{ kind: "clientRegistered" }] });
    const added = e.received(0.1, addMapping(2, v4("10.0.0.1", 5555)), CLIENT_PORT);
    expect(added.events.map((x) => x.kind)).toEqual(["mappingAdded"]);
    expect(e.received(0.2, addMapping(3, v4("10.0.0.1", 6000)), CLIENT_PORT).drops).toEqual([]);
    expect(e.mappings().map((m) => [m.local?.port, m.mapped?.port])).toEqual([
      [6000, 32769],
      [5555, 32768],
    ]);
    expect(e.received(0.3, removeMapping(4, v4("10.0.0.1", 5555)), CLIENT_PORT).events.map((x) => x.kind)).toEqual(["mappingRemoved"]);
    expect(e.mappings().map((m) => m.local?.port)).toEqual([6000]);
  });

  it("counts what the service refuses", () => {
    const e = new DaemonReplayEngine();
    // client index 5 never registered
    const add = nlmsg({ type: rdma(5, 1), seq: 9, pid: CLIENT_PORT }, [attrU32(1, 0), attrAddr(2, v4("10.0.0.1", 5555)), attrU32(3, 0)]);
    expect(e.received(0, add, CLIENT_PORT).drops).toEqual(["notRegistered"]);
    expect(e.received(0.1, new Uint8Array(8), CLIENT_PORT).drops).toEqual(["badFrame"]);
    expect(e.mappings()).toEqual([]);
  });
});
