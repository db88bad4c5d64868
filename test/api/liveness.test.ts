import { afterEach, describe, expect, it, vi } from "vitest";
import { groupHasMember } from "../../src/api/group-members.js";
import { closeClients, DEV, dateClock, GROUP_IWPM_MASK, harness, OWN_PORT, registered, rejection } from "./harness.js";

// A daemon that is gone, or was never there: fast failures instead of timeouts (fake transport,
// fake timers; the same against the real iwpmd is in test/interop/liveness.test.ts).

afterEach(async () => {
  vi.useRealTimers();
  await closeClients();
});

/** Rows as the kernel prints them (net/netlink/af_netlink.c netlink_seq_show), this column order. */
const HEADER = "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode";
const row = (protocol: number, port: number, groups: number) =>
  `000000006f08c9c0 ${String(protocol).padEnd(3)} ${String(port).padEnd(10)} ${groups.toString(16).padStart(8, "0")} 0        0        0     2        0        420351  `;
const table = (...rows: string[]) => `${[HEADER, ...rows].join("\n")}\n`;

describe("group members from /proc/net/netlink", () => {
  it("finds another socket of the protocol in the group, and only that", () => {
    expect(groupHasMember(table(row(2, 4242, 0x2)), 2, OWN_PORT, GROUP_IWPM_MASK)).toBe(true);
    expect(groupHasMember(table(row(2, 4242, 0x6)), 2, OWN_PORT, GROUP_IWPM_MASK)).toBe(true);
    // Another group, another protocol, ourselves, the kernel: nobody to answer.
    expect(groupHasMember(table(row(2, 4242, 0x4)), 2, OWN_PORT, GROUP_IWPM_MASK)).toBe(false);
    expect(groupHasMember(table(row(20, 4242, 0x2)), 2, OWN_PORT, GROUP_IWPM_MASK)).toBe(false);
    expect(groupHasMember(table(row(2, OWN_PORT, 0x2)), 2, OWN_PORT, GROUP_IWPM_MASK)).toBe(false);
    expect(groupHasMember(table(row(2, 0, 0x2)), 2, OWN_PORT, GROUP_IWPM_MASK)).toBe(false);
    expect(groupHasMember(table(), 2, OWN_PORT, GROUP_IWPM_MASK)).toBe(false);
    // Ports above 2^31 (autobound) print as unsigned decimals.
    expect(groupHasMember(table(row(2, 0xfffff001, 0x2)), 2, 0xfffff000, GROUP_IWPM_MASK)).toBe(true);
    expect(groupHasMember(table(row(2, 0xfffff000, 0x2)), 2, 0xfffff000, GROUP_IWPM_MASK)).toBe(false);
  });

  it("says it cannot tell for a table it does not know", () => {
    expect(groupHasMember("", 2, OWN_PORT, GROUP_IWPM_MASK)).toBeUndefined();
    expect(groupHasMember("sk Eth Pid\n1 2 3\n", 2, OWN_PORT, GROUP_IWPM_MASK)).toBeUndefined();
    expect(groupHasMember(table(row(2, 4242, 0x2).replace("00000002", "zzzzzzzz")), 2, OWN_PORT, GROUP_IWPM_MASK)).toBeUndefined();
  });

  it("reads this machine's table", async () => {
    const { readFileSync } = await import("node:fs");
    const text = readFileSync("/proc/net/netlink", "utf8");
    expect(groupHasMember(text, 2, OWN_PORT, GROUP_IWPM_MASK)).toBeTypeOf("boolean");
  });
});

describe("registerPid with no port mapper", () => {
  it("fails at once with DAEMON_UNAVAILABLE when the host sees nobody in the group, sending nothing", async () => {
    const asked: number[] = [];
    const h = await harness({}, undefined, (mask) => {
      asked.push(mask);
      return false;
    });
    const err = await rejection(h.client.registerPid(DEV));
    expect(err.code).toBe("DAEMON_UNAVAILABLE");
    expect(err.message).toMatch(/start iwpmd/);
    expect(asked).toEqual([GROUP_IWPM_MASK]);
    expect(h.sent()).toEqual([]);
    expect(h.client.stats().pending).toBe(0);
    expect(h.client.registration()).toBe("UNDEF");
  });

  it("multicasts REG_PID when the host sees a member, or cannot tell", async () => {
    for (const seen of [true, undefined]) {
      const h = await harness({}, undefined, () => seen);
      const pending = h.client.registerPid(DEV);
      const req = h.sentOne();
      expect(req).toMatchObject({ port: 0, groups: GROUP_IWPM_MASK });
      h.deliver(h.daemon.regPidReply(req.msg.seq, DEV.devName));
      await expect(pending).resolves.toEqual({ registered: true, abiVersion: 4 });
    }
  });

  it("keeps the timeout where the host cannot see the group", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const h = await harness({ timeoutMs: 2000 }, dateClock);
    const pending = rejection(h.client.registerPid(DEV));
    expect(h.sentOne()).toMatchObject({ port: 0, groups: GROUP_IWPM_MASK });
    await vi.advanceTimersByTimeAsync(2000);
    expect((await pending).code).toBe("TIMEOUT");
  });

  it("asks nothing once a daemon is known: the request goes to it", async () => {
    let asked = 0;
    const h = await harness({}, undefined, () => {
      asked++;
      return false;
    });
    h.deliver(h.daemon.hello(4));
    h.sent();
    const pending = h.client.registerPid(DEV);
    const req = h.sentOne();
    expect(req.port).toBe(h.daemon.port);
    h.deliver(h.daemon.regPidReply(req.msg.seq, DEV.devName));
    await expect(pending).resolves.toEqual({ registered: true, abiVersion: 4 });
    expect(asked).toBe(0);
  });
});

describe("a daemon that goes away", () => {
  it("fails every pending call with DAEMON_GONE once a probe of its port is refused", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const h = await registered({ livenessMs: 100 }, dateClock);
    const calls = [h.client.addMapping("10.0.0.1:5555"), h.client.addAndQueryMapping("10.0.0.1:6000", "10.0.0.2:7000")].map((p) =>
      rejection(p),
    );
    h.sent();
    // The first probe finds the port held: the calls keep waiting.
    await vi.advanceTimersByTimeAsync(100);
    expect(h.sent().map((d) => d.port)).toEqual([h.daemon.port]);
    expect(h.client.stats().pending).toBe(2);
    h.socket.gone.add(h.daemon.port);
    await vi.advanceTimersByTimeAsync(100);
    for (const err of await Promise.all(calls)) {
      expect(err.code).toBe("DAEMON_GONE");
      expect(err.message).toMatch(/restart iwpmd/);
    }
    expect(h.client.validPid()).toBe(false);
    expect(h.client.stats().pending).toBe(0);
  });

  it("rejects a livenessMs that is not a whole number of ms", async () => {
    for (const livenessMs of [-1, 1.5, Number.NaN, "250"]) {
      await expect(harness({ livenessMs } as never)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    }
  });
});
