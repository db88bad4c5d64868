// The client's sharp edges, removed: coalesced registration, mixed families refused at once,
// removeMapinfo by (local, mapped), Linux errnos, messages without the code, Node's events
// helpers with a signal, per-call signal and timeout, late replies told from strays at scale.

import { on, once } from "node:events";
import { constants } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RemoteInfoEvent } from "../../src/api/client.js";
import { Errno } from "../../src/core/errno.js";
import { IwpmError } from "../../src/core/errors.js";
import { v4, v6 } from "../support/fake-daemon.js";
import { concat, type ParsedMessage } from "../support/nl.js";
import { closeClients, DEV, dateClock, harness, registered, rejection } from "./harness.js";

afterEach(async () => {
  vi.useRealTimers();
  await closeClients();
});

const info = {
  local: v4("10.0.0.2", 6000),
  remote: v4("10.0.0.1", 5555),
  mappedLocal: v4("10.0.0.2", 41000),
  mappedRemote: v4("10.0.0.1", 40000),
};

describe("registerPid coalescing", () => {
  it("100,000 concurrent calls send one REG_PID and all share its outcome", async () => {
    const h = await harness();
    const N = 100_000;
    const calls = Array.from({ length: N }, () => h.client.registerPid(DEV));
    const req = h.sentOne();
    expect(h.client.stats().pending).toBe(1);
    h.deliver(h.daemon.regPidReply(req.msg.seq, DEV.devName));
    const results = await Promise.all(calls);
    expect(new Set(results.map((r) => JSON.stringify(r)))).toEqual(new Set([JSON.stringify({ registered: true, abiVersion: 4 })]));
    // VALID now: the next call answers at once and sends nothing.
    await expect(h.client.registerPid(DEV)).resolves.toEqual({ registered: true, abiVersion: 4 });
    expect(h.sent()).toHaveLength(0);
  });

  it("a shared failure reaches every caller, and the next call sends a new REG_PID", async () => {
    const h = await harness();
    const calls = Array.from({ length: 3 }, () => h.client.registerPid(DEV));
    const first = h.sentOne();
    h.deliver(h.daemon.handleErr(first.msg.seq, 14));
    for (const c of calls) expect(await rejection(c)).toMatchObject({ code: "REJECTED", iwpmCode: 14 });
    const again = h.client.registerPid(DEV);
    const second = h.sentOne();
    expect(second.msg.seq).not.toBe(first.msg.seq);
    h.deliver(h.daemon.regPidReply(second.msg.seq, DEV.devName));
    await expect(again).resolves.toMatchObject({ registered: true });
  });

  it("indexes are registered apart", async () => {
    const h = await harness({ init: [2, 3] });
    const a = h.client.registerPid(DEV);
    const b = h.client.registerPid(DEV, { nlClient: 3 });
    const sent = h.sent();
    expect(sent).toHaveLength(2);
    for (const d of sent) h.deliver(h.daemon.regPidReply((d.msgs[0] as ParsedMessage).seq, DEV.devName));
    await expect(Promise.all([a, b])).resolves.toHaveLength(2);
  });
});

describe("addAndQueryMapping with mixed families", () => {
  it("is refused at once with INVALID_ARGUMENT, nothing sent", async () => {
    const h = await registered();
    for (const [local, remote] of [
      ["10.0.0.1:1", "[::1]:2"],
      ["[fd00::1]:1", "10.0.0.2:2"],
      ["[::ffff:10.0.0.1]:1", "10.0.0.2:2"],
    ] as const) {
      const err = await rejection(h.client.addAndQueryMapping(local, remote));
      expect(err.code).toBe("INVALID_ARGUMENT");
      expect(err.message).toMatch(/both be IPv4 or both IPv6/);
    }
    expect(h.sent()).toHaveLength(0);
    expect(h.client.stats().pending).toBe(0);
  });
});

describe("removeMapinfo(local, mapped)", () => {
  it("removes the record of that local address even when a newer record shares the mapped address", async () => {
    const h = await harness();
    h.client.createMapinfo("10.0.0.1:1", "10.0.0.9:9");
    h.client.createMapinfo("10.0.0.2:2", "10.0.0.9:9");
    h.client.createMapinfo("10.0.0.3:3", "10.0.0.8:8");
    expect(h.client.removeMapinfo("10.0.0.1:1", "10.0.0.9:9")).toBe(true);
    expect(h.client.mapinfo().map((r) => r.local.port)).toEqual([2, 3]);
    // A local address that was never recorded with this mapped address removes nothing.
    expect(h.client.removeMapinfo("10.0.0.3:3", "10.0.0.9:9")).toBe(false);
    expect(h.client.removeMapinfo("10.0.0.2:2", "10.0.0.8:8")).toBe(false);
    expect(h.client.mapinfo().map((r) => r.local.port)).toEqual([2, 3]);
  });

  it("among duplicates of the pair removes the newest first", async () => {
    const h = await harness();
    h.client.createMapinfo("[fd00::1]:1", "[fd00::9]:9", { flags: 1 });
    h.client.createMapinfo("[fd00::1]:1", "[fd00::9]:9", { flags: 2 });
    expect(h.client.removeMapinfo("[fd00::1]:1", "[fd00::9]:9")).toBe(true);
    expect(h.client.mapinfo()).toMatchObject([{ local: v6("fd00::1", 1), flags: 1 }]);
    expect(h.client.removeMapinfo("[fd00::1]:1", "[fd00::9]:9")).toBe(true);
    expect(h.client.removeMapinfo("[fd00::1]:1", "[fd00::9]:9")).toBe(false);
  });
});

describe("errors", () => {
  it("a send failure carries the Linux errno and syscall; its message names both and not the code", async () => {
    const h = await harness();
    h.socket.failWith = Errno.ECONNREFUSED;
    const err = await rejection(h.client.registerPid(DEV));
    expect(err).toMatchObject({ code: "SEND_FAILED", errno: constants.errno.ECONNREFUSED, syscall: "sendto" });
    expect(err.message).toContain(`ECONNREFUSED, errno ${constants.errno.ECONNREFUSED}`);
    expect(err.message).not.toMatch(/SEND_FAILED/);
  });

  it("a timeout says what happened and what to do, without the code", async () => {
    const h = await harness({ timeoutMs: 20 });
    const err = await rejection(h.client.registerPid(DEV));
    expect(err.code).toBe("TIMEOUT");
    expect(err.message).toMatch(/^registerPid\("siw0", "lo"\): no reply from the port mapper in time; check that iwpmd/);
    expect(err.message).not.toMatch(/TIMEOUT/);
  });
});

describe("Node's events helpers", () => {
  it("events.once resolves with the event, and an abort rejects it and leaves no listener", async () => {
    const h = await registered();
    const got = once(h.client, "remoteInfo");
    h.deliver(h.daemon.remoteInfo(info));
    expect(await got).toEqual([{ nlClient: 2, ...info }]);

    const ac = new AbortController();
    const waiting = once(h.client, "remoteInfo", { signal: ac.signal });
    expect(h.client.listenerCount("remoteInfo")).toBe(1);
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ name: "AbortError" });
    expect(h.client.listenerCount("remoteInfo")).toBe(0);
    expect(h.client.listenerCount("error")).toBe(0);
  });

  it("events.on yields each event until aborted, then removes its listeners", async () => {
    const h = await registered();
    const ac = new AbortController();
    const seen: RemoteInfoEvent[] = [];
    const loop = (async () => {
      for await (const [e] of on(h.client, "remoteInfo", { signal: ac.signal })) {
        seen.push(e as RemoteInfoEvent);
        if (seen.length === 2) ac.abort();
      }
    })();
    const second = { ...info, remote: v4("10.0.0.7", 7), mappedRemote: v4("10.0.0.7", 40007) };
    h.deliver(concat(h.daemon.remoteInfo(info), h.daemon.remoteInfo(second)));
    await expect(loop).rejects.toMatchObject({ name: "AbortError" });
    expect(seen.map((e) => e.remote)).toEqual([info.remote, second.remote]);
    expect(h.client.eventNames()).toEqual([]);
  });

  it("listener bookkeeping follows Node's: prepend, rawListeners, removeAllListeners", async () => {
    const h = await harness();
    const order: string[] = [];
    const a = () => order.push("a");
    h.client.on("mappingError", a);
    h.client.prependOnceListener("mappingError", () => order.push("first"));
    expect(h.client.listeners("mappingError")).toHaveLength(2);
    expect(h.client.rawListeners("mappingError")[0]).not.toBe(a);
    expect(h.client.emit("mappingError", { nlClient: 2, code: 11, name: "x", port: 1 })).toBe(true);
    expect(h.client.emit("mappingError", { nlClient: 2, code: 11, name: "x", port: 1 })).toBe(true);
    expect(order).toEqual(["first", "a", "a"]);
    h.client.removeAllListeners();
    expect(h.client.emit("mappingError", { nlClient: 2, code: 11, name: "x", port: 1 })).toBe(false);
  });
});

describe("signal and timeoutMs per call", () => {
  it("an aborted signal rejects at once with ABORTED and sends nothing", async () => {
    const h = await registered();
    const signal = AbortSignal.abort(new Error("user gave up"));
    const err = await rejection(h.client.addMapping("127.0.0.1:1", { signal }));
    expect(err.code).toBe("ABORTED");
    expect((err.cause as Error).message).toBe("user gave up");
    expect(h.sent()).toHaveLength(0);
  });

  it("an abort while waiting rejects with ABORTED; the reply that follows is ignored and counted", async () => {
    const h = await registered();
    const ac = new AbortController();
    const p = h.client.addMapping("127.0.0.1:1", { signal: ac.signal });
    const other = h.client.addMapping("127.0.0.1:2");
    const [a, b] = h.sent().map((d) => (d.msgs[0] as ParsedMessage).seq);
    ac.abort();
    expect((await rejection(p)).code).toBe("ABORTED");
    h.deliver(
      concat(
        h.daemon.addReply(a as number, v4("127.0.0.1", 1), v4("127.0.0.1", 9)),
        h.daemon.addReply(b as number, v4("127.0.0.1", 2), v4("127.0.0.1", 8)),
      ),
    );
    await expect(other).resolves.toMatchObject({ mappedLocal: v4("127.0.0.1", 8) });
    expect(h.client.stats()).toMatchObject({ abortedReplies: 1, pending: 0, drops: {} });
  });

  it("one caller's abort leaves a shared registration to the others", async () => {
    const h = await harness();
    const ac = new AbortController();
    const leaving = h.client.registerPid(DEV, { signal: ac.signal });
    const staying = h.client.registerPid(DEV);
    const req = h.sentOne();
    ac.abort();
    expect((await rejection(leaving)).code).toBe("ABORTED");
    h.deliver(h.daemon.regPidReply(req.msg.seq, DEV.devName));
    await expect(staying).resolves.toEqual({ registered: true, abiVersion: 4 });
    expect(h.client.stats().abortedReplies).toBe(0);
  });

  it("when every caller of a shared registration aborts, its reply is ignored and counted", async () => {
    const h = await harness();
    const first = new AbortController();
    const second = new AbortController();
    const a = h.client.registerPid(DEV, { signal: first.signal });
    const b = h.client.registerPid(DEV, { signal: second.signal });
    const req = h.sentOne();
    first.abort();
    expect(h.client.stats().pending).toBe(1);
    second.abort();
    expect(h.client.stats().pending).toBe(0);
    for (const p of [a, b]) expect((await rejection(p)).code).toBe("ABORTED");
    h.deliver(h.daemon.regPidReply(req.msg.seq, DEV.devName));
    expect(h.client.stats()).toMatchObject({ abortedReplies: 1, pending: 0 });
  });

  it("a shared registration's failure and close name its first caller", async () => {
    const h = await harness();
    const other = { devName: "siw9", ifName: "eth9" };
    const failed = [h.client.registerPid(DEV), h.client.registerPid(other)];
    h.deliver(h.daemon.handleErr(h.sentOne().msg.seq, 14));
    for (const p of failed) expect((await rejection(p)).message).toContain(`registerPid("${DEV.devName}", "${DEV.ifName}")`);
    const closed = [h.client.registerPid(other), h.client.registerPid(DEV)];
    h.sentOne();
    await h.client.close();
    for (const p of closed) {
      const err = await rejection(p);
      expect(err.code).toBe("CLOSED");
      expect(err.message).toContain(`registerPid("${other.devName}", "${other.ifName}")`);
    }
  });

  it("timeoutMs bounds one call; the others keep the client's timeout", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const h = await registered({ timeoutMs: 5000 }, dateClock);
    const short = h.client.addMapping("127.0.0.1:1", { timeoutMs: 100 });
    const long = h.client.addMapping("127.0.0.1:2");
    const later = h.client.addMapping("127.0.0.1:3");
    short.catch(() => {});
    long.catch(() => {});
    later.catch(() => {});
    await vi.advanceTimersByTimeAsync(100);
    expect((await rejection(short)).code).toBe("TIMEOUT");
    expect(h.client.stats().pending).toBe(2);
    await vi.advanceTimersByTimeAsync(4900);
    expect((await rejection(long)).code).toBe("TIMEOUT");
    expect((await rejection(later)).code).toBe("TIMEOUT");
  });
});

describe("late replies at scale", () => {
  it("10,000 requests time out; every late reply is LATE_RESPONSE, none STRAY_SEQ", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const h = await registered({ timeoutMs: 1000 }, dateClock);
    const N = 10_000;
    const calls = Array.from({ length: N }, (_, i) => h.client.addMapping(`127.0.0.1:${10_000 + i}`).catch((e: unknown) => e));
    const seqs = h.sent().map((d) => (d.msgs[0] as ParsedMessage).seq);
    expect(seqs).toHaveLength(N);
    await vi.advanceTimersByTimeAsync(1000);
    const outcomes = await Promise.all(calls);
    expect(outcomes.every((e) => e instanceof IwpmError && e.code === "TIMEOUT")).toBe(true);
    const replies = seqs.map((seq, i) => h.daemon.addReply(seq, v4("127.0.0.1", 10_000 + i), v4("127.0.0.1", 30_000 + (i % 30_000))));
    for (let i = 0; i < N; i += 16) h.deliver(concat(...replies.slice(i, i + 16)));
    expect(h.client.stats().drops).toEqual({ LATE_RESPONSE: N });
  });
});

describe("IwpmError for a bad listener", () => {
  it("on() with something that is not a function", async () => {
    const h = await harness();
    expect(() => h.client.on("remoteInfo", null as never)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
