import { describe, expect, it } from "vitest";
import { instantiateCore, TRUST_ANY, TRUST_HOST, TRUST_UID } from "../../src/core/core.js";
import { type Credentials, createShim, SocketMap } from "../../src/host/shim.js";
import { type ClientTestExports, FakeClock, FakeSocket, ROOT_CREDS, type TestCore, testCoreModule } from "../support/core.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";

// The trust policy, driven through the socket path as a real socket delivers datagrams: each with
// the sender's kernel-attested credentials. A forger is any process whose credentials fail it.

const NOBODY: Credentials = { pid: 777, uid: 65534, gid: 65534 };
const DAEMON = 1234;
const FORGER = 9999;
const INFO = {
  local: v4("10.0.0.1", 5555),
  remote: v4("10.0.0.2", 6000),
  mappedLocal: v4("10.0.0.1", 40000),
  mappedRemote: v4("10.0.0.2", 41000),
};

async function client(opts: { trustSender?: (c: Credentials) => boolean } = {}) {
  const socket = new FakeSocket();
  const shim = createShim({
    sockets: new SocketMap([[3, socket]]),
    clock: new FakeClock(),
    random: (b) => b.fill(7),
    log: () => {},
    ...opts,
  });
  const core = await instantiateCore<ClientTestExports>(testCoreModule(), shim);
  const x = core.exports;
  x.setSocket(3);
  x.setPort(4321);
  x.init(2);
  const deliver = (bytes: Uint8Array, port: number, creds?: Credentials) => {
    socket.inbox.push(creds === undefined ? { bytes, port, groups: 0, creds: ROOT_CREDS } : { bytes, port, groups: 0, creds });
    x.poll();
  };
  const deliverBare = (bytes: Uint8Array, port: number) => {
    const d = { bytes, port, groups: 0 };
    Object.defineProperty(d, "creds", { value: undefined, enumerable: true });
    socket.inbox.push(d);
    x.poll();
  };
  return { core, x, socket, deliver, deliverBare };
}

function registered(core: TestCore, deliver: (b: Uint8Array, p: number) => void): FakeDaemon {
  const daemon = new FakeDaemon(DAEMON);
  core.writeNames("siw0", "lo");
  const seq = core.exports.registerPid(2);
  deliver(daemon.regPidReply(seq, "siw0"), DAEMON);
  core.drainEvents();
  return daemon;
}

describe("the default policy (root only) against an unprivileged forger", () => {
  it("ignores a forged HELLO, MAPINFO request, ADD reply, HANDLE_ERR and REMOTE_INFO, counting each", async () => {
    const { core, x, socket, deliver } = await client();
    const forger = new FakeDaemon(FORGER);
    // Before any daemon is known: REMOTE_INFO and HELLO from the forger are not stored or adopted.
    deliver(forger.remoteInfo(INFO), FORGER, NOBODY);
    deliver(forger.hello(4), FORGER, NOBODY);
    expect(x.remoteInfoSize()).toBe(0);
    expect(x.validPid()).toBe(0);

    registered(core, deliver);
    core.writeAddr(0, v4("10.0.0.1", 5555));
    const seq = x.addMapping(2, 0);
    expect(seq).toBeGreaterThan(0);
    socket.take();
    deliver(forger.hello(4), FORGER, NOBODY);
    deliver(forger.mapinfoRequest(4), FORGER, NOBODY);
    deliver(forger.addReply(seq, v4("10.0.0.1", 5555), v4("6.6.6.6", 6666)), FORGER, NOBODY);
    deliver(forger.handleErr(seq, 12), FORGER, NOBODY);
    deliver(forger.remoteInfo(INFO), FORGER, NOBODY);
    expect(core.drainEvents()).toEqual([]);
    expect(socket.take()).toEqual([]); // no HELLO answered, no mapinfo sent to the forger
    expect(core.daemonPid()).toBe(DAEMON);
    expect(x.remoteInfoSize()).toBe(0);
    expect(x.requestCount()).toBe(1);
    expect(core.stats().drops).toEqual({ 130: 7 });

    // The real daemon's reply still settles the request.
    deliver(new FakeDaemon(DAEMON).addReply(seq, v4("10.0.0.1", 5555), v4("10.0.0.1", 40000)), DAEMON);
    expect(core.drainEvents()).toMatchObject([{ kind: "requestDone", seq, status: 0 }]);
  });

  it("drops what comes without credentials, and takes the kernel's port 0 without them", async () => {
    const { core, x, deliverBare } = await client();
    deliverBare(new FakeDaemon(DAEMON).hello(4), DAEMON);
    expect(x.validPid()).toBe(0);
    expect(core.stats().drops).toEqual({ 131: 1 });
  });

  it("takes a daemon of another uid when told that uid", async () => {
    const { core, x, deliver } = await client();
    x.setTrust(TRUST_UID, 65534);
    deliver(new FakeDaemon(FORGER).hello(4), FORGER, NOBODY);
    expect(core.daemonPid()).toBe(FORGER);
    deliver(new FakeDaemon(DAEMON).remoteInfo(INFO), DAEMON); // root is not that uid
    expect(x.remoteInfoSize()).toBe(0);
    expect(core.stats().drops).toEqual({ 130: 1 });
  });
});

describe("other policies", () => {
  it("'any' takes every sender and counts those nobody attested", async () => {
    const { core, x, deliver, deliverBare } = await client();
    expect(x.setTrust(TRUST_ANY, 0)).toBe(0);
    deliver(new FakeDaemon(FORGER).hello(4), FORGER, NOBODY);
    expect(core.daemonPid()).toBe(FORGER);
    deliverBare(new FakeDaemon(FORGER).remoteInfo(INFO), FORGER);
    expect(x.remoteInfoSize()).toBe(1);
    expect(x.unverifiedCount()).toBe(1);
  });

  it("the host's check decides per sender", async () => {
    const asked: Credentials[] = [];
    const { core, x, deliver } = await client({
      trustSender: (c) => {
        asked.push(c);
        return c.gid === 4242;
      },
    });
    expect(x.setTrust(TRUST_HOST, 0)).toBe(0);
    deliver(new FakeDaemon(FORGER).hello(4), FORGER, NOBODY);
    expect(x.validPid()).toBe(0);
    deliver(new FakeDaemon(DAEMON).hello(4), DAEMON, { pid: 5, uid: 1000, gid: 4242 });
    expect(core.daemonPid()).toBe(DAEMON);
    expect(asked).toEqual([NOBODY, { pid: 5, uid: 1000, gid: 4242 }]);
    expect(x.setTrust(3, 0)).toBe(-122);
  });
});

describe("a daemon at a new port", () => {
  it("is taken only once the known daemon's port is refused", async () => {
    const { core, socket, deliver } = await client();
    registered(core, deliver);
    const next = new FakeDaemon(2345);
    deliver(next.mapinfoRequest(4), next.port);
    expect(core.daemonPid()).toBe(DAEMON);
    expect(core.stats().drops).toEqual({ 132: 1 });
    socket.gone.add(DAEMON);
    deliver(next.mapinfoRequest(4), next.port);
    expect(core.daemonPid()).toBe(next.port);
  });
});
