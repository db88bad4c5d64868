// A capture made by the real core (fake socket, fake clock) under a CaptureTap: a scripted
// daemon's messages go in through the socket, the core's answers come out through it, and the
// tap writes both to a pcap in memory. Used by the decoder, replay, CLI and page tests.

import { NetlinkPcapWriter } from "../../src/capture/pcap.js";
import { CaptureTap, pcapRecorder } from "../../src/capture/tap.js";
import { instantiateCore } from "../../src/core/core.js";
import { createShim, SocketMap } from "../../src/host/shim.js";
import { coreModule, FakeClock, FakeSocket, SOCKET_FD } from "../support/core.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";

export const CLIENT_PORT = 4321;
export const DAEMON_1 = 1234;
export const DAEMON_2 = 2345;
/** Wall-clock epoch the fake monotonic clock is shifted to. */
const EPOCH_NS = 1_790_000_000_000_000_000n;

export interface Scenario {
  pcap: Uint8Array;
  /** Seconds from the first record at which each step ended (for stateAt checks). */
  marks: Record<string, number>;
  seqs: Record<string, number>;
}

export function concatChunks(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * HELLO and MAPINFO from daemon 1, REG_PID, an ADD, a QUERY, a REMOTE_INFO, an ADD refused
 * by HANDLE_ERR, a REMOVE, a stray reply, then daemon 2 starts (HELLO, MAPINFO: the client
 * replays its record), and a last ADD is never answered (11 s pass).
 */
export async function makeScenario(opts: { nanosecond?: boolean } = {}): Promise<Scenario> {
  const chunks: Uint8Array[] = [];
  const writer = new NetlinkPcapWriter((b) => chunks.push(b), { nanosecond: opts.nanosecond ?? false });
  const socket = new FakeSocket();
  const clock = new FakeClock();
  const tap = new CaptureTap(socket, { record: pcapRecorder(writer), clock: () => EPOCH_NS + clock.ns });
  const shim = createShim({ sockets: new SocketMap([[SOCKET_FD, tap]]), clock, random: (b) => b.fill(0x11), log: () => {} });
  const core = await instantiateCore(coreModule(), shim);
  const x = core.exports;
  x.setSocket(SOCKET_FD);
  x.setPort(CLIENT_PORT);
  x.seedSequence(100);
  // The lost request runs to its timeout with the daemon alive; no liveness probe joins the capture.
  x.setLivenessMs(0);
  x.init(2);

  const marks: Record<string, number> = {};
  const seqs: Record<string, number> = {};
  const t0 = clock.ns + 5_000_000n; // the first datagram arrives 5 ms in
  const mark = (name: string) => {
    marks[name] = Number(clock.ns - t0) / 1e9;
  };
  const deliver = (bytes: Uint8Array, port: number) => {
    clock.advance(5);
    socket.inbox.push({ bytes, port, groups: 0, creds: { pid: port, uid: 0, gid: 0 } });
    x.poll();
    core.drainEvents();
  };
  const step = (ms = 5) => clock.advance(ms);

  const d1 = new FakeDaemon(DAEMON_1);
  deliver(d1.hello(4), DAEMON_1); // the core answers HELLO
  deliver(d1.mapinfoRequest(4), DAEMON_1); // empty table: nothing sent
  mark("hello");

  step();
  core.writeNames("siw0", "lo");
  seqs.reg = x.registerPid(2);
  deliver(d1.regPidReply(seqs.reg, "siw0"), DAEMON_1);
  mark("registered");

  step();
  core.writeAddr(0, v4("127.0.0.1", 5555));
  seqs.add = x.addMapping(2, 0);
  mark("addSent");
  deliver(d1.addReply(seqs.add, v4("127.0.0.1", 5555), v4("127.0.0.1", 40000)), DAEMON_1);
  core.writeAddr(0, v4("127.0.0.1", 5555));
  core.writeAddr(1, v4("127.0.0.1", 40000));
  x.createMapinfo(2, 0);
  mark("added");

  step();
  core.writeAddr(0, v4("10.0.0.1", 6000));
  core.writeAddr(1, v4("10.0.0.2", 7000));
  seqs.query = x.addAndQueryMapping(2, 1);
  deliver(
    d1.queryReply(seqs.query, {
      local: v4("10.0.0.1", 6000),
      remote: v4("10.0.0.2", 7000),
      mappedLocal: v4("10.0.0.1", 6000),
      mappedRemote: v4("10.0.0.2", 47000),
    }),
    DAEMON_1,
  );
  mark("queried");

  deliver(
    d1.remoteInfo({
      local: v4("127.0.0.1", 5555),
      remote: v4("10.0.0.9", 9000),
      mappedLocal: v4("127.0.0.1", 40000),
      mappedRemote: v4("10.0.0.9", 49000),
    }),
    DAEMON_1,
  );
  mark("remoteInfo");

  step();
  core.writeAddr(0, v4("127.0.0.1", 5555));
  seqs.dup = x.addMapping(2, 0);
  deliver(d1.handleErr(seqs.dup, 12), DAEMON_1);
  mark("handleErr");

  step();
  core.writeAddr(0, v4("10.0.0.1", 6000));
  x.removeMapping(2);
  mark("removed");

  deliver(d1.addReply(999, v4("127.0.0.1", 1), v4("127.0.0.1", 2)), DAEMON_1);
  mark("stray");

  step(1000);
  socket.gone.add(DAEMON_1); // daemon 1 exited: its port is free
  const d2 = new FakeDaemon(DAEMON_2);
  deliver(d2.hello(4), DAEMON_2);
  deliver(d2.mapinfoRequest(4), DAEMON_2); // the core replays its record + DONE + MAPINFO_NUM
  mark("restarted");
  const num = socket.sent.at(-1);
  // the MAPINFO_NUM's header seq, to acknowledge it
  const numSeq = num ? new DataView(num.bytes.buffer, num.bytes.byteOffset).getUint32(8, true) : 0;
  seqs.mapinfoNum = numSeq;
  deliver(d2.mapinfoAck(numSeq, 1, 1), DAEMON_2);
  mark("acked");

  step();
  core.writeNames("siw0", "lo");
  seqs.reg2 = x.registerPid(2);
  deliver(d2.regPidReply(seqs.reg2, "siw0"), DAEMON_2);
  core.writeAddr(0, v4("127.0.0.1", 6666));
  seqs.lost = x.addMapping(2, 0);
  mark("lostSent");
  step(11_000);
  x.tick();
  // one more datagram so the capture runs past the timeout
  deliver(
    d2.remoteInfo({
      local: v4("127.0.0.1", 6666),
      remote: v4("10.0.0.3", 1),
      mappedLocal: v4("127.0.0.1", 6666),
      mappedRemote: v4("10.0.0.3", 1),
    }),
    DAEMON_2,
  );
  mark("end");
  return { pcap: concatChunks(chunks), marks, seqs };
}
