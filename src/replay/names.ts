// Names and attribute layouts of iwpm messages for display (protocol reference §1.4, §2.2). The
// core validates and decodes; this table only says what to call each attribute and how to print
// its value.

export const DIR_TO_DAEMON = 0;
export const DIR_TO_CLIENT = 1;
export type Dir = 0 | 1;

export const OP_REG_PID = 0;
export const OP_ADD_MAPPING = 1;
export const OP_QUERY_MAPPING = 2;
export const OP_REMOVE_MAPPING = 3;
export const OP_REMOTE_INFO = 4;
export const OP_HANDLE_ERR = 5;
export const OP_MAPINFO = 6;
export const OP_MAPINFO_NUM = 7;
export const OP_HELLO = 8;

export const OP_NAMES = [
  "REG_PID",
  "ADD_MAPPING",
  "QUERY_MAPPING",
  "REMOVE_MAPPING",
  "REMOTE_INFO",
  "HANDLE_ERR",
  "MAPINFO",
  "MAPINFO_NUM",
  "HELLO",
] as const;

export type AttrKind = "u32" | "u16" | "addr" | "str";

export interface AttrSpec {
  name: string;
  kind: AttrKind;
}

const a = (name: string, kind: AttrKind): AttrSpec => ({ name, kind });

/** ATTRS[dir][op] = attributes by id - 1; null where the direction has no such message. */
const ATTRS: (AttrSpec[] | null)[][] = [
  [
    [a("echoSeq", "u32"), a("ifName", "str"), a("devName", "str"), a("ulibName", "str")],
    [a("echoSeq", "u32"), a("local", "addr"), a("flags", "u32")],
    [a("echoSeq", "u32"), a("local", "addr"), a("remote", "addr"), a("flags", "u32")],
    [a("echoSeq", "u32"), a("local", "addr")],
    null,
    null,
    [a("local", "addr"), a("mapped", "addr"), a("flags", "u32")],
    [a("mapinfoSeq", "u32"), a("sendNum", "u32")],
    [a("abiVersion", "u16")],
  ],
  [
    [a("requestSeq", "u32"), a("devName", "str"), a("ulibName", "str"), a("ulibVersion", "u16"), a("pidErr", "u16")],
    [a("requestSeq", "u32"), a("local", "addr"), a("mappedLocal", "addr"), a("err", "u16")],
    [a("requestSeq", "u32"), a("local", "addr"), a("remote", "addr"), a("mappedLocal", "addr"), a("mappedRemote", "addr"), a("err", "u16")],
    null,
    [a("seq", "u32"), a("local", "addr"), a("remote", "addr"), a("mappedLocal", "addr"), a("mappedRemote", "addr"), a("err", "u16")],
    [a("errSeq", "u32"), a("errCode", "u16")],
    [a("ulibName", "str"), a("ulibVersion", "u16")],
    [a("requestSeq", "u32"), a("sendNum", "u32"), a("ackNum", "u32")],
    [a("abiVersion", "u16")],
  ],
];

/** The attributes of (dir, op), by id - 1; empty for a combination that does not exist. */
export function attrSpecs(dir: Dir, op: number): readonly AttrSpec[] {
  return ATTRS[dir]?.[op] ?? [];
}

/** Whether (dir, op) names a message of the protocol. */
export function opExists(dir: Dir, op: number): boolean {
  return (ATTRS[dir]?.[op] ?? null) !== null;
}

const ROLE: string[][] = [
  ["request", "request", "request", "", "", "", "record", "", "reply"],
  ["reply", "reply", "reply", "", "", "", "request", "ack", ""],
];

/** "ADD_MAPPING request", "MAPINFO record", "HELLO", …: the op with its role in that direction. */
export function messageLabel(dir: Dir, op: number): string {
  const name = OP_NAMES[op] ?? `OP_${op}`;
  const role = ROLE[dir]?.[op] ?? "";
  return role === "" ? name : `${name} ${role}`;
}

// Compact message codes for columnar storage (the browser's message list).
export const CODE_DONE = 40;
export const CODE_ERROR = 41;
export const CODE_CONTROL = 42;
export const CODE_INVALID = 43;
export const CODE_PEER = 48; // + peer message type 0..3

export function iwpmCode(dir: Dir, op: number): number {
  return dir * 16 + (op & 15);
}

/** Text for a compact code. */
export function codeLabel(code: number): string {
  if (code < 32) return messageLabel((code >> 4) as Dir, code & 15);
  if (code === CODE_DONE) return "NLMSG_DONE";
  if (code === CODE_ERROR) return "NLMSG_ERROR";
  if (code === CODE_CONTROL) return "control";
  if (code === CODE_INVALID) return "invalid";
  if (code >= CODE_PEER && code < CODE_PEER + 4) return `peer ${PEER_TYPES[code - CODE_PEER]}`;
  return `code ${code}`;
}

export const PEER_TYPES = ["REQUEST", "ACCEPT", "ACK", "REJECT"] as const;

/** IWPM_* error codes (reference §4.5). */
export const IWPM_ERRORS: Record<number, string> = {
  10: "IWPM_INVALID_NLMSG_ERR",
  11: "IWPM_CREATE_MAPPING_ERR",
  12: "IWPM_DUPLICATE_MAPPING_ERR",
  13: "IWPM_UNKNOWN_MAPPING_ERR",
  14: "IWPM_CLIENT_DEV_INFO_ERR",
  15: "IWPM_USER_LIB_INFO_ERR",
  16: "IWPM_REMOTE_QUERY_REJECT",
  17: "IWPM_VERSION_MISMATCH_ERR",
};

export function iwpmErrorName(code: number): string {
  return IWPM_ERRORS[code] ?? `error ${code}`;
}

/** Names of the flags of a netlink header (NLM_F_*), as "REQUEST|MULTI". */
export function nlFlagsText(flags: number): string {
  const names: [number, string][] = [
    [1, "REQUEST"],
    [2, "MULTI"],
    [4, "ACK"],
    [8, "ECHO"],
    [16, "DUMP_INTR"],
    [32, "DUMP_FILTERED"],
  ];
  const out: string[] = [];
  let rest = flags;
  for (const [bit, name] of names) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out.length === 0 ? "0" : out.join("|");
}
