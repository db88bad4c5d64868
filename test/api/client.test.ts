// PortMapperClient over the real core, with a fake transport (test/api/harness.ts).

import { constants } from "node:os";
import { afterEach, describe, expect, it, vi } from "vitest";
import { IWPM_FLAGS_NO_PORT_MAP } from "../../src/api/constants.js";
import { Errno } from "../../src/core/errno.js";
import { v4, v6 } from "../support/fake-daemon.js";
import { concat, type ParsedMessage, rdma, str, u16, u32 } from "../support/nl.js";
import { closeClients, DEV, dateClock, GROUP_IWPM_MASK, harness, OWN_PORT, registered, rejection, thrown } from "./harness.js";

afterEach(async () => {
  vi.useRealTimers();
  await closeClients();
});

describe("PortMapperClient registration", () => {
  it("multicasts REG_PID with its port and becomes VALID on the reply", async () => {
    const h = await harness();
    expect(h.client.validPid()).toBe(false);
    expect(h.client.daemonPid()).toBeNull();
    expect(h.client.abiVersion()).toBe(3);
    expect(h.client.registration()).toBe("UNDEF");

    const pending = h.client.registerPid(DEV);
    const req = h.sentOne();
    expect(req.port).toBe(0);
    expect(req.groups).toBe(GROUP_IWPM_MASK);
    expect(req.msg.type).toBe(rdma(2, 0));
    expect(req.msg.pid).toBe(OWN_PORT);
    expect(str(req.msg.attrs.get(2))).toBe("lo");
    expect(str(req.msg.attrs.get(3))).toBe("siw0");
    expect(str(req.msg.attrs.get(4))).toBe("iWarpPortMapperUser");

    h.deliver(h.daemon.regPidReply(req.msg.seq, "siw0"));
    await expect(pending).resolves.toEqual({ registered: true, abiVersion: 4 });
    expect(h.client.validPid()).toBe(true);
    expect(h.client.daemonPid()).toBe(h.daemon.port);
    expect(h.client.abiVersion()).toBe(4);
    expect(h.client.registration()).toBe("VALID");

    // Already VALID: resolved at once, nothing sent.
    await expect(h.client.registerPid(DEV)).resolves.toEqual({ registered: true, abiVersion: 4 });
    expect(h.sent()).toEqual([]);
  });

  it("takes the daemon's version from the reply, and a v3-only client accepts only 3", async () => {
    const h = await harness();
    const p = h.client.registerPid(DEV);
    h.deliver(h.daemon.regPidReply(h.sentOne().msg.seq, "siw0", { version: 3 }));
    await expect(p).resolves.toEqual({ registered: true, abiVersion: 3 });

    const h3 = await harness({ abiVersion: 3 });
    const p3 = h3.client.registerPid(DEV);
    h3.deliver(h3.daemon.regPidReply(h3.sentOne().msg.seq, "siw0", { version: 4 }));
    const err = await rejection(p3);
    expect(err.code).toBe("MISMATCH");
    expect(err.status).toBe(15);
  });

  it("rejects a reply for another device with MISMATCH", async () => {
    const h = await harness();
    const p = h.client.registerPid(DEV);
    h.deliver(h.daemon.regPidReply(h.sentOne().msg.seq, "mlx0"));
    const err = await rejection(p);
    expect(err.code).toBe("MISMATCH");
    expect(err.message).toContain("IWPM_USER_LIB_INFO_ERR");
    expect(h.client.validPid()).toBe(false);
  });

  it("after a failed REG_PID send the pid is unavailable: registerPid resolves registered false until a daemon announces itself", async () => {
    const h = await harness();
    h.socket.failWith = Errno.ECONNREFUSED;
    const err = await rejection(h.client.registerPid(DEV));
    expect(err.code).toBe("SEND_FAILED");
    // Shown in Linux numbering (os.constants), not as the core's WASI ones.
    expect(err.errno).toBe(constants.errno.ECONNREFUSED);
    expect(err.syscall).toBe("sendto");
    expect(err.message).toContain(`ECONNREFUSED, errno ${constants.errno.ECONNREFUSED}`);
    h.socket.failWith = 0;

    await expect(h.client.registerPid(DEV)).resolves.toEqual({ registered: false, abiVersion: 3 });
    expect(h.sent()).toEqual([]);

    // HELLO announces a daemon: the client answers, and registering works again.
    h.deliver(h.daemon.hello(4));
    expect(h.sentOne().msg.type).toBe(rdma(2, 8));
    expect(h.client.registration()).toBe("INCOMPL");
    const p = h.client.registerPid(DEV);
    h.deliver(h.daemon.regPidReply(h.sentOne().msg.seq, "siw0"));
    await expect(p).resolves.toEqual({ registered: true, abiVersion: 4 });
  });

  it("validates names and client indexes", async () => {
    const h = await harness();
    expect((await rejection(h.client.registerPid({ devName: "", ifName: "lo" }))).code).toBe("INVALID_ARGUMENT");
    expect((await rejection(h.client.registerPid({ devName: "d".repeat(32), ifName: "lo" }))).code).toBe("INVALID_ARGUMENT");
    expect((await rejection(h.client.registerPid({ devName: "siw0", ifName: "i".repeat(16) }))).code).toBe("INVALID_ARGUMENT");
    expect((await rejection(h.client.registerPid(DEV, { nlClient: 64 }))).code).toBe("INVALID_ARGUMENT");
    expect((await rejection(h.client.registerPid(DEV, { nlClient: 5 }))).code).toBe("NOT_INITIALIZED");
    expect(h.sent()).toEqual([]);
  });
});

describe("PortMapperClient init and exit", () => {
  it("inits index 2 by default and refcounts indexes", async () => {
    const h = await harness({ init: [] });
    expect((await rejection(h.client.registerPid(DEV))).code).toBe("NOT_INITIALIZED");
    expect(thrown(() => h.client.exit()).code).toBe("NOT_INITIALIZED");
    h.client.init();
    h.client.init(2);
    h.client.exit(2);
    expect(h.client.registration()).toBe("UNDEF");
    h.client.exit(2);
    expect(thrown(() => h.client.exit(2)).code).toBe("NOT_INITIALIZED");
    expect(thrown(() => h.client.init(64)).code).toBe("INVALID_ARGUMENT");
    expect(thrown(() => h.client.init(-1)).code).toBe("INVALID_ARGUMENT");
  });

  it("the last exit fails that index's pending requests", async () => {
    const h = await registered();
    const p = h.client.addMapping("127.0.0.1:5555");
    h.client.exit();
    const err = await rejection(p);
    expect(err.code).toBe("CLOSED");
    expect(err.message).toContain("CLIENT_EXITED");
  });
});

describe("PortMapperClient mappings", () => {
  it("addMapping sends ADD with flags to the daemon and resolves the mapped address", async () => {
    const h = await registered();
    const p = h.client.addMapping("127.0.0.1:5555");
    const req = h.sentOne();
    expect(req.port).toBe(h.daemon.port);
    expect(req.groups).toBe(0);
    expect(req.msg.type).toBe(rdma(2, 1));
    expect(u32(req.msg.attrs.get(3))).toBe(0);
    h.deliver(h.daemon.addReply(req.msg.seq, v4("127.0.0.1", 5555), v4("127.0.0.1", 40000)));
    await expect(p).resolves.toEqual({ local: v4("127.0.0.1", 5555), mappedLocal: v4("127.0.0.1", 40000) });
    expect(h.client.stats().pending).toBe(0);
  });

  it("noPortMap and flags set the FLAGS attribute", async () => {
    const h = await registered();
    const p = h.client.addMapping({ address: "::1", port: 7 }, { noPortMap: true });
    const req = h.sentOne();
    expect(u32(req.msg.attrs.get(3))).toBe(IWPM_FLAGS_NO_PORT_MAP);
    h.deliver(h.daemon.addReply(req.msg.seq, v6("::1", 7), v6("::1", 7)));
    await expect(p).resolves.toEqual({ local: v6("::1", 7), mappedLocal: v6("::1", 7) });
  });

  it("a flagged mapping needs ABI v4", async () => {
    const h = await harness();
    const p = h.client.registerPid(DEV);
    h.deliver(h.daemon.regPidReply(h.sentOne().msg.seq, "siw0", { version: 3 }));
    await p;
    expect((await rejection(h.client.addMapping("1.2.3.4:5", { noPortMap: true }))).code).toBe("INVALID_ARGUMENT");
    expect(h.sent()).toEqual([]);
  });

  it("addMapping without a daemon or registration rejects at once", async () => {
    const h = await harness();
    const noDaemon = await rejection(h.client.addMapping("127.0.0.1:1"));
    expect(noDaemon.code).toBe("DAEMON_UNAVAILABLE");
    expect(noDaemon.message).toContain("registerPid");
    h.deliver(h.daemon.hello(4));
    h.sent();
    expect((await rejection(h.client.addMapping("127.0.0.1:1"))).code).toBe("NOT_REGISTERED");
    expect((await rejection(h.client.addMapping("nonsense"))).code).toBe("INVALID_ARGUMENT");
    expect((await rejection(h.client.addMapping("1.2.3.4:5", { flags: -1 }))).code).toBe("INVALID_ARGUMENT");
    expect(h.sent()).toEqual([]);
  });

  it("a reply echoing another local address is a MISMATCH", async () => {
    const h = await registered();
    const p = h.client.addMapping("127.0.0.1:5555");
    h.deliver(h.daemon.addReply(h.sentOne().msg.seq, v4("127.0.0.1", 5556), v4("127.0.0.1", 40000)));
    expect((await rejection(p)).code).toBe("MISMATCH");
  });

  it("addAndQueryMapping resolves mapped local and remote; a peer reject is REMOTE_REJECTED", async () => {
    const h = await registered();
    const local = v4("10.0.0.1", 5555);
    const remote = v4("10.0.0.2", 6000);
    const p = h.client.addAndQueryMapping("10.0.0.1:5555", "10.0.0.2:6000");
    const req = h.sentOne();
    expect(req.msg.type).toBe(rdma(2, 2));
    const reply = { local, remote, mappedLocal: v4("10.0.0.1", 40000), mappedRemote: v4("10.0.0.2", 41000) };
    h.deliver(h.daemon.queryReply(req.msg.seq, reply));
    await expect(p).resolves.toEqual(reply);

    const rejected = h.client.addAndQueryMapping(local, remote);
    h.deliver(h.daemon.queryReply(h.sentOne().msg.seq, reply, 16));
    const err = await rejection(rejected);
    expect(err.code).toBe("REMOTE_REJECTED");
    expect(err.status).toBe(16);
  });

  it("removeMapping sends REMOVE and waits for nothing", async () => {
    const h = await registered();
    h.client.removeMapping("127.0.0.1:5555");
    const req = h.sentOne();
    expect(req.msg.type).toBe(rdma(2, 3));
    expect(req.port).toBe(h.daemon.port);
    expect(h.client.stats().pending).toBe(0);
    // Without a daemon there is nothing to release: no error, nothing sent.
    const fresh = await harness();
    fresh.client.removeMapping("127.0.0.1:5555");
    expect(fresh.sent()).toEqual([]);
    expect(thrown(() => fresh.client.removeMapping("127.0.0.1")).code).toBe("INVALID_ARGUMENT");
  });

  it("HANDLE_ERR fails exactly the request it names, with the daemon's code", async () => {
    const h = await registered();
    const a = h.client.addMapping("127.0.0.1:1000");
    const seqA = h.sentOne().msg.seq;
    const b = h.client.addMapping("127.0.0.1:1001");
    const seqB = h.sentOne().msg.seq;
    h.deliver(h.daemon.handleErr(seqA, 12));
    const err = await rejection(a);
    expect(err.code).toBe("REJECTED");
    expect(err.iwpmCode).toBe(12);
    expect(err.message).toContain("IWPM_DUPLICATE_MAPPING_ERR");
    expect(err.message).toContain("127.0.0.1:1000");
    h.deliver(h.daemon.addReply(seqB, v4("127.0.0.1", 1001), v4("127.0.0.1", 40001)));
    await expect(b).resolves.toMatchObject({ mappedLocal: v4("127.0.0.1", 40001) });
  });

  it("1,000 addMapping calls in flight all settle with their own mapped port", async () => {
    const h = await registered();
    const N = 1000;
    const calls = Array.from({ length: N }, (_, i) => h.client.addMapping(`127.0.0.1:${10_000 + i}`));
    const requests = h.sent().map((d) => d.msgs[0] as ParsedMessage);
    expect(requests).toHaveLength(N);
    expect(h.client.stats().pending).toBe(N);
    // Replies in reverse order, eight to a datagram, one in ten refused.
    const replies = requests.map((m, i) =>
      i % 10 === 7 ? h.daemon.handleErr(m.seq, 11) : h.daemon.addReply(m.seq, v4("127.0.0.1", 10_000 + i), v4("127.0.0.1", 30_000 + i)),
    );
    replies.reverse();
    for (let i = 0; i < N; i += 8) h.deliver(concat(...replies.slice(i, i + 8)));
    const results = await Promise.allSettled(calls);
    results.forEach((r, i) => {
      if (i % 10 === 7) {
        expect(r.status).toBe("rejected");
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: "REJECTED", iwpmCode: 11 });
      } else {
        expect(r).toEqual({ status: "fulfilled", value: { local: v4("127.0.0.1", 10_000 + i), mappedLocal: v4("127.0.0.1", 30_000 + i) } });
      }
    });
    expect(h.client.stats().pending).toBe(0);
  });

  it("times out with TIMEOUT after timeoutMs, one timer serving every request, none left once it fired with nothing pending", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const h = await registered({ timeoutMs: 2000 }, dateClock);
    // The registration's timer stays armed for the requests that follow.
    expect(vi.getTimerCount()).toBe(1);
    const p = h.client.addMapping("127.0.0.1:5555");
    const seq = h.sentOne().msg.seq;
    expect(vi.getTimerCount()).toBe(1);
    let settled = false;
    p.catch(() => {}).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(1999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await rejection(p);
    expect(err.code).toBe("TIMEOUT");
    expect(err.message).toContain("iwpmd");
    expect(vi.getTimerCount()).toBe(0);
    // The late reply is dropped and counted.
    h.deliver(h.daemon.addReply(seq, v4("127.0.0.1", 5555), v4("127.0.0.1", 1)));
    expect(h.client.stats().drops).toEqual({ LATE_RESPONSE: 1 });
  });

  it("times out for real with a short timeoutMs", async () => {
    const h = await harness({ timeoutMs: 50 });
    const started = Date.now();
    const err = await rejection(h.client.registerPid(DEV));
    expect(err.code).toBe("TIMEOUT");
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(h.client.validPid()).toBe(false);
  });

  it("a failed send fails its request in Linux errno numbering and forgets the daemon", async () => {
    const h = await registered();
    h.socket.failWith = Errno.ECONNREFUSED;
    const err = await rejection(h.client.addMapping("127.0.0.1:5555"));
    expect(err.code).toBe("SEND_FAILED");
    // Shown in Linux numbering (os.constants), not as the core's WASI ones.
    expect(err.errno).toBe(constants.errno.ECONNREFUSED);
    expect(err.message).toContain(`ECONNREFUSED, errno ${constants.errno.ECONNREFUSED}`);
    expect(h.client.validPid()).toBe(false);
  });
});

describe("PortMapperClient remote info and mapinfo", () => {
  const info = {
    local: v4("10.0.0.2", 6000),
    remote: v4("10.0.0.1", 5555),
    mappedLocal: v4("10.0.0.2", 41000),
    mappedRemote: v4("10.0.0.1", 40000),
  };

  it("emits remoteInfo, and getRemoteInfo returns the remote once, then null", async () => {
    const h = await registered();
    const seen: unknown[] = [];
    h.client.on("remoteInfo", (e) => seen.push(e));
    h.deliver(h.daemon.remoteInfo(info));
    expect(seen).toEqual([{ nlClient: 2, ...info }]);
    expect(h.client.stats().remoteInfo).toBe(1);
    expect(h.client.getRemoteInfo("10.0.0.2:41000", "10.0.0.1:40000")).toEqual(info.remote);
    expect(h.client.getRemoteInfo("10.0.0.2:41000", "10.0.0.1:40000")).toBeNull();
    expect(h.client.stats().remoteInfo).toBe(0);
  });

  it("a listener may call back into the client", async () => {
    const h = await registered();
    const got: unknown[] = [];
    h.client.on("remoteInfo", (e) => got.push(h.client.getRemoteInfo(e.mappedLocal, e.mappedRemote)));
    const second = { ...info, remote: v4("10.0.0.9", 1), mappedRemote: v4("10.0.0.9", 40009) };
    h.deliver(concat(h.daemon.remoteInfo(info), h.daemon.remoteInfo(second)));
    expect(got).toEqual([info.remote, second.remote]);
  });

  it("once and off", async () => {
    const h = await registered();
    const a: number[] = [];
    const b: number[] = [];
    const listener = () => b.push(1);
    h.client.once("remoteInfo", () => a.push(1));
    h.client.on("remoteInfo", listener);
    h.deliver(h.daemon.remoteInfo(info));
    h.client.off("remoteInfo", listener);
    h.deliver(h.daemon.remoteInfo(info));
    expect(a).toEqual([1]);
    expect(b).toEqual([1]);
    expect(h.client.listenerCount("remoteInfo")).toBe(0);
  });

  it("keeps mapinfo records, replays them on a MAPINFO request, and reports the ack", async () => {
    const h = await harness();
    h.client.createMapinfo("127.0.0.1:1", "127.0.0.1:40001");
    h.client.createMapinfo("[::1]:2", "[::1]:2", { noPortMap: true });
    h.client.createMapinfo("127.0.0.1:3", "127.0.0.1:40003");
    expect(h.client.mapinfo()).toEqual([
      { nlClient: 2, local: v4("127.0.0.1", 1), mapped: v4("127.0.0.1", 40001), flags: 0 },
      { nlClient: 2, local: v6("::1", 2), mapped: v6("::1", 2), flags: 1 },
      { nlClient: 2, local: v4("127.0.0.1", 3), mapped: v4("127.0.0.1", 40003), flags: 0 },
    ]);
    expect(h.client.removeMapinfo("127.0.0.1:3", "127.0.0.1:40003")).toBe(true);
    expect(h.client.removeMapinfo("127.0.0.1:3", "127.0.0.1:40003")).toBe(false);

    const events: [string, unknown][] = [];
    for (const kind of ["daemonHello", "mapinfoRequest", "mapinfoResent", "mapinfoAck"] as const) {
      h.client.on(kind, (e) => events.push([kind, e]));
    }
    h.deliver(h.daemon.hello(4));
    const hello = h.sentOne();
    expect(hello.msg.type).toBe(rdma(2, 8));
    expect(u16(hello.msg.attrs.get(1))).toBe(4);
    h.deliver(h.daemon.mapinfoRequest(4));
    const out = h.sent();
    const msgs = out.flatMap((d) => d.msgs);
    expect(msgs.filter((m) => m.type === rdma(2, 6))).toHaveLength(2);
    const num = msgs.find((m) => m.type === rdma(2, 7)) as ParsedMessage;
    expect(u32(num.attrs.get(2))).toBe(2);
    h.deliver(h.daemon.mapinfoAck(num.seq, 2, 2));
    expect(events).toEqual([
      ["daemonHello", { nlClient: 2, version: 4, offered: 4, port: 1234, answeredAsV3: false, status: 0 }],
      ["mapinfoRequest", { nlClient: 2, port: 1234, version: 4 }],
      ["mapinfoResent", { nlClient: 2, records: 2, datagrams: 1, status: 0, port: 1234 }],
      ["mapinfoAck", { nlClient: 2, sent: 2, acked: 2, port: 1234 }],
    ]);
    expect(h.client.daemonPid()).toBe(1234);
    expect(h.client.registration()).toBe("INCOMPL");
  });

  it("reports a request-less HANDLE_ERR as mappingError", async () => {
    const h = await registered();
    const seen: unknown[] = [];
    h.client.on("mappingError", (e) => seen.push(e));
    h.deliver(h.daemon.handleErr(0, 12));
    expect(seen).toEqual([{ nlClient: 2, code: 12, name: "IWPM_DUPLICATE_MAPPING_ERR", port: 1234 }]);
  });

  it("a throwing listener neither stops the client nor the other listeners", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const h = await registered();
    const seen: number[] = [];
    h.client.on("remoteInfo", () => {
      throw new Error("listener bug");
    });
    h.client.on("remoteInfo", () => seen.push(1));
    h.deliver(h.daemon.remoteInfo(info));
    expect(seen).toEqual([1]);
    expect(() => vi.runOnlyPendingTimers()).toThrow("listener bug");
  });
});

describe("PortMapperClient close", () => {
  it("rejects pending requests with CLOSED, closes the transport, and refuses further calls", async () => {
    const h = await registered();
    const a = h.client.addMapping("127.0.0.1:1");
    const b = h.client.addAndQueryMapping("127.0.0.1:2", "127.0.0.2:3");
    await h.client.close();
    for (const p of [a, b]) {
      const err = await rejection(p);
      expect(err.code).toBe("CLOSED");
    }
    expect(h.transport.closed).toBe(true);
    expect(h.client.isClosed).toBe(true);
    expect((await rejection(h.client.addMapping("127.0.0.1:1"))).code).toBe("CLOSED");
    expect(thrown(() => h.client.removeMapping("127.0.0.1:1")).code).toBe("CLOSED");
    await h.client.close();
  });

  it("ref and unref reach the transport", async () => {
    const h = await harness();
    h.client.unref().ref();
    expect(h.transport.refs).toEqual(["unref", "ref"]);
  });
});
