// Netlink/iwpm messages the benchmarks feed to the implementations (reference §1, §2.2), built
// once outside the timed loops.

export const NLM_F_REQUEST = 1;
export const IWCM = 2;
export const DAEMON_PORT = 1234;
export const ULIB_NAME = "iWarpPortMapperUser";
export const AF_INET = 2;

export const rdmaType = (op: number, client = IWCM): number => (client << 10) | op;
export const OP = { REG_PID: 0, ADD_MAPPING: 1, REMOVE_MAPPING: 3, REMOTE_INFO: 4, HANDLE_ERR: 5, MAPINFO: 6, HELLO: 8 } as const;

const align4 = (n: number): number => (n + 3) & ~3;

/** struct sockaddr_in inside a zeroed sockaddr_storage (128 bytes): family LE, port and address BE. */
export function sockaddrIn(ip: number, port: number): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  v.setUint16(0, AF_INET, true);
  v.setUint16(2, port, false);
  v.setUint32(4, ip, false);
  return b;
}

export function u32(value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value, true);
  return b;
}
export function u16(value: number): Uint8Array {
  const b = new Uint8Array(2);
  new DataView(b.buffer).setUint16(0, value, true);
  return b;
}
/** NUL-terminated string (strlen + 1 bytes), as iwpmd sends names. */
export function cstr(s: string): Uint8Array {
  const b = new Uint8Array(s.length + 1);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** One netlink message: header + attributes (id, payload), each padded to 4 bytes. */
export function nlmsg(type: number, flags: number, seq: number, pid: number, attrs: Array<[number, Uint8Array]>): Uint8Array {
  const len = 16 + attrs.reduce((n, [, p]) => n + 4 + align4(p.length), 0);
  const out = new Uint8Array(len);
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, pid, true);
  let at = 16;
  for (const [id, payload] of attrs) {
    v.setUint16(at, 4 + payload.length, true);
    v.setUint16(at + 2, id, true);
    out.set(payload, at + 4);
    at += 4 + align4(payload.length);
  }
  return out;
}

export const REMOTE_INFO_LEN = 560;

/** REMOTE_INFO (daemon → client, 560 bytes) written at `at` of `out`, as the C baseline builds it. */
export function writeRemoteInfo(
  out: Uint8Array,
  at: number,
  seq: number,
  local: [number, number],
  remote: [number, number],
  mappedLocal: [number, number],
  mappedRemote: [number, number],
): void {
  const v = new DataView(out.buffer, out.byteOffset + at, REMOTE_INFO_LEN);
  out.fill(0, at, at + REMOTE_INFO_LEN);
  v.setUint32(0, REMOTE_INFO_LEN, true);
  v.setUint16(4, rdmaType(OP.REMOTE_INFO), true);
  v.setUint16(6, NLM_F_REQUEST, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, DAEMON_PORT, true);
  let p = 16;
  v.setUint16(p, 8, true);
  v.setUint16(p + 2, 1, true);
  p += 8;
  for (const [id, [ip, port]] of [
    [2, local],
    [3, remote],
    [4, mappedLocal],
    [5, mappedRemote],
  ] as Array<[number, [number, number]]>) {
    v.setUint16(p, 132, true);
    v.setUint16(p + 2, id, true);
    v.setUint16(p + 4, AF_INET, true);
    v.setUint16(p + 6, port, false);
    v.setUint32(p + 8, ip, false);
    p += 132;
  }
  v.setUint16(p, 6, true);
  v.setUint16(p + 2, 6, true);
}

/** ADD_MAPPING request (client → daemon, v4: 164 bytes). */
export const addMappingRequest = (seq: number, pid: number, echo: number, ip: number, port: number, flags = 0): Uint8Array =>
  nlmsg(rdmaType(OP.ADD_MAPPING), NLM_F_REQUEST, seq, pid, [
    [1, u32(echo)],
    [2, sockaddrIn(ip, port)],
    [3, u32(flags)],
  ]);

/** ADD_MAPPING reply (daemon → client, 296 bytes). */
export const addMappingReply = (seq: number, reqSeq: number, ip: number, port: number, mappedPort: number): Uint8Array =>
  nlmsg(rdmaType(OP.ADD_MAPPING), NLM_F_REQUEST, seq, DAEMON_PORT, [
    [1, u32(reqSeq)],
    [2, sockaddrIn(ip, port)],
    [3, sockaddrIn(ip, mappedPort)],
    [4, u16(0)],
  ]);

/** REG_PID reply (daemon → client) for the request with header seq `reqSeq`. */
export const regPidReply = (seq: number, reqSeq: number, devName: string, version = 4): Uint8Array =>
  nlmsg(rdmaType(OP.REG_PID), NLM_F_REQUEST, seq, DAEMON_PORT, [
    [1, u32(reqSeq)],
    [2, cstr(devName)],
    [3, cstr(ULIB_NAME)],
    [4, u16(version)],
    [5, u16(0)],
  ]);
