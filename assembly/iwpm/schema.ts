import { IWPM_UABI_VERSION_MIN } from "./constants";
import { ATTR_VALUES, attrPtr, kindRule, WALK_STRICT, walkAttrs, walkNothing } from "../netlink/attr";
import { DIR_TO_CLIENT, NUM_OPS, POLICY_KIND, POLICY_MAX_V3, POLICY_MAX_V4, POLICY_ROW } from "../gen/protocol";
import { E_UNKNOWN_OP } from "../status";

// Attribute layouts of every iwpm message in both directions and the size rules each receiver
// applies to them come from the protocol description (build/protocol.mjs, reference §2.2, §2.3).
// Request and reply enums differ (ADD's attr 3 is FLAGS one way and the mapped address the other),
// so a message is only meaningful with its direction.

export {
  DIR_TO_CLIENT,
  DIR_TO_DAEMON,
  KIND_ADDR,
  KIND_FSTR16,
  KIND_FSTR32,
  KIND_NONE,
  KIND_U16,
  KIND_U32,
} from "../gen/protocol";

/** The highest attribute id of (dir, op) in this ABI version; 0 when the op has no such message. */
export function schemaMaxId(dir: u32, op: u32, version: u32): u32 {
  if (op >= NUM_OPS) return 0;
  const table = version <= IWPM_UABI_VERSION_MIN ? POLICY_MAX_V3 : POLICY_MAX_V4;
  return <u32>load<u8>(table + dir * NUM_OPS + op);
}

// @ts-ignore: decorator
@inline
function policyRow(dir: u32, op: u32): usize {
  return POLICY_KIND + <usize>((dir * NUM_OPS + op) * POLICY_ROW);
}

/** Policy rows: every op in each direction. */
const POLICY_ROWS: u32 = (DIR_TO_CLIENT + 1) * NUM_OPS;

/** POLICY_KIND as the walk's rule words (kindRule), filled once when the core starts: one load per attribute. */
const POLICY_RULES: usize = memory.data(<i32>(POLICY_ROWS * POLICY_ROW * sizeof<u32>()), sizeof<u32>());
for (let i: u32 = 0; i < POLICY_ROWS * POLICY_ROW; i++) {
  store<u32>(POLICY_RULES + <usize>i * sizeof<u32>(), kindRule(load<u8>(POLICY_KIND + i)));
}

// @ts-ignore: decorator
@inline
function rulesRow(dir: u32, op: u32): usize {
  return POLICY_RULES + <usize>((dir * NUM_OPS + op) * POLICY_ROW) * sizeof<u32>();
}

export function schemaKind(dir: u32, op: u32, id: u32): u8 {
  return load<u8>(policyRow(dir, op) + id);
}

/**
 * Validates and records the attributes of one iwpm message in one walk (netlink/attr.ts):
 * every id up to the version's maximum must be present, sizes follow the receiver's policy,
 * strings end in NUL. `mode` is WALK_STRICT (the kernel's side and the codec) or WALK_LIBNL
 * (iwpmd's: a malformed trailing attribute ends the walk); a `list` with room for `listCap`
 * entries receives every attribute in arrival order, and `values` names the value table to fill
 * (walkAttrs). Inlined, as walkAttrs is, so the codec's call folds its constants into the walk.
 */
// @ts-ignore: decorator
@inline
export function walkMessage(
  msg: usize,
  len: u32,
  dir: u32,
  op: u32,
  version: u32,
  mode: u32,
  list: usize = 0,
  listCap: u32 = 0,
  values: usize = ATTR_VALUES,
): i32 {
  const maxId = schemaMaxId(dir, op, version);
  if (maxId == 0) {
    // A caller reads the walk's results after a failure too: none may be left from the walk before
    // (a walk that only validates publishes nothing, as walkAttrs).
    if (values != 0) walkNothing();
    return E_UNKNOWN_OP;
  }
  return walkAttrs(msg, len, rulesRow(dir, op), maxId, mode, list, listCap, values);
}

/** walkMessage with the client's (kernel) rules. */
export function parseMessage(msg: usize, len: u32, dir: u32, op: u32, version: u32): i32 {
  return walkMessage(msg, len, dir, op, version, WALK_STRICT);
}

// @ts-ignore: decorator
@inline
export function attrU32(id: u32): u32 {
  return load<u32>(attrPtr(id));
}
// @ts-ignore: decorator
@inline
export function attrU16(id: u32): u16 {
  return load<u16>(attrPtr(id));
}
