// A large synthetic client-side capture, fast to make: `n` messages in ADD request / ADD reply /
// REMOVE rounds (two of every five mappings are removed again), 1 µs apart, after a HELLO and an
// ADD that is never answered (so the state has a daemon and an anomaly). Messages are stamped
// from templates built once with the test netlink builder.

import { NETLINK_HEADER_SIZE, netlinkPseudoHeader, pcapFileHeader } from "../../src/capture/pcap.js";
import { FakeDaemon, v4 } from "../support/fake-daemon.js";
import { attrAddr, attrU32, nlmsg, rdma } from "../support/nl.js";

const CLIENT = 4321;
const DAEMON = 1234;

export function bigCapture(n: number): Uint8Array {
  const d = new FakeDaemon(DAEMON);
  const local = v4("10.0.0.0", 5000);
  const add = nlmsg({ type: rdma(2, 1), seq: 0, pid: CLIENT }, [attrU32(1, 0), attrAddr(2, local), attrU32(3, 0)]);
  const reply = d.addReply(0, local, { ...local, port: 30000 }, 0);
  const remove = nlmsg({ type: rdma(2, 3), seq: 0, pid: CLIENT }, [attrU32(1, 0), attrAddr(2, local)]);
  const hello = d.hello(4, 0);
  const hdrIn = netlinkPseudoHeader({ direction: "in", port: DAEMON, groups: 0 });
  const hdrOut = netlinkPseudoHeader({ direction: "out", port: DAEMON, groups: 0 });

  const out = new Uint8Array(24 + n * (16 + NETLINK_HEADER_SIZE + reply.length));
  out.set(pcapFileHeader(), 0);
  const v = new DataView(out.buffer);
  let at = 24;
  let t = 0;
  let written = 0;
  // Writes one record from a template; returns the message's offset for patching.
  const put = (dirIn: boolean, msg: Uint8Array): number => {
    t++;
    v.setUint32(at, 1_800_000_000 + Math.floor(t / 1_000_000), true);
    v.setUint32(at + 4, t % 1_000_000, true);
    v.setUint32(at + 8, NETLINK_HEADER_SIZE + msg.length, true);
    v.setUint32(at + 12, NETLINK_HEADER_SIZE + msg.length, true);
    out.set(dirIn ? hdrIn : hdrOut, at + 16);
    const m = at + 32;
    out.set(msg, m);
    at = m + msg.length;
    written++;
    return m;
  };
  // an address of the local attribute (at +20 within ADD/REMOVE/reply: attr 2 payload, 4 bytes in)
  const setAddr = (m: number, off: number, i: number, port?: number) => {
    v.setUint32(m + off + 4, 0x0a000000 + i, false);
    if (port !== undefined) v.setUint16(m + off + 2, port, false);
  };
  put(true, hello);
  v.setUint32(put(false, add) + 8, 1, true); // seq 1, never answered
  let seq = 2;
  for (let i = 1; written < n; i++) {
    const a = put(false, add);
    v.setUint32(a + 8, seq, true);
    setAddr(a, 28, i);
    if (written >= n) break;
    const r = put(true, reply);
    v.setUint32(r + 8, seq, true); // header seq
    v.setUint32(r + 20, seq, true); // attr 1: the request's seq
    setAddr(r, 28, i); // local (attr 2 at 24, payload at 28)
    setAddr(r, 28 + 132, i, 30000 + (i % 30000)); // mapped local (attr 3)
    seq++;
    if (i % 5 < 2 && written < n) {
      const rm = put(false, remove);
      v.setUint32(rm + 8, seq++, true);
      setAddr(rm, 28, i);
    }
  }
  return out.subarray(0, at);
}
