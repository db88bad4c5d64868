import { attrRaw, NLMSG_DONE, NLMSG_ERROR, nlmsg, rdma } from "./nl.js";

// Seeded generators of valid iwpm messages for corpus and fuzz tests. The
// attribute layouts are written out here from the protocol reference (§2.2)
// rather than taken from the core, so that a schema mistake in the core shows
// up as a disagreement instead of being copied into the test.

/** mulberry32: small, fast and fully determined by its seed, so a failure replays exactly. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A uniform u32. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** A uniform integer in lo..hi, both included. */
  int(lo: number, hi: number): number {
    return lo + (this.next() % (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
  /** Printable ASCII without NUL, the kind of name a device or library has. */
  printable(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.int(0x21, 0x7e));
    return s;
  }
}

export type Dir = 0 | 1;
export type Version = 3 | 4;
export type AttrKind = "u32" | "u16" | "addr" | "fstr16" | "fstr32" | "cstr";

export const DIR_TO_DAEMON: Dir = 0;
export const DIR_TO_CLIENT: Dir = 1;

/** Attribute kinds by id (index 0 = id 1) for each (direction, op), ABI v4 (reference §2.2). */
export const SCHEMA: Record<Dir, Record<number, readonly AttrKind[]>> = {
  0: {
    0: ["u32", "fstr16", "fstr32", "fstr32"], // REG_PID: echo seq, if name, dev name, ulib name
    1: ["u32", "addr", "u32"], // ADD_MAPPING: echo seq, local, FLAGS
    2: ["u32", "addr", "addr", "u32"], // QUERY_MAPPING: echo seq, local, remote, FLAGS
    3: ["u32", "addr"], // REMOVE_MAPPING
    6: ["addr", "addr", "u32"], // MAPINFO record: local, mapped, FLAGS
    7: ["u32", "u32"], // MAPINFO_NUM: seq, send num
    8: ["u16"], // HELLO reply
  },
  1: {
    0: ["u32", "cstr", "cstr", "u16", "u16"], // REG_PID reply
    1: ["u32", "addr", "addr", "u16"], // ADD reply
    2: ["u32", "addr", "addr", "addr", "addr", "u16"], // QUERY reply
    4: ["u32", "addr", "addr", "addr", "addr", "u16"], // REMOTE_INFO
    5: ["u32", "u16"], // HANDLE_ERR
    6: ["cstr", "u16"], // MAPINFO request
    7: ["u32", "u32", "u32"], // MAPINFO_NUM ack
    8: ["u16"], // HELLO
  },
};

export const OP_NAMES: Record<number, string> = {
  0: "REG_PID",
  1: "ADD_MAPPING",
  2: "QUERY_MAPPING",
  3: "REMOVE_MAPPING",
  4: "REMOTE_INFO",
  5: "HANDLE_ERR",
  6: "MAPINFO",
  7: "MAPINFO_NUM",
  8: "HELLO",
};

/** The kinds of (dir, op) in `version`: v3 has no FLAGS attribute, the last one of ADD, QUERY and MAPINFO records. */
export function kindsOf(dir: Dir, op: number, version: Version): readonly AttrKind[] {
  const kinds = SCHEMA[dir][op];
  if (kinds === undefined) throw new Error(`no message op ${op} in direction ${dir}`);
  const hasFlags = dir === DIR_TO_DAEMON && (op === 1 || op === 2 || op === 6);
  return version === 3 && hasFlags ? kinds.slice(0, -1) : kinds;
}

export interface Shape {
  dir: Dir;
  op: number;
  version: Version;
}

/** Every (direction, op, version) with a message. */
export function allShapes(): Shape[] {
  const out: Shape[] = [];
  for (const dir of [DIR_TO_DAEMON, DIR_TO_CLIENT]) {
    for (const op of Object.keys(SCHEMA[dir]).map(Number)) {
      for (const version of [3, 4] as const) out.push({ dir, op, version });
    }
  }
  return out;
}

export const shapeName = (s: Shape) => `${s.dir === DIR_TO_DAEMON ? "to-daemon" : "to-client"} ${OP_NAMES[s.op]} v${s.version}`;

/**
 * A random sockaddr_storage: IPv4 with a zero tail, or IPv6 with random
 * flowinfo and scope id and a zero tail (reference §3).
 */
export function randomSockaddr(rng: Rng, family: 2 | 10 = rng.chance(0.5) ? 2 : 10): Uint8Array {
  const sa = new Uint8Array(128);
  const v = new DataView(sa.buffer);
  v.setUint16(0, family, true);
  v.setUint16(2, rng.int(0, 0xffff), false);
  if (family === 2) {
    sa.set(rng.bytes(4), 4);
  } else {
    v.setUint32(4, rng.next(), false);
    sa.set(rng.bytes(16), 8);
    v.setUint32(24, rng.next(), true);
  }
  return sa;
}

/** The payload of one attribute of `kind` with a random legal value. */
export function randomPayload(rng: Rng, kind: AttrKind): Uint8Array {
  const enc = new TextEncoder();
  switch (kind) {
    case "u32": {
      const p = new Uint8Array(4);
      new DataView(p.buffer).setUint32(0, rng.next(), true);
      return p;
    }
    case "u16": {
      const p = new Uint8Array(2);
      new DataView(p.buffer).setUint16(0, rng.int(0, 0xffff), true);
      return p;
    }
    case "addr":
      return randomSockaddr(rng);
    case "fstr16":
    case "fstr32": {
      // char[16] / char[32], NUL padded: at most size - 1 characters.
      const size = kind === "fstr16" ? 16 : 32;
      const p = new Uint8Array(size);
      p.set(enc.encode(rng.printable(rng.int(1, size - 1))));
      return p;
    }
    case "cstr":
      // strlen + 1 bytes, at most 31 characters.
      return enc.encode(`${rng.printable(rng.int(1, 31))}\0`);
  }
}

export interface GeneratedAttr {
  id: number;
  kind: AttrKind | "unknown";
  payload: Uint8Array;
}

export interface GeneratedMessage {
  bytes: Uint8Array;
  dir: Dir;
  version: Version;
  kind: "iwpm" | "done" | "error";
  type: number;
  flags: number;
  seq: number;
  pid: number;
  client: number;
  op: number;
  /** Known attributes in id order, then the unknown ones. */
  attrs: GeneratedAttr[];
  unknown: number;
  /** NLMSG_DONE status / NLMSG_ERROR error, when present. */
  value?: number;
  /** NLMSG_ERROR: the echoed header and the payload echoed after it. */
  orig?: Uint8Array;
  echoed?: Uint8Array;
}

export interface MessageOptions {
  client?: number;
  seq?: number;
  pid?: number;
  flags?: number;
  /** Probability of appending 1..3 unknown attributes (ids 8..30, payload 0..40 bytes). */
  unknownChance?: number;
  /** Overrides of attribute payloads by id. */
  values?: Record<number, Uint8Array>;
}

/**
 * A valid iwpm message of `shape`. Client indexes are 1..63: with index 0
 * every op number is below NLMSG_MIN_TYPE (0x10), so the type would read as
 * a netlink control message on both sides.
 */
export function randomMessage(rng: Rng, shape: Shape, o: MessageOptions = {}): GeneratedMessage {
  const client = o.client ?? rng.int(1, 63);
  const type = rdma(client, shape.op);
  const flags = o.flags ?? rng.int(0, 0xffff);
  const seq = o.seq ?? rng.next();
  const pid = o.pid ?? rng.next();
  const attrs: GeneratedAttr[] = kindsOf(shape.dir, shape.op, shape.version).map((kind, i) => ({
    id: i + 1,
    kind,
    payload: o.values?.[i + 1] ?? randomPayload(rng, kind),
  }));
  let unknown = 0;
  if (rng.chance(o.unknownChance ?? 0.3)) {
    unknown = rng.int(1, 3);
    for (let k = 0; k < unknown; k++) attrs.push({ id: rng.int(8, 30), kind: "unknown", payload: rng.bytes(rng.int(0, 40)) });
  }
  const bytes = nlmsg(
    { type, flags, seq, pid },
    attrs.map((a) => attrRaw(a.id, a.payload)),
  );
  return { bytes, dir: shape.dir, version: shape.version, kind: "iwpm", type, flags, seq, pid, client, op: shape.op, attrs, unknown };
}

/** NLMSG_DONE: a bare header, or a header and an int32 status (the kernel's dump terminator). */
export function randomDone(rng: Rng, dir: Dir, withStatus: boolean): GeneratedMessage {
  const seq = rng.next();
  const pid = rng.next();
  const flags = rng.int(0, 0xffff);
  const value = rng.pick([0, -22, -1, rng.next() | 0]);
  const payload = new Uint8Array(withStatus ? 4 : 0);
  if (withStatus) new DataView(payload.buffer).setInt32(0, value, true);
  const bytes = new Uint8Array(16 + payload.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, bytes.length, true);
  v.setUint16(4, NLMSG_DONE, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, pid, true);
  bytes.set(payload, 16);
  const msg: GeneratedMessage = {
    bytes,
    dir,
    version: 4,
    kind: "done",
    type: NLMSG_DONE,
    flags,
    seq,
    pid,
    client: 0,
    op: 0,
    attrs: [],
    unknown: 0,
  };
  if (withStatus) msg.value = value;
  return msg;
}

/**
 * NLMSG_ERROR as the kernel sends it: a negative errno, the offending
 * message's header and, unless capped, the offending payload (here a valid
 * client → daemon message, so the echo is what a real one would carry).
 */
export function randomError(rng: Rng, dir: Dir, withPayload: boolean): GeneratedMessage {
  const offender = randomMessage(rng, rng.pick(allShapes().filter((s) => s.dir === DIR_TO_DAEMON)), { unknownChance: 0 });
  const orig = offender.bytes.slice(0, 16);
  const echoed = withPayload ? offender.bytes.slice(16) : new Uint8Array(0);
  const value = -rng.int(1, 133);
  const seq = offender.seq;
  const pid = rng.next();
  // NLM_F_CAPPED (0x100) marks an error that leaves the payload out.
  const flags = withPayload ? 0 : 0x100;
  const bytes = new Uint8Array(16 + 4 + 16 + echoed.length);
  const v = new DataView(bytes.buffer);
  v.setUint32(0, bytes.length, true);
  v.setUint16(4, NLMSG_ERROR, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, pid, true);
  v.setInt32(16, value, true);
  bytes.set(orig, 20);
  bytes.set(echoed, 36);
  return {
    bytes,
    dir,
    version: 4,
    kind: "error",
    type: NLMSG_ERROR,
    flags,
    seq,
    pid,
    client: 0,
    op: 0,
    attrs: [],
    unknown: 0,
    value,
    orig,
    echoed,
  };
}

/** Offsets of the attributes of a well-formed iwpm message, in wire order. */
export function attrOffsets(msg: Uint8Array): number[] {
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  const end = Math.min(v.getUint32(0, true), msg.length);
  const out: number[] = [];
  for (let at = 16; at + 4 <= end; ) {
    const len = v.getUint16(at, true);
    if (len < 4) break;
    out.push(at);
    at += (len + 3) & ~3;
  }
  return out;
}

/** One attribute of a non-canonical message, in arrival order. */
export interface PlacedAttr {
  /** nla_type as sent: the id, with NLA_F_NESTED / NLA_F_NET_BYTEORDER bits on some unknown ones. */
  type: number;
  id: number;
  /** "shadowed": an earlier copy of a known id, which nla_parse replaces with the last one. */
  role: "known" | "shadowed" | "unknown";
  kind: AttrKind | "unknown";
  payload: Uint8Array;
  /** Offset from the message start, and nla_len. */
  offset: number;
  length: number;
}

export interface NonCanonicalMessage {
  bytes: Uint8Array;
  shape: Shape;
  client: number;
  /** Every attribute in arrival order. */
  placed: PlacedAttr[];
  /** The value each known id ends up with (its last occurrence), by id. */
  values: Map<number, { kind: AttrKind; payload: Uint8Array }>;
}

const NLA_F_NESTED = 0x8000;
const NLA_F_NET_BYTEORDER = 0x4000;

/**
 * A valid message of `shape` in an order no sender uses: known attributes shuffled, earlier
 * copies of some of them (each valid on its own: both receivers check every occurrence), unknown
 * ids anywhere (including v4's FLAGS in a v3 message, and ids with the nla_type flag bits),
 * numbers and addresses longer than their minimum, bytes after the NUL of fixed-size names,
 * non-zero padding, and sometimes a last attribute whose padding the message leaves off.
 */
export function nonCanonicalMessage(rng: Rng, shape: Shape): NonCanonicalMessage {
  const client = rng.int(1, 63);
  const kinds = kindsOf(shape.dir, shape.op, shape.version);
  const knownPayload = (kind: AttrKind): Uint8Array => {
    const p = randomPayload(rng, kind);
    if ((kind === "u32" || kind === "u16" || kind === "addr") && rng.chance(0.3)) return concatBytes(p, rng.bytes(rng.int(1, 9)));
    if (kind === "fstr16" || kind === "fstr32") {
      const nul = p.indexOf(0);
      // Anything may follow the first NUL as long as the last byte is NUL.
      for (let i = nul + 1; i < p.length - 1; i++) if (rng.chance(0.5)) p[i] = rng.int(1, 0xff);
    }
    return p;
  };
  const entries: Omit<PlacedAttr, "offset" | "length">[] = [];
  kinds.forEach((kind, i) => {
    const copies = rng.chance(0.4) ? rng.int(2, 3) : 1;
    for (let c = 0; c < copies; c++) entries.push({ type: i + 1, id: i + 1, role: "known", kind, payload: knownPayload(kind) });
  });
  const unknownIds = [0, 8, 9, 15, 30, 0x3fff];
  if (shape.version === 3 && kinds.length < (SCHEMA[shape.dir][shape.op]?.length ?? 0)) unknownIds.push(kinds.length + 1);
  const unknown = rng.int(1, 4);
  for (let k = 0; k < unknown; k++) {
    const id = rng.pick(unknownIds);
    const flags = rng.pick([0, 0, NLA_F_NESTED, NLA_F_NET_BYTEORDER]);
    entries.push({ type: id | flags, id, role: "unknown", kind: "unknown", payload: rng.bytes(rng.int(0, 40)) });
  }
  for (let i = entries.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [entries[i], entries[j]] = [entries[j] as (typeof entries)[number], entries[i] as (typeof entries)[number]];
  }
  const values = new Map<number, { kind: AttrKind; payload: Uint8Array }>();
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i] as (typeof entries)[number];
    if (e.role !== "known") continue;
    if (values.has(e.id)) e.role = "shadowed";
    else values.set(e.id, { kind: e.kind as AttrKind, payload: e.payload });
  }

  const placed: PlacedAttr[] = [];
  const parts: Uint8Array[] = [];
  let at = 16;
  entries.forEach((e, i) => {
    const length = 4 + e.payload.length;
    const padded = (length + 3) & ~3;
    const last = i === entries.length - 1;
    const size = last && rng.chance(0.3) ? length : padded;
    const raw = new Uint8Array(size);
    const v = new DataView(raw.buffer);
    v.setUint16(0, length, true);
    v.setUint16(2, e.type, true);
    raw.set(e.payload, 4);
    for (let p = length; p < size; p++) raw[p] = rng.int(0, 0xff);
    parts.push(raw);
    placed.push({ ...e, offset: at, length });
    at += size;
  });
  const bytes = nlmsg({ type: rdma(client, shape.op), flags: rng.int(0, 0xffff), seq: rng.next(), pid: rng.next() }, parts);
  return { bytes, shape, client, placed, values };
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
