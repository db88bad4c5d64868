import { describe, expect, it, vi } from "vitest";
import * as ip from "../../src/core/ip.js";
import { readSockaddr, type SockAddr } from "../../src/core/sockaddr.js";
import { EVENT_SLOT_BASE } from "../../src/gen/events.js";
import { loadRegisteredCore } from "../support/core.js";
import { v4, v6 } from "../support/fake-daemon.js";

// An event's addresses become SockAddr objects (their text above all) only when read, once; what
// is read equals what readSockaddr makes of the slot, even after the queue's memory is reused.

vi.mock("../../src/core/ip.js", async (original) => {
  const m = await original<typeof import("../../src/core/ip.js")>();
  return { ...m, formatIPv4: vi.fn(m.formatIPv4), formatIPv4Number: vi.fn(m.formatIPv4Number), formatIPv6: vi.fn(m.formatIPv6) };
});

const FORMATTERS = [ip.formatIPv4, ip.formatIPv4Number, ip.formatIPv6] as const;
const formatted = () => FORMATTERS.reduce((n, f) => n + vi.mocked(f).mock.calls.length, 0);

async function registered() {
  const t = await loadRegisteredCore();
  for (const f of FORMATTERS) vi.mocked(f).mockClear();
  return t;
}

describe("event addresses", () => {
  it("are formatted when first read, once, from what the slot held when drained", async () => {
    const t = await registered();
    const local: SockAddr = { ...v6("fe80::1", 5555), scopeId: 3 };
    const mapped: SockAddr = { ...v6("fd00::ab:cd", 40000), flowinfo: 0xabcde, scopeId: 7 };
    t.core.writeAddr(0, local);
    const seq = t.core.exports.addMapping(2, 0);
    t.core.feed(t.daemon.addReply(seq, local, mapped), t.daemon.port);
    const slot = t.core.exports.eventsPtr() + EVENT_SLOT_BASE;
    const fromSlot = readSockaddr(t.core.view(), slot);
    for (const f of FORMATTERS) vi.mocked(f).mockClear();

    const [done] = t.core.drainEvents();
    expect(formatted()).toBe(0);
    // The queue's memory is the core's to reuse once drained.
    t.core.bytes().fill(0, slot, slot + 256);
    const first = done?.kind === "requestDone" ? done.mappedLocal : undefined;
    expect(first).toEqual(fromSlot);
    expect(first).toEqual(mapped);
    expect(formatted()).toBe(1);
    expect(done?.kind === "requestDone" ? done.mappedLocal : undefined).toBe(first);
    expect(done?.kind === "requestDone" ? done.mappedRemote : undefined).toBeNull();
    expect(formatted()).toBe(1);
  });

  it("of REMOTE_INFO are formatted one by one, as each is read", async () => {
    const t = await registered();
    const info = {
      local: v4("255.254.128.1", 7000),
      remote: v4("0.0.0.0", 6000),
      mappedLocal: v4("10.0.0.2", 47000),
      mappedRemote: v4("10.0.0.1", 46000),
    };
    t.core.feed(t.daemon.remoteInfo(info), t.daemon.port);
    const [e] = t.core.drainEvents();
    expect(e?.kind).toBe("remoteInfo");
    if (e?.kind !== "remoteInfo") return;
    expect(formatted()).toBe(0);
    expect(e.remote).toEqual(info.remote);
    expect(formatted()).toBe(1);
    expect({ local: e.local, remote: e.remote, mappedLocal: e.mappedLocal, mappedRemote: e.mappedRemote }).toEqual(info);
    expect(formatted()).toBe(4);
  });

  it("read by the client API reach its callers as plain objects", async () => {
    const t = await registered();
    const local = v4("10.0.0.1", 5555);
    t.core.writeAddr(0, local);
    const seq = t.core.exports.addMapping(2, 0);
    t.core.feed(t.daemon.addReply(seq, local, v4("10.0.0.1", 40000)), t.daemon.port);
    const [done] = t.core.drainEvents();
    const mapped = done?.kind === "requestDone" ? done.mappedLocal : null;
    expect(Object.getPrototypeOf(mapped)).toBe(Object.prototype);
    expect(JSON.parse(JSON.stringify(mapped))).toEqual({ family: "ipv4", address: "10.0.0.1", port: 40000 });
  });
});
