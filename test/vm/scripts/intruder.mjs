// An unprivileged local process that tries to use the port mapper on NETLINK_RDMA: it registers
// and asks for a mapping as iw_cm would, by unicast to the service's port and by multicast to the
// port mappers' group. Run as nobody inside the VM (scripts/serve.sh); one JSON line per attempt
// on stdout, then any datagram that came back within a second.
//
//   node intruder.mjs SERVICE_PORT ADDRESS PORT

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { RawNetlinkSocket } = require("netlink");

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

const socket = new RawNetlinkSocket(NETLINK_RDMA, {
  messagePeeking: false,
  msgBufferSize: 65536,
  recvBufferSize: 1 << 16,
  sendBufferSize: 1 << 16,
});
socket.on("message", (msg, rinfo) => out({ received: Buffer.from(msg).toString("hex"), port: rinfo.port, groups: rinfo.groups }));
socket.on("error", (err) => out({ error: `${err.code ?? ""} ${err.message}` }));
const me = socket.address().port;
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
  await new Promise((resolve) =>
    socket.send(a.bytes, a.to, (err) => {
      out(err ? { what: a.what, sent: false, code: err.code } : { what: a.what, sent: true });
      resolve();
    }),
  );
}
setTimeout(() => {
  socket.close();
  out({ done: true });
}, 1000);
