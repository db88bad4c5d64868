// Names of iwpm messages for display. Every fact comes from the protocol description
// (build/protocol.mjs, generated into src/gen/protocol.ts); this module only puts them into words.

import { ATTRS, type AttrSpec, type Dir, NLM_FLAGS, OP_NAMES, PEER, ROLES, STATUS, Status } from "../gen/protocol.js";

export {
  type AttrKind,
  type AttrSpec,
  DIR_TO_CLIENT,
  DIR_TO_DAEMON,
  type Dir,
  OP_ADD_MAPPING,
  OP_HANDLE_ERR,
  OP_HELLO,
  OP_KERNEL_NAMES,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_NAMES,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOTE_INFO,
  OP_REMOVE_MAPPING,
} from "../gen/protocol.js";

/** The attributes of (dir, op), by id - 1; empty for a combination that does not exist. */
export function attrSpecs(dir: Dir, op: number): readonly AttrSpec[] {
  return ATTRS[dir]?.[op] ?? [];
}

/** Whether (dir, op) names a message of the protocol. */
export function opExists(dir: Dir, op: number): boolean {
  return (ATTRS[dir]?.[op] ?? null) !== null;
}

/** "ADD_MAPPING request", "MAPINFO record", "HELLO", …: the op with its role in that direction. */
export function messageLabel(dir: Dir, op: number): string {
  const name = OP_NAMES[op] ?? `OP_${op}`;
  const role = ROLES[dir]?.[op] ?? "";
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
  if (code >= CODE_PEER && code < CODE_PEER + PEER_TYPES.length) return `peer ${PEER_TYPES[code - CODE_PEER]}`;
  return `code ${code}`;
}

export const PEER_TYPES = PEER.types;

/** IWPM_* error codes (reference §4.5): the protocol's own part of the status table. */
export const IWPM_ERRORS: Record<number, string> = Object.fromEntries(
  Object.entries(STATUS)
    .filter(([code]) => +code >= Status.IWPM_INVALID_NLMSG_ERR && +code <= Status.IWPM_VERSION_MISMATCH_ERR)
    .map(([code, s]) => [code, s.name]),
);

export function iwpmErrorName(code: number): string {
  return IWPM_ERRORS[code] ?? `error ${code}`;
}

function bitsText(bits: readonly [number, string][], flags: number): string {
  const out: string[] = [];
  let rest = flags;
  for (const [bit, name] of bits) {
    if (flags & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest !== 0) out.push(`0x${rest.toString(16)}`);
  return out.length === 0 ? "0" : out.join("|");
}

/** Names of the flags of a netlink header (NLM_F_*), as "REQUEST|MULTI". */
export function nlFlagsText(flags: number): string {
  return bitsText(NLM_FLAGS, flags);
}
