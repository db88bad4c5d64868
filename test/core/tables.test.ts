import { describe, expect, it } from "vitest";
import type { Core } from "../../src/core/core.js";
import { errorFromStatus } from "../../src/core/errors.js";
import { Status } from "../../src/core/status.js";
import { loadTestCore } from "../support/core.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";

// The tables at scale: a million mappings through the exported calls, with
// the structural self-checks and a shadow model after random churn.

const M = 1_000_000;

/** Writes AF_INET addresses straight into the argument slots (the sockaddr layout of docs/abi.md). */
function slotWriter(core: Core) {
  const args = core.exports.argsPtr();
  return (slot: number, ip: number, port: number) => {
    const mem = new DataView(core.exports.memory.buffer);
    const at = args + slot * 128;
    mem.setUint16(at, 2, true);
    mem.setUint16(at + 2, port, false);
    mem.setUint32(at + 4, ip, false);
  };
}

/** Distinct (local, mapped) pairs from a fixed-seed generator. */
function pairs(n: number, seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const ips = new Uint32Array(n);
  const ports = new Uint16Array(n);
  const seen = new Set<number>();
  for (let i = 0; i < n; i++) {
    let ip: number;
    do ip = (0x0a000000 | (next() & 0x00ffffff)) >>> 0;
    while (seen.has(ip));
    seen.add(ip);
    ips[i] = ip;
    ports[i] = 1024 + (next() % 60000);
  }
  return { ips, ports };
}

describe("mapinfo table at 1M mappings", () => {
  it("inserts, finds and removes a million records within 300 bytes each", async () => {
    const { core } = await loadTestCore();
    const x = core.exports;
    x.init(2);
    const write = slotWriter(core);
    const before = x.memory.buffer.byteLength;
    const { ips, ports } = pairs(M, 7);
    // mapped = local IP with port + 1: unique per record
    for (let i = 0; i < M; i++) {
      write(0, ips[i] as number, ports[i] as number);
      write(1, ips[i] as number, ((ports[i] as number) + 1) & 0xffff);
      if (x.createMapinfo(2, i & 1) !== 0) throw new Error(`insert ${i} failed`);
    }
    expect(x.mapinfoSize()).toBe(M);
    const perMapping = (x.memory.buffer.byteLength - before) / M;
    expect(perMapping).toBeLessThanOrEqual(300);
    expect(x.mapinfoVerify()).toBe(0);

    let found = 0;
    let absent = 0;
    for (let i = 0; i < M; i++) {
      write(0, ips[i] as number, ((ports[i] as number) + 1) & 0xffff);
      if (x.mapinfoFind(1) !== 0) found++;
      write(0, (ips[i] as number) ^ 0x00800000, ports[i] as number);
      if (x.mapinfoFind(0) === 0) absent++;
    }
    expect(found).toBe(M);
    // Flipping a bit of the address may land on another record's address; count those exactly.
    const taken = new Set(ips);
    const collisions = Array.from(ips).filter((ip) => taken.has((ip ^ 0x00800000) >>> 0)).length;
    expect(absent).toBeGreaterThanOrEqual(M - collisions);

    for (let i = 0; i < M; i++) {
      write(0, ips[i] as number, ports[i] as number);
      write(1, ips[i] as number, ((ports[i] as number) + 1) & 0xffff);
      if (x.removeMapinfo() !== 0) throw new Error(`remove ${i} failed`);
    }
    expect(x.mapinfoSize()).toBe(0);
    expect(x.mapinfoHead()).toBe(0);
    expect(x.mapinfoVerify()).toBe(0);
  });

  it("keeps its invariants and agrees with a shadow model under random churn", async () => {
    const { core } = await loadTestCore();
    const x = core.exports;
    x.init(2);
    const write = slotWriter(core);
    const shadow = new Map<number, number>(); // mapped port -> number of records
    let s = 12345;
    const rand = (n: number) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % n;
    };
    for (let step = 0; step < 200_000; step++) {
      const port = rand(5000);
      write(0, 0x0a000001, port);
      write(1, 0x0a000001, port);
      if (rand(3) !== 0) {
        expect(x.createMapinfo(2, 0)).toBe(0);
        shadow.set(port, (shadow.get(port) ?? 0) + 1);
      } else {
        const had = shadow.get(port) ?? 0;
        expect(x.removeMapinfo()).toBe(had > 0 ? 0 : -127);
        if (had > 1) shadow.set(port, had - 1);
        else shadow.delete(port);
      }
      if (step % 50_000 === 0) expect(x.mapinfoVerify()).toBe(0);
    }
    expect(x.mapinfoVerify()).toBe(0);
    expect(x.mapinfoSize()).toBe([...shadow.values()].reduce((a, b) => a + b, 0));
    // Creation order survives removals: the walk yields exactly the surviving records.
    let walked = 0;
    for (let i = x.mapinfoHead(); i !== 0; i = x.mapinfoAfter(i)) walked++;
    expect(walked).toBe(x.mapinfoSize());
  });

  it("finds the newest record by local address and removes only the one matching both addresses", async () => {
    const { core } = await loadTestCore();
    const x = core.exports;
    x.init(2);
    const local = v4("10.0.0.1", 1);
    // Three records share the local address; the last two also share the mapped one.
    const add = (mapped: ReturnType<typeof v4>, flags: number) => {
      core.writeAddr(0, local);
      core.writeAddr(1, mapped);
      expect(x.createMapinfo(2, flags)).toBe(0);
    };
    add(v4("10.0.0.9", 9), 0);
    add(v4("10.0.0.8", 8), 1);
    add(v4("10.0.0.8", 8), 2);
    const flagsOf = (i: number) => (i === 0 ? null : x.mapinfoRead(i));
    core.writeAddr(0, local);
    expect(flagsOf(x.mapinfoFind(0))).toBe(2);
    core.writeAddr(0, v4("10.0.0.9", 9));
    expect(flagsOf(x.mapinfoFind(1))).toBe(0);
    // (local, 10.0.0.8:8) matches two records: the newest goes, the other stays.
    core.writeAddr(0, local);
    core.writeAddr(1, v4("10.0.0.8", 8));
    expect(x.removeMapinfo()).toBe(0);
    expect(core.mapinfo().map((r) => r.flags)).toEqual([0, 1]);
    core.writeAddr(0, local);
    expect(flagsOf(x.mapinfoFind(0))).toBe(1);
    expect(x.mapinfoVerify()).toBe(0);
    // A local address that is in the table with another mapped address removes nothing.
    core.writeAddr(0, local);
    core.writeAddr(1, v4("10.0.0.7", 7));
    expect(x.removeMapinfo()).toBe(-127);
    expect(x.mapinfoSize()).toBe(2);
  });

  it("stays sound when a million removals leave their slots behind and the table refills", async () => {
    const { core } = await loadTestCore();
    const x = core.exports;
    x.init(2);
    const write = slotWriter(core);
    const n = M;
    const { ips, ports } = pairs(n, 11);
    const put = (i: number) => {
      write(0, ips[i] as number, ports[i] as number);
      write(1, ips[i] as number, ((ports[i] as number) + 1) & 0xffff);
    };
    for (let i = 0; i < n; i++) {
      put(i);
      if (x.createMapinfo(2, 0) !== 0) throw new Error(`insert ${i} failed`);
    }
    // Remove the even ones, then insert them again: the refill reuses emptied slots and rebuilds.
    for (let i = 0; i < n; i += 2) {
      put(i);
      if (x.removeMapinfo() !== 0) throw new Error(`remove ${i} failed`);
    }
    expect(x.mapinfoSize()).toBe(n / 2);
    expect(x.mapinfoVerify()).toBe(0);
    let wrong = 0;
    for (let i = 0; i < n; i++) {
      write(0, ips[i] as number, ((ports[i] as number) + 1) & 0xffff);
      if ((x.mapinfoFind(1) !== 0) !== (i % 2 === 1)) wrong++;
    }
    expect(wrong).toBe(0);
    for (let i = 0; i < n; i += 2) {
      put(i);
      if (x.createMapinfo(2, 0) !== 0) throw new Error(`insert ${i} failed`);
    }
    expect(x.mapinfoSize()).toBe(n);
    expect(x.mapinfoVerify()).toBe(0);
    for (let i = 0; i < n; i++) {
      write(0, ips[i] as number, ports[i] as number);
      if (x.mapinfoFind(0) === 0) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it("removes the newest record with a mapped address first", async () => {
    const { core } = await loadTestCore();
    const x = core.exports;
    x.init(2);
    core.writeAddr(0, v4("10.0.0.1", 1));
    core.writeAddr(1, v4("10.0.0.9", 9));
    x.createMapinfo(2, 0);
    core.writeAddr(0, v4("10.0.0.2", 2));
    x.createMapinfo(2, 1);
    expect(core.mapinfo().map((r) => r.local.port)).toEqual([1, 2]);
    expect(x.removeMapinfo()).toBe(0);
    expect(core.mapinfo()).toMatchObject([{ local: { port: 1 }, flags: 0 }]);
  });
});

describe("remote-info table", () => {
  it("hands out each entry exactly once, newest first for a repeated key", async () => {
    const { core } = await loadTestCore();
    const x = core.exports;
    const daemon = new FakeDaemon(1234);
    x.init(2);
    const n = 20_000;
    const info = (i: number, remotePort: number) => ({
      local: v4("10.0.0.2", 7000),
      remote: v4("10.0.1.1", remotePort),
      mappedLocal: v4("10.0.0.2", 47000),
      mappedRemote: v4(`10.0.${2 + (i >> 8)}.${i & 255}`, 20000 + (i % 1000)),
    });
    for (let i = 0; i < n; i++) core.feed(daemon.remoteInfo(info(i, 1)), daemon.port);
    core.feed(daemon.remoteInfo(info(0, 2)), daemon.port);
    core.drainEvents();
    expect(x.remoteInfoSize()).toBe(n + 1);
    expect(x.remoteInfoVerify()).toBe(0);
    const get = (i: number) => {
      const e = info(i, 0);
      core.writeAddr(0, e.mappedLocal);
      core.writeAddr(1, e.mappedRemote);
      return x.getRemoteInfo(2) === 0 ? core.readAddr(2)?.port : null;
    };
    expect(get(0)).toBe(2);
    expect(get(0)).toBe(1);
    expect(get(0)).toBeNull();
    for (let i = 1; i < n; i++) expect(get(i)).toBe(1);
    for (let i = 1; i < n; i += 997) expect(get(i)).toBeNull();
    expect(x.remoteInfoSize()).toBe(0);
    expect(x.remoteInfoVerify()).toBe(0);
  });

  it("refuses a record past a table's bound with TABLE_FULL, changing nothing, and takes one again once there is room", async () => {
    const { core } = await loadTestCore();
    const x = core.exports;
    const write = slotWriter(core);
    const bound = 8;
    x.setTableBound(bound);
    x.init(2);
    for (let i = 0; i < bound; i++) {
      write(0, 0x0a000001, 1000 + i);
      write(1, 0x0a000002, 2000 + i);
      expect(x.createMapinfo(2, 0)).toBe(0);
    }
    write(0, 0x0a000001, 1999);
    write(1, 0x0a000002, 2999);
    expect(x.createMapinfo(2, 0)).toBe(-Status.TABLE_FULL);
    expect(x.mapinfoSize()).toBe(bound);
    expect(x.mapinfoVerify()).toBe(0);
    expect(errorFromStatus(Status.TABLE_FULL, "createMapinfo").code).toBe("TABLE_FULL");
    // A removal makes room: the freed record is taken again.
    write(0, 0x0a000001, 1000);
    write(1, 0x0a000002, 2000);
    expect(x.removeMapinfo()).toBe(0);
    write(0, 0x0a000001, 1999);
    write(1, 0x0a000002, 2999);
    expect(x.createMapinfo(2, 0)).toBe(0);
    expect(x.mapinfoSize()).toBe(bound);

    // The request table has the same bound: one REG_PID per client index waits for an answer.
    core.writeNames("dev0", "eth0");
    for (let c = 3; c < 3 + bound; c++) {
      x.init(c);
      expect(x.registerPid(c)).toBeGreaterThan(0);
    }
    x.init(3 + bound);
    expect(x.registerPid(3 + bound)).toBe(-Status.TABLE_FULL);
    expect(x.requestCount()).toBe(bound);
  });
});
