// An unprivileged local process that tries to use the port mapper on NETLINK_RDMA: it registers
// and asks for a mapping as iw_cm would, by unicast to the service's port and by multicast to the
// port mappers' group. Run as nobody inside the VM (scripts/serve.sh); one JSON line per attempt
// on stdout, then any datagram that came back within a second.
//
//   node intruder.mjs SERVICE_PORT ADDRESS PORT

import { createRequire } from "node:module";
import { arch, platform } from "node:process";
import { fileURLToPath } from "node:url";

// The project's socket addon (build/native/), as the service itself uses it.
const native = createRequire(import.meta.url)(
  fileURLToPath(new URL(`../../../build/native/${platform}-${arch}/iwpm_native.node`, import.meta.url)),
);
const ERRNO_NAMES = { 1: "EPERM", 13: "EACCES", 111: "ECONNREFUSED" };
// Descriptor layouts: src/native/layout.h.
const RX_DESC_SIZE = 32;
const TX_DESC_SIZE = 24;
const TX_ERRNO = 16;
const SLOT = 65536;
const BATCH = 8;

const NETLINK_RDMA = 20;
const RDMA_NL_IWCM = 2;
const OP_REG_PID = 0;
const OP_ADD_MAPPING = 1;
const NLM_F_REQUEST = 1;
const NLMSG_HDRLEN = 16;
const NLA_HDRLEN = 4;
/** The port mappers' multicast group (RDMA_NL_GROUP_IWPM), as a bitmask. */
const GROUP_IWPM = 1 << 1;
const AF_INET = 2;
const SOCKADDR_STORAGE = 128;
// Attribute ids of the REG_PID and ADD_MAPPING requests (ABI v4).
const REG_PID = { seq: 1, ifName: 2, devName: 3, ulibName: 4 };
const ADD = { seq: 1, local: 2, flags: 3 };

const [servicePort, address, port] = [Number(process.argv[2]), process.argv[3] ?? "", Number(process.argv[4])];
const out = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);

/** NLA_ALIGN: attributes are padded to 4 bytes. */
const nlaAlign = (n) => (n + 3) & ~3;
const attr = (id, payload) => {
  const len = NLA_HDRLEN + payload.length;
  const a = Buffer.alloc(nlaAlign(len));
  a.writeUInt16LE(len, 0);
  a.writeUInt16LE(id, 2);
  payload.copy(a, NLA_HDRLEN);
  return a;
};
const u32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const text = (s, size) => {
  const b = Buffer.alloc(size);
  b.write(s);
  return b;
};
const sockaddr = (ip, p) => {
  const b = Buffer.alloc(SOCKADDR_STORAGE);
  b.writeUInt16LE(AF_INET, 0);
  b.writeUInt16BE(p, 2);
  Buffer.from(ip.split(".").map(Number)).copy(b, 4);
  return b;
};
const message = (op, seq, pid, attrs) => {
  const body = Buffer.concat(attrs);
  const h = Buffer.alloc(NLMSG_HDRLEN);
  h.writeUInt32LE(NLMSG_HDRLEN + body.length, 0);
  h.writeUInt16LE((RDMA_NL_IWCM << 10) + op, 4);
  h.writeUInt16LE(NLM_F_REQUEST, 6);
  h.writeUInt32LE(seq, 8);
  h.writeUInt32LE(pid, 12);
  return Buffer.concat([h, body]);
};

const opened = native.netlinkOpen(NETLINK_RDMA, 0, 0, 1 << 16, false);
if ("errno" in opened) {
  out({ error: `${opened.syscall}: errno ${opened.errno}` });
  process.exit(1);
}
const { handle } = opened;
const rx = new ArrayBuffer(BATCH * (RX_DESC_SIZE + SLOT));
native.netlinkStart(handle, (kind, value) => {
  if (kind !== 1) {
    out({ error: `socket event ${kind} (${value})` });
    return;
  }
  for (
    let n = native.netlinkRecv(handle, rx, 0, BATCH * RX_DESC_SIZE, SLOT, BATCH);
    n > 0;
    n = native.netlinkRecv(handle, rx, 0, BATCH * RX_DESC_SIZE, SLOT, BATCH)
  ) {
    const view = new DataView(rx);
    for (let i = 0; i < n; i++) {
      const d = i * RX_DESC_SIZE;
      const len = Math.min(view.getUint32(d, true), SLOT);
      const at = BATCH * RX_DESC_SIZE + i * SLOT;
      out({ received: Buffer.from(rx, at, len).toString("hex"), port: view.getUint32(d + 4, true), groups: view.getUint32(d + 8, true) });
    }
  }
});
/** Sends one datagram from a buffer laid out as the core's transmit area; its errno, 0 when sent. */
function send(bytes, to) {
  const tx = new ArrayBuffer(TX_DESC_SIZE + bytes.length);
  new Uint8Array(tx, TX_DESC_SIZE).set(bytes);
  const view = new DataView(tx);
  view.setUint32(0, TX_DESC_SIZE, true);
  view.setUint32(4, bytes.length, true);
  view.setUint32(8, to.port, true);
  view.setUint32(12, to.groups, true);
  native.netlinkSend(handle, tx, 0, 1);
  return view.getInt32(TX_ERRNO, true);
}
const me = opened.port;
out({ uid: process.getuid(), port: me });

const regPid = (seq) =>
  message(OP_REG_PID, seq, me, [
    attr(REG_PID.seq, u32(seq)),
    attr(REG_PID.ifName, text("dummy0", 16)),
    attr(REG_PID.devName, text("siw0", 32)),
    attr(REG_PID.ulibName, text("iWarpPortMapperUser", 32)),
  ]);
const add = (seq) =>
  message(OP_ADD_MAPPING, seq, me, [attr(ADD.seq, u32(seq)), attr(ADD.local, sockaddr(address, port)), attr(ADD.flags, u32(0))]);
const attempts = [
  { what: "REG_PID to the service", bytes: regPid(1), to: { port: servicePort, groups: 0 } },
  { what: "ADD_MAPPING to the service", bytes: add(2), to: { port: servicePort, groups: 0 } },
  { what: "REG_PID to the port mappers' group", bytes: regPid(3), to: { port: 0, groups: GROUP_IWPM } },
];
for (const a of attempts) {
  const errno = send(a.bytes, a.to);
  out(errno === 0 ? { what: a.what, sent: true } : { what: a.what, sent: false, code: ERRNO_NAMES[errno] ?? `E${errno}` });
}
setTimeout(() => {
  native.netlinkClose(handle);
  out({ done: true });
}, 1000);
